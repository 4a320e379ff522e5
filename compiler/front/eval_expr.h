/* eval_expr — evaluating one expression in a scope of the evaluator
 * (eval.h): operators with units, references, calls. The value lives in the
 * program's arena; an error is reported once and yields poison. */
#ifndef MK_EVAL_EXPR_H
#define MK_EVAL_EXPR_H

#include "compiler/front/eval.h"

mk_value *mk_eval_expr(mk_ectx *c, mk_ast *n);

#endif
