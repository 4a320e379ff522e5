/* approval — signed approvals as the executor takes them (docs/trust.md,
 * "Approvals"): `moksha.approval/v1` envelopes of kind gate, override,
 * waiver, break_glass, revoke and ack, each checked against the trust file
 * (an approver's key, not revoked), its stack and environment, its expiry
 * and the executor's clock; the change digest an approval of a gate is
 * bound to and the violations digest an override is bound to; which gates,
 * overrides, waivers and break glass the approvals at hand open.
 *
 * Not for: who may sign plans (runtime/trust.c), boundaries
 * (runtime/boundary.c). The compiler writes approvals
 * (compiler/base/approvalfile.c) and shares no code with this; a unit test
 * holds the two digests to each other. */
#ifndef MK_RUNTIME_APPROVAL_H
#define MK_RUNTIME_APPROVAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "runtime/trust.h"

#define MK_APPROVAL_FORMAT "moksha.approval/v1"
#define MK_APPROVAL_MAX (64 * 1024)   /* the largest approval file read */
#define MK_APPROVAL_SKEW 300          /* seconds an approval may be issued ahead of this clock */

/* The change digest (docs/trust.md, "The change digest"): SHA-256 hex of
 * "moksha-change/v1\n" and the compact, key-sorted JSON of the change's
 * address, action, type, before and after (absent: null), every object
 * holding "$secret" replaced by {"$secret": its fingerprint or null}.
 * False for a change that is not an object with a string address and
 * action. */
bool mk_approval_change_digest(json_t *change, char hex[65]);
/* The violations digest of a policy result: SHA-256 hex of
 * "moksha-violations/v1\n" and the compact, key-sorted JSON of its
 * violations as [{"address": A or null, "message": M}] sorted by address
 * (null first), then message. False when a violation is not of that form. */
bool mk_approval_violations_digest(json_t *result, char hex[65]);

/* The approvals one apply may use: the files given with it (--approval),
 * the texts the service was sent (a list of strings, or NULL), and those
 * embedded in the plan as waivers, each verified at now for the plan's
 * stack and environment. Each refused one is said on stderr and appended
 * to events as an approval.refused audit entry; each taken one as
 * approval.accepted. */
typedef struct mk_approvals mk_approvals;

mk_approvals *mk_approval_load(const mk_trust *t, const char *stack_id, const char *env, const char *store,
                               const char *const *files, size_t nfiles, json_t *texts, json_t *waivers, time_t now,
                               json_t *events);
/* One approval's text checked as load checks each (note [who counts]):
 * its payload (a new reference) with the approver's name and key id, or
 * NULL with why. */
json_t *mk_approval_check(const mk_trust *t, const char *text, size_t n, const char *stack_id, const char *env,
                          time_t now, char name[65], char key_id[17], char *why, size_t whylen);
/* The approvals taken, [{"id", "kind", "by", "key_id", "expires", "reason", "revoked"}] (a new reference). */
json_t *mk_approval_list(const mk_approvals *a);
/* STORE/ID.json: where a stack keeps an approval (mk_approvalcmd). */
void mk_approval_store_path(const char *store, const char *id, char *out, size_t n);
void mk_approval_free(mk_approvals *a);
/* How many approvals were taken. */
size_t mk_approval_count(const mk_approvals *a);

/* Does the gate (an entry of the plan's `gates`, with `count`) open?
 * changes: the plan's changes; the gate stands in front of its `change`,
 * or of all of them. signer_name, signer_key_id: who signed the plan
 * (their own approvals never count). On true, *by is the list of
 * approvers ([{"name", "key_id", "id"}], a new reference); on false *why
 * says what is missing ("1 of 2 distinct approvals by `sre` (alice)"). */
bool mk_approval_gate(const mk_approvals *a, json_t *gate, json_t *changes, const char *signer_name,
                      const char *signer_key_id, json_t **by, char *why, size_t whylen);
/* An overridden policy result: an override approval of that policy with
 * its violations digest by a member of its `override_by` group, not the
 * signer. *by and *why as above. */
bool mk_approval_override(const mk_approvals *a, json_t *result, const char *signer_name, const char *signer_key_id,
                          json_t **by, char *why, size_t whylen);
/* A waived violation ({"address", "waiver": ID}) of a policy result: the
 * waiver ID was taken, is of that policy and address, by a member of the
 * result's `override_by` group, not the signer. *by and *why as above. */
bool mk_approval_waiver(const mk_approvals *a, json_t *result, json_t *waived, const char *signer_name,
                        const char *signer_key_id, json_t **by, char *why, size_t whylen);
/* Break glass: the trust file's break_glass count of distinct members of
 * its group signed one for this plan (plan_digest: the body's SHA-256 the
 * plan's signature names). *by and *why as above. */
bool mk_approval_break_glass(const mk_approvals *a, const char *plan_digest, const char *signer_name,
                             const char *signer_key_id, json_t **by, char *why, size_t whylen);

#endif
