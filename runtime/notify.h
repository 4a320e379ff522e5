/* notify — the executor's hooks (docs/trust.md, "Notifications";
 * docs/executor.md's configuration `notify`): on plan held, gate
 * approved, apply finished or failed, drift corrected and break glass, a
 * `moksha.notify/v1` event to a command's stdin or POSTed to an http
 * connection. A hook that fails never fails the apply: it is audited as
 * notify.failed (notify.sent when it was delivered).
 *
 * A command hook runs without a shell, in a process group of its own, with
 * PATH=/usr/bin:/bin, HOME a temporary directory of its own (removed after)
 * and LANG=C.UTF-8 alone, the event's JSON on its stdin, its stdout and
 * stderr /dev/null (what it says may hold anything: never repeated); exit 0
 * is delivered. At its timeout its whole group is killed. An http hook is a
 * POST through runtime/httpc.c under its connection's rules, with its
 * credential (credentials.bearer_env, basic_user + password_env, or
 * credential_command; over plain http only with allow_plaintext); a 2xx
 * answer is delivered. Every hook of an event runs at once: an event waits
 * for its slowest hook, at most the longest timeout. */
#ifndef MK_RUNTIME_NOTIFY_H
#define MK_RUNTIME_NOTIFY_H

#include <jansson.h>
#include <stdio.h>

#include "runtime/config.h"

/* One event. Strings borrowed; NULL ones are null in the body. details
 * (borrowed, an object; NULL: {}) holds addresses, counts, names and key
 * ids — never a secret: the body goes to whoever the hook reaches. */
typedef struct mk_notify_event {
    const char *event;        /* "apply.finished", "plan.held", … */
    const char *stack_id, *env, *run, *plan_sha256;
    const char *summary;      /* one line for a person */
    json_t *details;
} mk_notify_event;

/* The body sent: {"format": "moksha.notify/v1", "event", "at", "stack_id",
 * "env", "run", "plan_sha256", "summary", "details"} (new reference). */
json_t *mk_notify_body(const mk_notify_event *ev);
/* Send ev to every hook of cfg that asks for it; for each, the fields of
 * its audit entry (notify.sent {hook, to, event, ms} or notify.failed
 * {hook, to, event, error}) appended to audit (borrowed array; may be
 * NULL). Returns once every hook ended or was stopped at its timeout. */
void mk_notify(const mk_config *cfg, const mk_notify_event *ev, json_t *audit);
/* Does some hook of cfg ask for event? */
bool mk_notify_wanted(const mk_config *cfg, const char *event);
/* One line a hook, as `config check` says it. */
void mk_notify_describe(const mk_config *cfg, FILE *out);

#endif
