/* eval_int — what eval.c (units, resources, variables) and eval_expr.c
 * (expressions and operators) share inside the evaluator. Not for other
 * modules: they use eval.h and eval_expr.h. */
#ifndef MK_EVAL_INT_H
#define MK_EVAL_INT_H

#include "compiler/front/eval.h"
#include "compiler/front/eval_expr.h"

typedef struct mk_frame {
    void *item;
    char kind;          /* v var, l let, r resource, m module: see frame_name */
    mk_span decl;
    mk_span ref;        /* where this item refers to the next frame's item */
} mk_frame;

enum { MK_VF_SPLAT = 2 };   /* a list produced by [*]: later .attr maps over it */

/* Provided by eval.c for names the expression evaluator cannot resolve alone. */
mk_value *mk_eval_var(mk_ectx *c, mk_name name, mk_span at);
mk_value *mk_eval_let(mk_ectx *c, mk_let *l, mk_span at);
mk_value *mk_eval_resource_ref(mk_ectx *c, mk_resource *r, mk_span at);
mk_value *mk_eval_module_ref(mk_ectx *c, mk_name name, mk_span at);
mk_value *mk_eval_instance_attr(mk_ectx *c, mk_instance *inst, mk_name attr, mk_span at);
/* `module.NAME.OUTPUT`: the output's value, with the output's edges. */
mk_value *mk_eval_module_output(mk_ectx *c, mk_name module, mk_name output, mk_span at);
/* `outputs.NAME` (the map of the outputs the block declares) and
 * `outputs.NAME.OUTPUT`: another stack's outputs, checked against their
 * declared types when first read (note [stack reads] in program.c). */
mk_value *mk_eval_stack_read(mk_ectx *c, mk_name name, mk_span at);
mk_value *mk_eval_stack_output(mk_ectx *c, mk_name name, mk_name output, mk_span at);
void mk_eval_suggest_resource(mk_ectx *c, mk_name type, mk_name name, mk_span at);

#endif
