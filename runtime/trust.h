/* trust — the executor's side of trust mode (docs/trust.md): the trust file
 * `moksha.trust/v1` that its configuration names, accepted only when a
 * threshold of the current roots signed it, it has not expired and its
 * version has not gone down since the last one accepted (KEYS/trust.seen);
 * who a public key is by that file; and the typed Ed25519 signatures
 * ("moksha-signature/v1" 0 TYPE 0 PAYLOAD) it and plans are checked with.
 *
 * Not for: the executor's own keys (seal.key, audit.key: the keyring's), nor
 * plan files (runtime/planfile.c asks this module who signed one).
 *
 * A mk_trust owns its strings; what a lookup returns is borrowed from it. */
#ifndef MK_RUNTIME_TRUST_H
#define MK_RUNTIME_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "runtime/config.h"

#define MK_TRUST_FORMAT "moksha.trust/v1"
#define MK_TRUST_SEEN_FORMAT "moksha.trust-seen/v1"

/* A key's roles in the trust file, as bits: a person may plan and approve
 * with one key; planner and automation never share one, nor a root another. */
enum {
    MK_TRUST_PLANNER = 1,
    MK_TRUST_AUTOMATION = 2,
    MK_TRUST_APPROVER = 4,
    MK_TRUST_ROOT = 8,
};

typedef struct mk_trust mk_trust;

/* Who a key is. */
typedef struct mk_trust_who {
    unsigned roles;   /* MK_TRUST_* bits; 0: the trust file does not list it */
    const char *name; /* its planner's or automation's name, else its approver's; "" for a root */
    bool revoked;     /* listed in `revoked` */
    char id[17];      /* the key's id: 16 hex digits of SHA-256 over its 32 bytes */
} mk_trust_who;

/* "ed25519:" and the base64 of 32 bytes, exactly as written by `moksha key
 * new` (44 characters, canonical), into raw; false otherwise. */
bool mk_trust_key_parse(const char *text, uint8_t raw[32]);
void mk_trust_key_id(const uint8_t raw[32], char id[17]);
/* Does value (base64 of a 64-byte Ed25519 signature) sign
 * "moksha-signature/v1" 0 type 0 payload by the key pub? */
bool mk_trust_verify(const char *type, const void *payload, size_t n, const uint8_t pub[32], const char *value);

/* Read and check the trust file cfg names, at the time now (docs/trust.md,
 * "The trust file"); when record, write what was accepted into
 * KEYS/trust.seen when it differs from what is there (atomically, under a
 * lock on KEYS). NULL with why naming the file and the rule it breaks. */
mk_trust *mk_trust_load(const mk_config_trust *cfg, time_t now, bool record, char *why, size_t whylen);
/* No downgrade: in trust mode (cfg has a trust section) MOKSHA_KEY in the
 * executor's environment is refused, whatever the command; false with why. */
bool mk_trust_env_ok(const mk_config *cfg, char *why, size_t whylen);
/* The executor's start in trust mode: mk_trust_env_ok, then mk_trust_load
 * now. */
mk_trust *mk_trust_open(const mk_config *cfg, bool record, char *why, size_t whylen);
void mk_trust_free(mk_trust *t);

/* Who the key raw is by the trust file. */
void mk_trust_lookup(const mk_trust *t, const uint8_t raw[32], mk_trust_who *who);
/* The role a plan's signer signs as: "planner", "automation", else
 * "approver" or "root" (wrong roles), else "unknown". */
const char *mk_trust_role_name(unsigned roles);
long long mk_trust_version(const mk_trust *t);
/* SHA-256 hex of the payload's text: what trust.seen and the audit record. */
const char *mk_trust_digest(const mk_trust *t);
const char *mk_trust_path(const mk_trust *t);
/* One line on what the file holds, for `config check`: its version, expiry,
 * roots, how many keys of each role, and the version trust.seen recorded. */
void mk_trust_describe(const mk_trust *t, char *out, size_t n);

/* ---- what approvals and boundaries ask of the file (docs/trust.md,
 * "Approvals", "Autonomy boundaries"). What a json_t lookup returns is
 * borrowed from t and shaped as the trust file's checks allow. ---- */

/* The approver name the key raw has in `approvers`, or NULL (a key may be
 * a planner's and an approver's under two names). */
const char *mk_trust_approver_name(const mk_trust *t, const uint8_t raw[32]);
/* Is approver a member of groups.GROUP? */
bool mk_trust_in_group(const mk_trust *t, const char *group, const char *approver);
bool mk_trust_group_exists(const mk_trust *t, const char *group);
/* automation.NAME.boundary ({} or absent: the default boundary), or NULL. */
json_t *mk_trust_boundary(const mk_trust *t, const char *automation);
/* environments.ENV ({"policy_packs": [...], "gates": {...}}), or NULL when
 * the file names no rules for ENV (env NULL: a plan of no environment,
 * looked up as ""). */
json_t *mk_trust_environment(const mk_trust *t, const char *env);
/* break_glass ({"group": G, "count": N}), or NULL: no break glass. */
json_t *mk_trust_break_glass(const mk_trust *t);
/* "2027-06-01T00:00:00Z" exactly (a real UTC time) into *out. */
bool mk_trust_time(const char *text, time_t *out);
/* Does the file's `revoked` list raw? */
bool mk_trust_revokes(const mk_trust *t, const uint8_t raw[32]);

#endif
