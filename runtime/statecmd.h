/* statecmd — `moksha-exec state list | show ADDRESS | rm ADDRESS | unlock
 * ID | mv FROM TO` and `audit verify` (docs/executor.md), in the stack in the working
 * directory, run from the command line or by `moksha-exec serve` for a
 * submitter. Each prints to stdout/stderr and returns an exit code of
 * runtime/exitcode.h. */
#ifndef MK_RUNTIME_STATECMD_H
#define MK_RUNTIME_STATECMD_H

struct mk_exec_submitter;

int mk_statecmd_list(void);
int mk_statecmd_show(const char *address);
/* Under the lock, signals held (note [signal hold] in signals.h). by: who
 * asked through the service, named in the audit entry (NULL: the command
 * line). */
int mk_statecmd_rm(const char *address, double wait_ms, const struct mk_exec_submitter *by);
/* `state unlock ID --reason TEXT`: the lock broken only with a reason
 * (NULL or "": refused), audited `lock.broken` with it and the holder. */
int mk_statecmd_unlock(const char *id, const char *reason, const struct mk_exec_submitter *by);
/* `state mv FROM TO`: under the lock, the object moved by its provider
 * (the state's record of the providers) and its entry re-keyed, audited
 * `state.mv`; refused in trust mode (a `moved` block in a signed plan
 * does it there). */
int mk_statecmd_mv(const char *from, const char *to, double wait_ms, const struct mk_exec_submitter *by);
/* The audit log's chain, its keyed head and the state's record of the
 * last entry: 0 when whole, 1 with the first damage named. */
int mk_statecmd_audit_verify(void);
/* `state where [--format json]`: the backend this stack and environment's
 * state is kept in, and where (never a credential). */
int mk_statecmd_where(int argc, char **argv);
/* `state pull [--serial N | --observed]`: the state's bytes (or the
 * observations') exactly as the backend holds them, on stdout; nothing when
 * there is none. */
int mk_statecmd_pull(int argc, char **argv);
/* `env list [--format json]`: the environments of the stack that have a state. */
int mk_statecmd_envs(int argc, char **argv);

#endif
