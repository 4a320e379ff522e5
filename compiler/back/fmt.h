/* fmt — the formatter behind `moksha fmt`: one canonical layout for a
 * .moksha file. It works on the token stream with comments, so it keeps every
 * comment and the author's line breaks, never reorders anything, and is
 * idempotent. The layout rules are note [layout] in fmt.c. A file that does
 * not parse is never reformatted. */
#ifndef MK_FMT_H
#define MK_FMT_H

#include <stdint.h>

#include "compiler/front/ast.h"

struct mk_diag;

/* Format one file's text; text[len] must be a NUL (as in an mk_source).
 * Returns the formatted text, NUL-terminated, which the caller takes and frees
 * with mk_mem_free; or NULL when the text has lexical or syntax errors, which
 * are reported to diag (then the file must be left alone). Borrows ast: the
 * lexer allocates in its arena (the check parse uses a scratch arena of its
 * own, freed before returning). */
char *mk_fmt_source(mk_ast_ctx *ast, struct mk_diag *diag, uint32_t file, const char *text,
                    uint32_t len);

#endif
