/* eval — the evaluator (eval.c and eval_expr.c, one module): evaluating a
 * loaded program's units, and the context other modules evaluate
 * expressions in (vars.c reads --var values as expressions; the policy
 * walker in middle/policy.c runs policy statements with its inputs).
 *
 * An mk_ev holds one evaluation: its program, the stack of items being
 * evaluated (note [cycles] in eval.c) and interned names; an mk_ectx is a
 * scope within it. What the evaluator computes lives in the program's
 * arena; the caller frees only mk_ev.stack (mk_mem_free). */
#ifndef MK_EVAL_H
#define MK_EVAL_H

#include "compiler/front/program.h"

typedef struct mk_local {
    struct mk_local *up;
    mk_name name;
    mk_value *val;
} mk_local;

struct mk_frame;

typedef struct mk_ev {
    mk_program *p;
    mk_vctx *v;
    mk_diag *diag;
    mk_tcheck tc;
    struct mk_frame *stack; /* eval_int.h */
    uint32_t depth, cap;
    bool in_provider;       /* evaluating the provider blocks */
    struct mk_slotbuf *spare_slots; /* eval.c: released slot arrays (note [slot reuse]) */
    struct {
        mk_name var, stack, count, each, index, key, value, module, resources, changes, plan, providers,
            name, approval, risk, for_each, depends_on, provider, lifecycle, placement, usage,
            ignore_changes, prevent_destroy, create_before_destroy, description, enforcement, outputs, checkov, checkov_differs,
            address;
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

/* Evaluate everything: vars, lets, the stack, providers, resources,
 * modules and outputs. The structure of policy statements is checked by the
 * policy module next (mk_policy_check_structure), and the policy tests' units
 * last (mk_eval_tests): the pipeline calls the three in that order, the
 * order their diagnostics are reported in. */
void mk_eval_program(mk_program *p);
void mk_eval_tests(mk_program *p);

/* Set up an evaluator over an already loaded program (root stays valid as
 * long as e does). */
void mk_eval_begin(mk_ev *e, mk_ectx *root, mk_program *p);

/* The stack block's value (a map), evaluated on first use. */
mk_value *mk_eval_stack(mk_ectx *c);

#endif
