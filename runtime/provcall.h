/* provcall — the providers as the executor makes and calls them: one
 * constructor switch from a provider block to a provider (every command
 * that reaches the world — the apply, the refresh, `state mv` — makes its
 * providers here, so a kind is added in one place and no command knows a
 * kind the others do not), and one call with a deadline per attempt,
 * retried with exponential backoff and jitter while the provider calls the
 * error retryable, so that a read is given exactly the patience a change
 * is (--timeout, --retries). It knows nothing of steps, state or the audit
 * log. */
#ifndef MK_RUNTIME_PROVCALL_H
#define MK_RUNTIME_PROVCALL_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/exec.h"
#include "runtime/providers/provider.h"

struct mk_config;

/* The provider of a block {"type", "settings"} (a plan's, or the state's
 * record of it; borrowed, as cfg is) named alias; a NULL block is the kind
 * of that name with no settings (a stack that writes no block applied
 * with its defaults). NULL with why when it is of no kind this executor
 * knows or its settings are unusable (a connection the configuration does
 * not have). Free it with its own free. */
mk_prov *mk_provcall_provider(json_t *block, const char *alias, const struct mk_config *cfg, char *why,
                              size_t whylen);

/* The capabilities of op's type on p (mk_prov.caps_of, else mk_prov.caps):
 * what a rollback may count on for that type. */
unsigned mk_provcall_caps(mk_prov *p, const char *type);

/* Call fn on op (its deadline_ms set afresh for every attempt from
 * o->timeout_ms), at most 1 + o->retries times; the first delay is
 * o->backoff_ms, doubled each time up to 10 s. interrupts (may be NULL):
 * the caller's count of stop signals; from the second on, no retry.
 * *attempts (may be NULL) grows by one a call. True on MK_PROV_OK with
 * *out the provider's answer; false with *out NULL and the reason in why. */
bool mk_provcall_retry(mk_prov *p, mk_prov_fn fn, mk_prov_op *op, const mk_exec_opts *o,
                       const volatile sig_atomic_t *interrupts, json_t **out, char *why, size_t whylen, int *attempts);

#endif
