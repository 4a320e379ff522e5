/* notify — the executor's hooks (docs/trust.md, "Notifications";
 * docs/executor.md's configuration `notify`): on plan held, gate
 * approved, apply finished or failed, drift corrected and break glass, a
 * `moksha.notify/v1` event to a command's stdin or POSTed to an http
 * connection. A hook that fails never fails the apply: it is audited as
 * notify.failed (notify.sent when it was delivered). */
#ifndef MK_RUNTIME_NOTIFY_H
#define MK_RUNTIME_NOTIFY_H

#include <jansson.h>

#include "runtime/config.h"

/* Send event (e.g. "apply.finished") with details (borrowed) to every hook
 * of cfg that asks for it; each outcome appended to audit (notify.sent or
 * notify.failed entries to add to the audit log), a borrowed array. */
void mk_notify(const mk_config *cfg, const char *event, json_t *details, json_t *audit);

#endif
