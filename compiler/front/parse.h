/* parse — entry to the bison parser (grammar/parser.y). Parses one file into
 * an MK_AST_FILE node allocated in ast's arena; syntax errors go to diag and
 * the tree holds whatever items parsed cleanly. Never returns NULL. */
#ifndef MK_PARSE_H
#define MK_PARSE_H

#include <stdint.h>

#include "compiler/front/ast.h"

struct mk_diag;

mk_ast *mk_parse_file(mk_ast_ctx *ast, struct mk_diag *diag, uint32_t file, const char *text,
                      uint32_t len);

/* Parse text holding one expression (a --var value); NULL after errors. */
mk_ast *mk_parse_expr(mk_ast_ctx *ast, struct mk_diag *diag, uint32_t file, const char *text,
                      uint32_t len);

#endif
