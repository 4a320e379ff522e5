/* eval_int — what eval.c (units, resources, variables, policies) and
 * eval_expr.c (expressions and operators) share. Not for other modules. */
#ifndef MK_EVAL_INT_H
#define MK_EVAL_INT_H

#include "compiler/front/program.h"

typedef struct mk_local {
    struct mk_local *up;
    mk_name name;
    mk_value *val;
} mk_local;

typedef struct mk_frame {
    void *item;
    char kind;          /* v var, l let, r resource, m module: see frame_name */
    mk_span decl;
    mk_span ref;        /* where this item refers to the next frame's item */
} mk_frame;

typedef struct mk_ev {
    mk_program *p;
    mk_vctx *v;
    mk_diag *diag;
    mk_tcheck tc;
    mk_frame *stack;
    uint32_t depth, cap;
    bool in_provider;       /* evaluating the provider blocks */
    struct {
        mk_name var, stack, count, each, index, key, value, module, resources, changes, plan, providers,
            name, approval, risk, for_each, depends_on, provider, lifecycle, placement, usage,
            ignore_changes, prevent_destroy, create_before_destroy, description, enforcement;
    } n;
} mk_ev;

typedef struct mk_ectx {
    mk_ev *e;
    mk_unit *u;             /* lets, vars, resources in scope; NULL in schemas */
    mk_local *locals;
    mk_instance *inst;      /* the instance being evaluated: count/each, edges */
    mk_deps *sink;          /* the memoised value being evaluated: its edges */
    bool symbols;           /* unresolved bare names are symbols (strings) */
    bool policy;            /* resources/changes/plan are in scope */
    bool in_require;        /* approval() allowed */
    bool redact;            /* a message: secrets interpolate as (sensitive) */
    struct mk_polin *pol;   /* policy evaluation: the real inputs (policy.c) */
} mk_ectx;

/* Inputs of policy evaluation, set by policy.c. */
typedef struct mk_polin {
    mk_value *resources, *changes, *plan;
    mk_value *providers;    /* the stack's provider blocks: [{name, alias, SETTING…, settings}] */
    /* changes and resources are built on first use: most policies never
     * read changes, and most read resources of a few types (policy.c) */
    mk_value *(*build_changes)(struct mk_polin *in);
    mk_value *(*build_resources)(struct mk_polin *in);
    void *ud;
} mk_polin;

enum { MK_VF_SPLAT = 2 };   /* a list produced by [*]: later .attr maps over it */

mk_value *mk_eval_expr(mk_ectx *c, mk_ast *n);
/* Set up an evaluator over an already loaded program (root stays valid as
 * long as e does). */
void mk_eval_begin(mk_ev *e, mk_ectx *root, mk_program *p);

/* Provided by eval.c for names the expression evaluator cannot resolve alone. */
mk_value *mk_eval_var(mk_ectx *c, mk_name name, mk_span at);
mk_value *mk_eval_let(mk_ectx *c, mk_let *l, mk_span at);
mk_value *mk_eval_resource_ref(mk_ectx *c, mk_resource *r, mk_span at);
mk_value *mk_eval_module_ref(mk_ectx *c, mk_name name, mk_span at);
mk_value *mk_eval_instance_attr(mk_ectx *c, mk_instance *inst, mk_name attr, mk_span at);
mk_value *mk_eval_stack(mk_ectx *c);
/* `module.NAME.OUTPUT`: the output's value, with the output's edges. */
mk_value *mk_eval_module_output(mk_ectx *c, mk_name module, mk_name output, mk_span at);
void mk_eval_suggest_resource(mk_ectx *c, mk_name type, mk_name name, mk_span at);

#endif
