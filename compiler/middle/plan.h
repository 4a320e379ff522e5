/* plan — from desired resources and applied state to a plan: the differ
 * (create, update, replace, delete, no-op, with the attributes that changed
 * and why a change replaces), risk classes and the DAG's edges, as the plan
 * model's records (note [plan model]). It does not write the plan file
 * (back/) nor price or judge the changes (cost, place, policy). */
#ifndef MK_PLAN_H
#define MK_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "compiler/base/mem.h"
#include "compiler/base/money.h"

#include "compiler/base/key.h"
#include "compiler/front/program.h"
#include "compiler/base/observed.h"
#include "compiler/base/state.h"

typedef struct mk_plan_totals {
    int create, update, replace, remove, noop;
    int import, move;            /* adopted and moved resources (middle/moves.c) */
} mk_plan_totals;

/* ---- the plan model ----
 *
 * note [plan model]: a plan is an array of change records, made by the
 * differ and annotated by the later stages, each writing only its own
 * fields (the groups below say whose they are); nothing writes back into
 * the program (mk_instance) or the state. The plan file's shape
 * (moksha.plan/v1) is written in one place, back/planfile.c, straight from
 * these records; `show` reads a file back into them, so text, markdown and
 * JSON render from the same model whether the plan was just made or saved.
 *
 * Memory: the records' array is the plan's own (mk_mem); their lists live
 * in the plan's arena; strings
 * are the program's, the state's or the catalog's (borrowed; they outlive
 * the plan), or the arena's in a loaded plan. */
typedef enum mk_action {
    MK_ACT_NOOP, MK_ACT_CREATE, MK_ACT_UPDATE, MK_ACT_REPLACE, MK_ACT_DELETE,
    MK_ACT_IMPORT, MK_ACT_MOVE   /* an `import` block's adoption; a `moved` block's rename, nothing else changing */
} mk_action;
typedef enum mk_risk { MK_RISK_LOW, MK_RISK_MEDIUM, MK_RISK_HIGH } mk_risk;

/* A list of attribute names (a type's fields, in schema order), shared by
 * every change that has the same list: a 100,000-change plan has a few. */
typedef struct mk_names {
    const char *const *v;
    uint32_t n;
} mk_names;

/* What the observations say of a resource (docs/drift.md): nothing, an
 * object that changed outside moksha, or one that is gone. */
typedef enum mk_drift_status { MK_DRIFT_NONE, MK_DRIFT_CHANGED, MK_DRIFT_GONE } mk_drift_status;

/* note [kept]: an attribute the change must leave as the world has it —
 * one of lifecycle.ignore_changes, or one that drifted in a resource whose
 * lifecycle.drift is "report" or "ignore" — is neither diffed nor sent as
 * the spec has it: its after is before's value (the observed one when an
 * observation has it, else the state's), so the executor, which sends the
 * whole after, writes back what is there. A create (no before) takes the
 * spec's. `kept` lists them (schema order, only names before has); the
 * plan file writes their after from before (back/planfile.c). */
typedef struct mk_change {
    /* the differ (middle/plan.c) */
    uint32_t id;                 /* 1-based, in plan order (note [plan order]) */
    mk_action action;
    mk_risk risk;                /* DESIGN.md §4; policies may raise it (risk_raised_by) */
    bool irreversible;           /* a delete or replace of a @stateful type: what the object holds is lost */
    const char *address, *type, *name;
    const char *provider;        /* NULL for none */
    const char *via;             /* the kind of the provider block keeping an abstract resource off the sim (a bucket's "s3", "azure_blob"); else NULL */
    const char *deposed;         /* a deposed object's id, which this delete removes; else NULL */
    const char *import_id;       /* an import's: the provider's id of the object adopted; else NULL */
    const char *moved_from;      /* a move's, or an update or replace of a moved resource: its address in the state */
    const mk_instance *in;       /* the desired instance: NULL for a delete, and in a loaded plan */
    json_t *before;              /* the applied attributes (the state's), NULL for a create */
    json_t *after;               /* a loaded plan's after (sealed JSON; a reference the plan holds); a made plan's is in->attrs */
    mk_names unknown, sensitive, changed, forces; /* forces: replace_because */
    const uint32_t *depends_on;  /* ids of changes this one waits for */
    uint32_t ndepends;
    const char *const *refs;     /* addresses it refers to */
    uint32_t nrefs;
    bool prevent_destroy, create_before_destroy;
    json_t *placement;           /* as written, or the state's for a delete; NULL for none (a reference the plan holds) */
    json_t *lifecycle;           /* a delete's: the state's lifecycle as recorded (borrowed), NULL for none */
    mk_names ignore_changes;     /* a desired change's lifecycle.ignore_changes */
    mk_names kept;               /* note [kept]: attributes whose after is before's, not the spec's */
    const char *drift_mode;      /* a desired change's lifecycle.drift: "report", "ignore", NULL for "correct" */
    /* the differ's drift (middle/plan.c, from the observations) */
    mk_drift_status drift;       /* the drift this change corrects */
    mk_names drift_attrs;        /* the attributes that drifted (changed) */
    /* the cost model (pipeline.c, from middle/cost.c and middle/place.c) */
    bool costed;                 /* false: "cost": null (no catalog) */
    bool priced;                 /* monthly is known */
    mk_money monthly, delta;     /* exact (note [money]) */
    const char *offering, *unpriced_because;
    const char *cloud, *region, *placed_offering; /* where it was placed, NULL for nowhere */
    const char *self_hosted;     /* a self-hosted database's connection: $0.00, no cloud's price; else NULL */
    /* policies (pipeline.c, from middle/policy.c) */
    const char *risk_raised_by;  /* the policy whose require risk(…) raised risk, or NULL */
} mk_change;

/* A drifted resource, as the plan's `drift` lists it (Terraform's
 * resource_drift): what the state recorded and what was observed of the
 * drifted attributes. */
typedef struct mk_drift {
    const char *address, *type;
    mk_drift_status status;      /* CHANGED or GONE */
    mk_names attributes;
    json_t *recorded, *observed; /* objects of the drifted attributes (owned); NULL for gone */
    const char *mode;            /* "correct" or "report" */
    uint32_t change;             /* the change that corrects it, 0 for none */
    mk_names sensitive;          /* the entry's sensitive attributes (a made plan's; a loaded one's values say) */
} mk_drift;

/* A `require approval(…)` of a policy, holding one change. */
typedef struct mk_gate {
    uint32_t id;                 /* 1-based */
    const char *policy, *group, *message, *address;
    uint32_t change;             /* the change it holds, 0 for none */
    uint32_t count;              /* distinct approvals it needs: approval(G, count = N); 1 by default */
} mk_gate;

/* An unpriced resource and the cost model's reason. */
typedef struct mk_unpriced {
    const char *address, *why;
} mk_unpriced;

typedef struct mk_plan {
    mk_arena *arena;             /* the records, their lists, a loaded plan's strings */
    /* the differ */
    mk_change *changes;          /* desired changes in program order, then deletes (deposed ones last) */
    size_t nchanges;
    mk_plan_totals totals;       /* totals.remove: how many of them, at the end, are deletes */
    bool destroy;
    int64_t revert_to;           /* `moksha state revert N`: N, whose entries are the desired resources; 0 for none */
    const char *stack, *stack_id, *lineage; /* stack_id NULL for none */
    const char *env;             /* the environment planned for (--env), NULL for none */
    const char *backend_kind, *backend_stack, *backend_env; /* the plan's "backend" (note [plan backend]); kind NULL: none */
    int64_t serial;
    char inputs_digest[65];
    json_t *providers, *outputs; /* owned */
    /* outputs whose value differs from the one the state records (names in
     * the arena, the plan's order, then those the state alone has): such a
     * plan is not "No changes", and applying it records them */
    mk_names outputs_changed;
    json_t *outputs_before;      /* owned: the state's "outputs" ({} for none); a plan read back: what it says they were */
    json_t *reads;               /* [{stack, env, lineage, serial}] of other stacks' outputs read: owned, NULL for none */
    const mk_instance **like;    /* per state resource (its index there): the desired instance at its address, or NULL */
    /* the differ's observations (docs/drift.md, "Plans show drift") */
    bool observed;               /* an observation was read: observed_at, observed_serial, unreadable say of it */
    const char *observed_at;
    int64_t observed_serial;
    mk_names unreadable;         /* addresses the refresh could not see */
    mk_drift *drift;             /* every drifted resource, in plan order */
    size_t ndrift;
    json_t *made;                /* JSON the differ made for the records (befores from observations): owned */
    /* the cost model */
    bool costed;
    mk_money monthly, applied, delta;
    int64_t unpriced;
    int64_t self_hosted;         /* self-hosted databases: $0.00 and no cloud's price (note [off cloud] in cost.h) */
    /* the unpriced resources the plan has no change for, each with why (a
     * change says its own in unpriced_because): every unpriced resource is
     * named with its reason (docs/cost.md, "Rules") */
    mk_unpriced *unpriced_unchanged;
    size_t nunpriced_unchanged;
    /* policies */
    json_t *policies;            /* results (owned; middle/policy.h has their shape) */
    json_t *waivers;             /* the waiver envelopes the policies used (owned; note [waivers] in pipeline.c), or NULL */
    json_t *policy_packs;        /* [{"name", "digest"}] the packs loaded (owned; note [policy packs] in front/program.c), or NULL */
    mk_gate *gates;
    size_t ngates;
} mk_plan;

/* The kind of the block `provider` names in a plan's `providers` when it
 * keeps a resource of an abstract type on a real server (a bucket on "s3"
 * or "azure_blob": the plan shows it "via s3 store"); NULL otherwise. The
 * string is the plan's (borrowed from providers). */
const char *mk_plan_via(const json_t *providers, const char *type, const char *provider);

/* The words the plan file and the policies use: "create", "high", … */
const char *mk_plan_action_name(mk_action a);
const char *mk_plan_risk_name(mk_risk r);

/* Diff the evaluated program against state into a plan's records; with
 * destroy, everything in state is deleted. Reports E0301 for a delete or
 * replace that prevent_destroy forbids, E0304 for one deletion_protection
 * forbids. The changes come in program order, then the deletes
 * (totals.remove of them, deposed objects included) last. The plan borrows
 * the program's and the state's strings and values: free it before them. */
mk_plan *mk_plan_build(mk_program *p, mk_state *st, const mk_key *key, bool destroy);
/* The same, planned from the observations too (docs/drift.md, "Plans show
 * drift"): obs NULL, or never refreshed, plans from the state alone. The
 * plan borrows obs's strings: free it after the plan. */
mk_plan *mk_plan_build_observed(mk_program *p, mk_state *st, const mk_observed *obs, const mk_key *key, bool destroy);
void mk_plan_free(mk_plan *pl);
/* The risk class of a change (DESIGN.md §4): low, medium or high; changed
 * is the list of changed attribute names, stateful whether the type is
 * @stateful (deleting one of its objects loses what it holds). */
mk_risk mk_plan_risk(mk_action action, const char *type, bool stateful, mk_names changed);
/* A delete or replace of a @stateful type: the plan's `irreversible` (the
 * executor runs such a step after every other one, and cannot undo it). */
bool mk_plan_irreversible(mk_action action, bool stateful);

#endif
