/* submit — the client of `moksha-exec serve` (docs/trust.md, "The
 * service"; the frames: docs/executor.md, "The service protocol"). When
 * MOKSHA_EXEC_SOCKET names the service's socket, every command that plans
 * (plan, apply, destroy, cost, graph, policy check) reads the state from
 * the service, takes the seal key it reports (unless MOKSHA_SEAL_TO is
 * set), `apply` and `destroy` submit the signed plan there instead of
 * running moksha-exec, and `state` and `audit` run there, each printing
 * the service's output as it streams and returning its exit code. The
 * framing is its own: the compiler links no code of runtime/. It does not
 * plan, sign or decide anything about the plan. */
#ifndef MK_SUBMIT_H
#define MK_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>

struct mk_pipeline_req;

/* MOKSHA_EXEC_SOCKET, or NULL when it is unset or empty. */
const char *mk_submit_socket(void);

/* What planning takes from the service; owns the state's and the
 * observations' bytes. */
typedef struct mk_submit_inputs {
    char *state;     /* NULL: the stack has no state yet */
    size_t len;
    char name[4200]; /* how messages name it */
    char *observed;  /* the stack's observed.json; NULL: none (never refreshed) */
    size_t observed_len;
    char observed_name[4200];
    /* what `moksha-exec state where` said (compiler/cli/execstate.c): "" when not asked */
    char kind[16], stack[128], env[64], location[512];
} mk_submit_inputs;

/* Ask the service for its seal key and for the state and the observations
 * (observed.json) of the stack in the current directory (.moksha/stack-id;
 * none yet: neither), and give them to r (the state's bytes are r's then,
 * freed by the pipeline once parsed; r borrows in's names and the
 * observations' bytes, which mk_submit_inputs_free frees). False when the service cannot be reached or
 * refuses (said on stderr): nothing may be planned against a guess of the
 * state. */
bool mk_submit_plan_inputs(struct mk_pipeline_req *r, mk_submit_inputs *in);
void mk_submit_inputs_free(mk_submit_inputs *in);
/* in's state and observations (and their names) given to r, as above. */
void mk_submit_inputs_give(struct mk_pipeline_req *r, mk_submit_inputs *in);

/* Submit the signed plan (n bytes) for stack_id with apply's options as
 * moksha-exec takes them (opts: "--parallelism", "4", "--no-rollback", …;
 * --progress is the client's own and not sent). Prints the output as it
 * comes; Ctrl-C, SIGTERM and SIGHUP each send a cancel. Returns the
 * service's exit code, or 1 when it cannot be reached (said, naming the
 * socket). */
int mk_submit_apply(const char *stack_id, const char *plan, size_t n, const char **opts, size_t nopts);

/* Run a state or audit command in the service for the stack in the
 * current directory (.moksha/stack-id; none: an error, no plan was made for
 * it): op is "state list", "state show", "state rm", "state unlock",
 * "audit show" or "audit verify", with its argument arg under key (both
 * may be NULL). Prints the output as it comes; the service's exit code, or
 * 1 when it cannot be reached (said, naming the socket). */
int mk_submit_stack_op(const char *op, const char *key, const char *arg);

/* Hand an approval (text: its file's text) to the service for the stack
 * and environment it names (stack_id and env, its payload's; env NULL for
 * none; --env, when given, is sent instead): op `approval add`, the text as
 * "approval". Prints the output as it comes; the service's exit code, or 1
 * when it cannot be reached (said). */
int mk_submit_approval(const char *stack_id, const char *env, const char *text);

/* Refresh the stack in the current directory in the service (`moksha-exec
 * refresh`, docs/drift.md), with refresh's options as moksha-exec takes
 * them (opts: "--dry-run", "--detailed-exitcode", "--format", "json",
 * "--parallelism", "4", "--timeout", "30s", "--retries", "2", "--by",
 * "reconcile") and a signed plan of n bytes (plan NULL: none). Prints the
 * output as it comes; Ctrl-C, SIGTERM and SIGHUP each send a cancel.
 * Returns the service's exit code, or 1 when it cannot be reached or the
 * stack has no id (said). */
int mk_submit_refresh(const char *plan, size_t n, const char **opts, size_t nopts);

/* The stack's observed.json as the service holds it: true with *out its
 * bytes (free with mk_mem_free; NULL when there is none) and *len, false
 * when the service cannot be reached or refuses (said on stderr). A stack
 * with no id has none. */
bool mk_submit_observed(char **out, size_t *len);

#endif
