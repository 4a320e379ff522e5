/* seen — how a provider's read shows a secret attribute (docs/drift.md,
 * "What a read returns"; docs/providers.md): never the plaintext it holds,
 * but the state's own sealed value when the two are equal, else a marker
 * that says only that they differ. Shared by the providers that hold
 * secrets; it opens only what the state sealed, with op->keys, at
 * op->address and the attribute. Every function returns a new value. */
#ifndef MK_PROV_SEEN_H
#define MK_PROV_SEEN_H

#include <jansson.h>
#include <stddef.h>

#include "runtime/providers/provider.h"

/* The provider holds the text have (n bytes) for attribute attr, whose
 * recorded (sealed) value is recorded: recorded itself when it opens to
 * that text, else {"$secret": {"differs": true}} ({"unknown": true} when
 * recorded does not open: nothing can be said). */
json_t *mk_prov_seen_text(const mk_prov_op *op, const char *attr, json_t *recorded, const char *have, size_t n);
/* The same for the value held as JSON: the recorded value when equal to
 * it, else a plain string compared as text, a sealed one opened first
 * (sealed for op->address and attr; one that no longer opens — sealed
 * before a key rotation — leaves the record standing), anything else
 * differs. */
json_t *mk_prov_seen_value(const mk_prov_op *op, const char *attr, json_t *recorded, json_t *held);
/* {"$secret": {"unknown": true}}: a secret moksha never wrote (an import). */
json_t *mk_prov_seen_unknown(void);
/* {"$secret": {"differs": true}}: a secret the world holds otherwise. */
json_t *mk_prov_seen_differs(void);
/* Is v a secret, {"$secret": …}? */
bool mk_prov_seen_is_secret(json_t *v);
/* Does v hold a secret anywhere: itself, a map's value or a list's item? */
bool mk_prov_seen_holds_secret(json_t *v);

#endif
