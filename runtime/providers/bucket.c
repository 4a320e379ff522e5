/* bucket — the name, the enforceability table and the read's form shared
 * by the object-storage providers (bucket.h). */
#include "runtime/providers/bucket.h"

#include <stdio.h>
#include <string.h>

bool mk_prov_bucket_name(const char *address, char *buf, size_t n)
{
    if (n < 64)
        return false;
    /* the resource name and index: after the last "bucket." ahead of any
     * index (a module's address has its path first) */
    const char *idx = strchr(address, '['), *start = address;
    for (const char *p = address; (p = strstr(p, "bucket.")) && (!idx || p < idx); p++)
        if (p == address || p[-1] == '.')
            start = p + strlen("bucket.");
    size_t k = 0;
    for (const char *p = start; *p && k < 63; p++) {
        char c = *p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p;
        bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (keep)
            buf[k++] = c;
        else if (k > 0 && buf[k - 1] != '-')
            buf[k++] = '-';
    }
    while (k > 0 && buf[k - 1] == '-')
        k--;
    while (k < 3) /* `x`, not a digit: `bucket.k2` must not become `bucket.k20`'s name */
        buf[k++] = 'x';
    buf[k] = 0;
    return true;
}

bool mk_prov_bucket_name_of(json_t *attrs, const char *address, char *buf, size_t n)
{
    const char *s = json_string_value(json_object_get(attrs, "bucket_name"));
    if (s) {
        int w = snprintf(buf, n, "%s", s);
        return w >= 0 && (size_t)w < n;
    }
    return mk_prov_bucket_name(address, buf, n);
}

bool mk_prov_bucket_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n < 3 || n > 63 || name[0] == '-' || name[n - 1] == '-' || strstr(name, "--"))
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

static const struct api {
    const char *name;
    unsigned bit;
} APIS[] = {
    {"encryption", MK_BUCKET_API_ENCRYPTION}, {"versioning", MK_BUCKET_API_VERSIONING},
    {"public_access_block", MK_BUCKET_API_PUBLIC_ACCESS_BLOCK}, {"tagging", MK_BUCKET_API_TAGGING},
    {"policy", MK_BUCKET_API_POLICY}, {"public_access", MK_BUCKET_API_PUBLIC_ACCESS},
};

bool mk_prov_bucket_apis(json_t *implements, unsigned dflt, unsigned *out, char *why, size_t whylen)
{
    *out = implements ? 0 : dflt;
    size_t i;
    json_t *v;
    json_array_foreach(implements, i, v) {
        const char *s = json_string_value(v);
        size_t k = 0;
        while (s && k < sizeof APIS / sizeof *APIS && strcmp(APIS[k].name, s) != 0)
            k++;
        if (!s || k == sizeof APIS / sizeof *APIS)
            return snprintf(why, whylen, "implements: `%s` is not a bucket API (encryption, versioning, "
                            "public_access_block, tagging, policy, public_access)", s ? s : "?"), false;
        *out |= APIS[k].bit;
    }
    return true;
}

static int vouch(json_t *vouches, const char *key)
{
    json_t *v = json_object_get(vouches, key);
    return json_is_boolean(v) ? json_is_true(v) : -1;
}

void mk_prov_bucket_vouches(json_t *vouches, mk_prov_bucket_backend *b)
{
    b->vouch_encrypted = vouch(vouches, "encrypted");
    b->vouch_versioning = vouch(vouches, "versioning");
    b->vouch_public_access_block = vouch(vouches, "public_access_block");
}

/* note [bucket enforce]
 * An attribute is enforced when the backend sets it (its API implemented
 * by the server behind the connection) or the connection vouches for it
 * (the server or the account holds it by itself: a MinIO encrypting every
 * object, an Azure account's versioning). The "not asked" values — null,
 * false for a flag nobody must switch on, {} for tags, "standard" — need
 * neither: moksha sets nothing and, the API not implemented, asks nothing.
 * A value the backend can neither set nor be vouched for is refused before
 * the first step, so an apply never reports as made what the server does
 * not hold. */

typedef struct refusals {
    char *why;
    size_t len, cap, n;
} refusals;

static void refuse(refusals *r, const char *what)
{
    int w = snprintf(r->why + r->len, r->len < r->cap ? r->cap - r->len : 0, "%s%s", r->n ? "; " : "", what);
    if (w > 0)
        r->len = r->len + (size_t)w < r->cap ? r->len + (size_t)w : r->cap;
    r->n++;
}

static int flag(json_t *attrs, const char *name)
{
    json_t *v = json_object_get(attrs, name);
    return json_is_boolean(v) ? json_is_true(v) : -1;
}

/* why an API-backed attribute cannot be enforced, naming the keys */
static void missing(refusals *r, const mk_prov_bucket_backend *b, const char *what, unsigned api, const char *api_name,
                    const char *vouch_key)
{
    char m[400];
    const char *sep = (b->settable & api) && vouch_key ? " or " : "";
    char imp[120] = "", vch[120] = "";
    if (b->settable & api)
        snprintf(imp, sizeof imp, "\"%s\" in connections.%s.implements", api_name, b->conn);
    if (vouch_key)
        snprintf(vch, sizeof vch, "\"vouches\": {\"%s\": …} on connections.%s", vouch_key, b->conn);
    snprintf(m, sizeof m, "%s (would need %s%s%s)", what, imp, sep, vch);
    refuse(r, m);
}

static void check_flags(refusals *r, const mk_prov_bucket_backend *b, json_t *attrs)
{
    int enc = flag(attrs, "encrypted"), ver = flag(attrs, "versioning"), pab = flag(attrs, "public_access_block");
    if (enc == 1 && !(b->implements & MK_BUCKET_API_ENCRYPTION) && b->vouch_encrypted != 1 && !b->always_encrypted)
        missing(r, b, "encrypted = true", MK_BUCKET_API_ENCRYPTION, "encryption", "encrypted");
    if (enc == 0 && (b->always_encrypted || b->vouch_encrypted == 1))
        refuse(r, b->always_encrypted ? "encrypted = false (the service encrypts every object at rest: it cannot hold)"
                                      : "encrypted = false (the connection vouches that the server encrypts every "
                                        "object: it cannot hold)");
    if (json_is_string(json_object_get(attrs, "kms_key")) &&
        (enc == 0 || !(b->implements & b->settable & MK_BUCKET_API_ENCRYPTION)))
        missing(r, b, "kms_key (set by the bucket's encryption, with encrypted = true)", MK_BUCKET_API_ENCRYPTION,
                "encryption", NULL);
    if (ver == 1 && !(b->implements & MK_BUCKET_API_VERSIONING) && b->vouch_versioning != 1)
        missing(r, b, "versioning = true", MK_BUCKET_API_VERSIONING, "versioning", "versioning");
    if (ver == 0 && b->vouch_versioning == 1)
        refuse(r, "versioning = false (the connection vouches that every bucket is versioned: it cannot hold)");
    if (pab == 1 && !(b->implements & MK_BUCKET_API_PUBLIC_ACCESS_BLOCK) && b->vouch_public_access_block != 1)
        missing(r, b, "public_access_block = true", MK_BUCKET_API_PUBLIC_ACCESS_BLOCK, "public_access_block",
                "public_access_block");
    if (pab == 0 && !(b->implements & MK_BUCKET_API_PUBLIC_ACCESS_BLOCK) && b->vouch_public_access_block != 0)
        missing(r, b, "public_access_block = false", MK_BUCKET_API_PUBLIC_ACCESS_BLOCK, "public_access_block",
                "public_access_block");
    if (flag(attrs, "public") == 1 && !(b->implements & (MK_BUCKET_API_POLICY | MK_BUCKET_API_PUBLIC_ACCESS)))
        missing(r, b, "public = true", b->settable & MK_BUCKET_API_POLICY ? MK_BUCKET_API_POLICY : MK_BUCKET_API_PUBLIC_ACCESS,
                b->settable & MK_BUCKET_API_POLICY ? "policy" : "public_access", NULL);
    if (json_object_size(json_object_get(attrs, "tags")) > 0 && !(b->implements & MK_BUCKET_API_TAGGING))
        missing(r, b, "tags", MK_BUCKET_API_TAGGING, "tagging", NULL);
}

/* attributes no bucket API of these backends sets: only their "not asked"
 * value passes */
static void check_unset(refusals *r, json_t *attrs)
{
    static const char *const FLAGS[] = {"public_write", "authenticated_read", "access_logging", "lifecycle_rules",
                                        "replication", "private_endpoint"};
    char m[160];
    for (size_t i = 0; i < sizeof FLAGS / sizeof *FLAGS; i++)
        if (flag(attrs, FLAGS[i]) == 1)
            snprintf(m, sizeof m, "%s = true (not set by this provider)", FLAGS[i]), refuse(r, m);
    static const char *const NULLS[] = {"retention", "redundancy"};
    for (size_t i = 0; i < sizeof NULLS / sizeof *NULLS; i++) {
        json_t *v = json_object_get(attrs, NULLS[i]);
        if (v && !json_is_null(v))
            snprintf(m, sizeof m, "%s (not set by this provider: leave it null)", NULLS[i]), refuse(r, m);
    }
    const char *sc = json_string_value(json_object_get(attrs, "storage_class"));
    if (sc && strcmp(sc, "standard") != 0)
        snprintf(m, sizeof m, "storage_class = \"%.40s\" (a bucket has no storage class here: only \"standard\")", sc),
            refuse(r, m);
}

size_t mk_prov_bucket_refusals(const mk_prov_bucket_backend *b, const char *address, json_t *attrs, char *why,
                               size_t whylen)
{
    int w = snprintf(why, whylen, "%s: %s: cannot be enforced on connection %s: ", b->kind, address, b->conn);
    refusals r = {.why = why, .len = w > 0 && (size_t)w < whylen ? (size_t)w : 0, .cap = whylen};
    check_flags(&r, b, attrs);
    check_unset(&r, attrs);
    if (!r.n && whylen)
        why[0] = 0;
    return r.n;
}

static void put_flag(json_t *o, const char *name, int v)
{
    if (v >= 0)
        json_object_set_new(o, name, json_boolean(v));
}

json_t *mk_prov_bucket_form(json_t *recorded, const mk_prov_bucket_seen *s)
{
    json_t *o = json_is_object(recorded) ? json_deep_copy(recorded) : json_object();
    if (!o)
        return NULL;
    put_flag(o, "encrypted", s->encrypted);
    put_flag(o, "versioning", s->versioning);
    put_flag(o, "public", s->public_read);
    /* public_access_block: null recorded is "not asked"; seen off, it stays null */
    if (s->public_access_block >= 0 && !(s->public_access_block == 0 && json_is_null(json_object_get(o, "public_access_block"))))
        put_flag(o, "public_access_block", s->public_access_block);
    if (s->encrypted >= 0)
        json_object_set_new(o, "kms_key", s->kms_key ? json_string(s->kms_key) : json_null());
    if (s->tags)
        json_object_set(o, "tags", s->tags);
    if (s->id)
        json_object_set_new(o, "id", json_string(s->id));
    if (s->endpoint)
        json_object_set_new(o, "endpoint", json_string(s->endpoint));
    return o;
}
