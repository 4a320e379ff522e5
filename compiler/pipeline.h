/* pipeline — the driver: a request (stack paths, variables, policies,
 * overrides) through the stages, each its module's, into a program, a plan
 * and the plan's signed text. It sits above back/ and below cli/.
 *
 * It prints nothing. Diagnostics stay in the program's diagnostics set,
 * each stage's time and peak memory is recorded in the result, and what the
 * command line must say about its own arguments (an --override or a
 * --replace-placement that names nothing) is a flag in the result: the
 * caller prints all of it, so a test or a server can run the driver
 * quietly. It is not the place for option parsing or rendering. */
#ifndef MK_PIPELINE_H
#define MK_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "compiler/base/key.h"
#include "compiler/base/observed.h"
#include "compiler/base/state.h"
#include "compiler/front/program.h"
#include "compiler/middle/plan.h"
#include "compiler/middle/policy.h"

#define MOKSHA_DIR ".moksha"
#define ENV_FILES_DIR "env" /* env/global.yaml, env/NAME.yaml: docs/environments.md */

struct mk_place_report;
struct mk_cost_catalog;

/* What to compile and plan. The arrays are the caller's (borrowed). */
typedef struct mk_pipeline_req {
    mk_program *p;
    const char **paths;
    size_t npaths;
    const char **var_files, **var_flags;
    size_t nvar_files, nvar_flags;
    bool strict;
    bool destroy;   /* plan to delete everything in state */
    /* the environment (--env, MOKSHA_ENV: docs/environments.md), NULL for
     * none: its state and observations (mk_pipeline_env_path), its
     * variables layered under the var files, stack.env, the plan's `env` */
    const char *env;
    const char **policy_dirs; /* --policies DIR */
    size_t npolicy_dirs;
    const char **waiver_files; /* --waiver FILE (and the stack's waivers/NAME.approval: note [waivers] in pipeline.c) */
    size_t nwaiver_files;
    struct mk_policy_override *overrides; /* --override NAME --reason TEXT */
    size_t noverrides;
    const char **replace_placement; /* --replace-placement ADDR */
    size_t nreplace_placement;
    bool explain;                   /* --explain: keep the placement report for the caller to print */
    bool keep_placement;            /* keep it without printing it (--base compares two) */
    bool compile_only;              /* mk_pipeline_plan: state and program, no plan (moksha cost) */
    const char *signing_key;        /* --signing-key FILE: the planner key that signs, before MOKSHA_SIGNING_KEY */
    const char *import_to, *import_id; /* `moksha import ADDRESS ID`: one more import, as a block would say */
    /* when set, the compile thread calls it after loading the sources and
     * before evaluating them, for the state the evaluation reads (read
     * meanwhile on another thread); it may return NULL */
    struct mk_state *(*await_state)(void *ud);
    void *await_ud;
    /* The state from the executor service (MOKSHA_EXEC_SOCKET) instead of
     * .moksha/state.json: its bytes (NULL: the stack has none yet; taken:
     * freed, with mk_mem_free, once parsed), named state_name in messages
     * (borrowed). state_name NULL: read the file. */
    const char *state_name;
    char *state_text;
    size_t state_len;
    /* The observations from the executor service instead of
     * .moksha/observed.json (docs/drift.md, "Observations"): their bytes
     * (NULL: the service holds none, as a missing file), named
     * observed_name in messages. Borrowed: the caller (mk_run_plan, through
     * mk_submit_inputs) frees them after mk_pipeline_plan returns.
     * observed_name NULL: read the file (none, when the state itself came
     * from the service). */
    const char *observed_name;
    const char *observed_text;
    size_t observed_len;
    /* `moksha state revert N` (compiler/front/revert.h): serial N's state
     * bytes (borrowed, parsed in place and restored), whose entries are the
     * desired resources instead of the spec's; revert_serial N. NULL: a
     * plan of the spec. */
    char *revert_text;
    size_t revert_len;
    int64_t revert_serial;
    /* note [plan backend]: the backend the executor reads the state from
     * (`moksha-exec state where`), recorded in the plan's "backend" object;
     * kind NULL: plain local files without an environment, not written.
     * Borrowed. */
    const char *backend_kind, *backend_stack, *backend_env;
    /* Another stack's outputs, for an `outputs` block (docs/language.md,
     * "Reading another stack's outputs"): the executor's answer {stack,
     * env, lineage, serial, outputs} for stack and env (NULL: this plan's
     * environment), a new reference, or NULL with why; self is the reading
     * stack's name (where the executor finds a stack of another directory
     * depends on it). Called on the compile thread before evaluation, once
     * per block. NULL: the outputs are unknown, checked by their declared
     * types alone (moksha check). */
    struct json_t *(*read_outputs)(void *ud, const char *self, const char *stack, const char *env, char *why,
                                   size_t whylen);
    void *read_ud;
    /* the seal key the service reports, used when MOKSHA_SEAL_TO is unset */
    struct { bool on; uint8_t key[32]; char id[17]; } seal_reported;
} mk_pipeline_req;

/* One stage's wall time and the process's peak memory after it (what
 * --stats prints); peak_rss_mib is -1 where it is not measured (the state
 * is read on a thread of its own, beside the compile). */
typedef struct mk_pipeline_phase {
    const char *name; /* "state", "compile", "diff", "cost", "policies", "sign", … */
    double ms;
    long peak_rss_mib;
} mk_pipeline_phase;

#define MK_PIPELINE_PHASES 10

/* A compiled, diffed (and maybe signed) plan. */
typedef struct mk_planned {
    mk_program *p;
    mk_state *st;
    mk_observed *obs;    /* what the executor last observed (never NULL once the state is read) */
    mk_key key;
    mk_plan *model;      /* the plan's records (middle/plan.h, note [plan model]): what is written and shown */
    char *text;          /* the signed plan in its file form, when signed */
    json_t *policies;    /* results (borrowed from model) */
    int policy_failed;   /* policies that fail the plan: exit 3 */
    int policy_errored;  /* policies that met an error (reported; the plan fails) */
    bool replace_unmatched;  /* a --replace-placement names no instance of p */
    bool override_unmatched; /* an --override names no policy of policies */
    /* the placement report (kept for --explain and moksha cost, which print
     * it) and the catalog its strings and the model's point into (owned;
     * freed with the rest) */
    struct mk_place_report *placement;
    struct mk_cost_catalog *catalog;
    mk_pipeline_phase phases[MK_PIPELINE_PHASES];
    size_t nphases;
} mk_planned;

/* Where the executor keeps file (state.json, observed.json) of environment
 * env (NULL: none): .moksha/FILE, or .moksha/env/ENV/FILE. */
void mk_pipeline_env_path(const char *env, const char *file, char *out, size_t n);

/* load → vars → eval on a thread with a large stack, into r->p (which the
 * caller made with mk_program_new). */
void mk_pipeline_compile(mk_pipeline_req *r);
/* Compile against .moksha/state.json, diff, price and place, run the
 * policies, and sign when asked (a plan that leaves the process). out is
 * filled even on failure (free it with mk_pipeline_planned_free); false on
 * any error, which is in out->p->diag or one of the unmatched flags. */
bool mk_pipeline_plan(mk_pipeline_req *r, mk_planned *out, bool sign);
/* moksha cost, after a compile_only plan: load the catalogs, place (under
 * the policies that read r.placement) and price every resource, recorded
 * as the "cost" phase; NULL when the catalogs do not load. The report is
 * pl's (pl->placement). An overflow is E0401 in the diagnostics. */
struct mk_place_report *mk_pipeline_price(mk_planned *pl, const mk_pipeline_req *r);
void mk_pipeline_planned_free(mk_planned *pl);

/* A plan signed with a planner key seals its secrets to the executor
 * (docs/trust.md): false, with E0305 in the diagnostics, when it holds a
 * secret and no MOKSHA_SEAL_TO says where to seal it. */
bool mk_pipeline_sealable(mk_planned *out);

/* Whether --replace-placement k names an instance of p, and whether an
 * override's name is a policy of results (for the caller's messages). */
bool mk_pipeline_replace_named(const mk_pipeline_req *r, const mk_program *p, size_t k);
bool mk_pipeline_override_named(json_t *results, const char *name);

/* The monotonic clock in milliseconds, and a phase ended now, begun at *t0
 * (which becomes now): for a caller timing its own stage (render) as the
 * driver times its own. */
double mk_pipeline_now_ms(void);
void mk_pipeline_mark(mk_planned *pl, const char *name, double *t0);

#endif
