/* provcall — one provider call as the executor makes every call: with a
 * deadline per attempt, retried with exponential backoff and jitter while
 * the provider calls the error retryable. The apply (exec.c) and the
 * refresh (refresh.c) share it so that a read is given exactly the
 * patience a change is (--timeout, --retries). It knows nothing of steps,
 * state or the audit log. */
#ifndef MK_RUNTIME_PROVCALL_H
#define MK_RUNTIME_PROVCALL_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/exec.h"
#include "runtime/providers/provider.h"

/* Call fn on op (its deadline_ms set afresh for every attempt from
 * o->timeout_ms), at most 1 + o->retries times; the first delay is
 * o->backoff_ms, doubled each time up to 10 s. interrupts (may be NULL):
 * the caller's count of stop signals; from the second on, no retry.
 * *attempts (may be NULL) grows by one a call. True on MK_PROV_OK with
 * *out the provider's answer; false with *out NULL and the reason in why. */
bool mk_provcall_retry(mk_prov *p, mk_prov_fn fn, mk_prov_op *op, const mk_exec_opts *o,
                       const volatile sig_atomic_t *interrupts, json_t **out, char *why, size_t whylen, int *attempts);

#endif
