/* seen — secrets as a read shows them (seen.h). It is not the keyring: it
 * opens through it, compares, and wipes what it opened; it seals nothing. */
#include "runtime/providers/seen.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/keyring.h"

static json_t *marker(const char *what) { return json_pack("{s:{s:b}}", "$secret", what, 1); }

json_t *mk_prov_seen_unknown(void) { return marker("unknown"); }

json_t *mk_prov_seen_differs(void) { return marker("differs"); }

bool mk_prov_seen_is_secret(json_t *v) { return json_is_object(v) && json_object_get(v, "$secret") != NULL; }

bool mk_prov_seen_holds_secret(json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;
    if (mk_prov_seen_is_secret(v))
        return true;
    json_object_foreach(v, k, x)
        if (mk_prov_seen_holds_secret(x))
            return true;
    json_array_foreach(v, i, x)
        if (mk_prov_seen_holds_secret(x))
            return true;
    return false;
}

static void wipe(char *t)
{
    if (!t)
        return;
    memset(t, 0, strlen(t));
    free(t);
}

json_t *mk_prov_seen_text(const mk_prov_op *op, const char *attr, json_t *recorded, const char *have, size_t n)
{
    char *want = op->keys ? mk_keyring_open_attr(op->keys, recorded, op->address, attr) : NULL;
    if (!want)
        return marker("unknown");
    bool same = strlen(want) == n && memcmp(want, have, n) == 0;
    wipe(want);
    return same ? json_deep_copy(recorded) : marker("differs");
}

json_t *mk_prov_seen_value(const mk_prov_op *op, const char *attr, json_t *recorded, json_t *held)
{
    if (json_equal(recorded, held))
        return json_deep_copy(recorded);
    if (json_is_string(held))
        return mk_prov_seen_text(op, attr, recorded, json_string_value(held), json_string_length(held));
    if (!mk_prov_seen_is_secret(held) || !op->keys)
        return marker("differs");
    /* held sealed with a key this executor no longer has: a key rotation
     * re-seals the state, not what the world holds, so nothing can be said
     * against the record, which stands */
    char *have = mk_keyring_open_attr(op->keys, held, op->address, attr);
    json_t *out = have ? mk_prov_seen_text(op, attr, recorded, have, strlen(have)) : json_deep_copy(recorded);
    wipe(have);
    return out;
}
