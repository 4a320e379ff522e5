/* approval — signed approvals as the executor takes them (docs/trust.md,
 * "Approvals"): `moksha.approval/v1` envelopes of kind gate, override,
 * waiver, break_glass, revoke and ack, each checked against the trust file
 * (an approver's key, not revoked, of the group asked), its stack and
 * environment, its expiry and the executor's clock; the change digest an
 * approval is bound to; the approvals a stack keeps (its `approvals/`
 * directory beside the state), with their revocations.
 *
 * Not for: who may sign plans (runtime/trust.c), boundaries
 * (runtime/boundary.c). The compiler writes approvals
 * (compiler/base/approvalfile.c) and shares no code with this. */
#ifndef MK_RUNTIME_APPROVAL_H
#define MK_RUNTIME_APPROVAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "runtime/trust.h"

#define MK_APPROVAL_FORMAT "moksha.approval/v1"

/* The change digest (docs/trust.md, "The change digest"): SHA-256 hex of
 * "moksha-change/v1\n" and the compact, key-sorted JSON of the change's
 * address, action, type, before and after, every sealed secret replaced
 * by its fingerprint. Into hex (65 bytes); false for a change that is not
 * an object with a string address and action. */
bool mk_approval_change_digest(json_t *change, char hex[65]);

/* The approvals one apply may use: those given with it and those the
 * stack keeps, each verified at now. Refused ones are audited by the
 * caller from `events` (approval.refused, with the reason). */
typedef struct mk_approvals mk_approvals;

mk_approvals *mk_approval_load(const mk_trust *t, const char *stack_id, const char *env, const char *store,
                                const char *const *files, size_t nfiles, json_t *texts, time_t now, json_t *events);
void mk_approval_free(mk_approvals *a);

/* Does the gate (an entry of the plan's `gates`) open? changes: the plan's
 * changes it stands in front of; signer: the plan signer's name (whose own
 * approvals never count). On true, *by is the list of approvers
 * ({"name", "key_id", "id"}), a new reference. *why says what is missing
 * otherwise ("1 of 2 approvals of `sre`: alice"). */
bool mk_approval_gate(const mk_approvals *a, json_t *gate, json_t *changes, const char *signer, json_t **by,
                       char *why, size_t whylen);

/* Break glass: two (or the trust file's count) distinct members of the
 * break-glass group signed one for this plan (plan_digest: the body's
 * SHA-256 the plan's signature names). *by as above. */
bool mk_approval_break_glass(const mk_approvals *a, const char *plan_digest, json_t **by, char *why, size_t whylen);

#endif
