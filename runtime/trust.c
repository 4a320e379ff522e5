/* trust — reading and checking the trust file (jansson, duplicate keys
 * refused at every depth), its record KEYS/trust.seen, and Ed25519
 * signatures over typed messages (OpenSSL EVP). Every refusal begins with
 * the file it is about and says which rule of docs/trust.md it breaks.
 *
 * note [current roots]: the roots a trust file must be signed by are those
 * of the last file accepted (trust.seen) — a file that changed the roots
 * hands the trust over to the new ones — unless the configuration's pinned
 * roots are not the ones trust.seen was written under: whoever owns the
 * configuration re-pinned them, and decides. Before any file was accepted
 * they are the pinned ones. A file whose roots differ from the current ones
 * needs both thresholds, so neither the old roots alone nor new keys alone
 * can move the trust. */
#include "runtime/trust.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/errmsg.h"
#include "runtime/fileio.h"
#include "runtime/sha256.h"

#define SIG_PREFIX "moksha-signature/v1"
#define KEY_PREFIX "ed25519:"
#define MAX_FILE (1u << 20) /* a trust file of thousands of keys is well below */
#define MAX_NAME 64
#define MAX_KEYS 4096
#define MAX_SIGS 64
#define DOC "docs/trust.md, \"The trust file\""

typedef struct roots {
    int threshold;
    size_t n;
    uint8_t key[MK_CONFIG_MAX_ROOTS][32];
} roots;

/* One planner, automation identity or approver. */
typedef struct entry {
    uint8_t raw[32];
    unsigned role;
    char name[MAX_NAME + 1];
} entry;

struct mk_trust {
    char path[PATH_MAX];
    long long version;
    char expires[21];
    time_t expires_at;
    char digest[65];
    roots roots;
    entry *keys;
    size_t nkeys;
    uint8_t (*revoked)[32];
    size_t nrevoked;
    size_t ngroups;
    json_t *doc;    /* the payload accepted, for the lookups below (groups, boundaries, environments) */
    long long seen; /* the version trust.seen recorded before this one, 0 when none */
};

/* What trust.seen says: the last file accepted, and the pinned roots it was
 * accepted under (note [current roots]). */
typedef struct seen {
    bool have;
    long long version;
    char digest[65];
    roots roots, pinned;
    uint8_t (*revoked)[32]; /* the keys that file revoked (note [revoked roots]) */
    size_t nrevoked;
    bool has_revoked;       /* false for a record written before it listed them */
} seen;

/* The distinct keys whose signatures over the payload verify. */
typedef struct sigs {
    size_t n, invalid;
    uint8_t key[MAX_SIGS][32];
} sigs;

/* ---- keys and signatures ---- */

/* text is the canonical base64 of exactly want bytes (at most 64). */
static bool b64_exact(const char *text, uint8_t *out, size_t want)
{
    uint8_t buf[96];
    char again[96];
    size_t len = 4 * ((want + 2) / 3);
    if (!text || strlen(text) != len || EVP_DecodeBlock(buf, (const unsigned char *)text, (int)len) < (int)want)
        return false;
    EVP_EncodeBlock((unsigned char *)again, buf, (int)want);
    if (strcmp(again, text) != 0) /* other bits in the padding: not the text `moksha key new` writes */
        return false;
    memcpy(out, buf, want);
    return true;
}

bool mk_trust_key_parse(const char *text, uint8_t raw[32])
{
    return text && strncmp(text, KEY_PREFIX, 8) == 0 && b64_exact(text + 8, raw, 32);
}

static void key_text(const uint8_t raw[32], char out[53])
{
    memcpy(out, KEY_PREFIX, 8);
    EVP_EncodeBlock((unsigned char *)out + 8, raw, 32);
}

void mk_trust_key_id(const uint8_t raw[32], char id[17])
{
    char hex[65];
    mk_sha256_hex(raw, 32, hex);
    memcpy(id, hex, 16);
    id[16] = 0;
}

bool mk_trust_verify(const char *type, const void *payload, size_t n, const uint8_t pub[32], const char *value)
{
    uint8_t sig[64];
    if (!b64_exact(value, sig, 64))
        return false;
    size_t pn = sizeof SIG_PREFIX, tn = strlen(type) + 1; /* each with its 0 byte */
    uint8_t *msg = malloc(pn + tn + n);
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = msg && k && md;
    if (ok) {
        memcpy(msg, SIG_PREFIX, pn);
        memcpy(msg + pn, type, tn);
        memcpy(msg + pn + tn, payload, n);
        ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) == 1 && EVP_DigestVerify(md, sig, 64, msg, pn + tn + n) == 1;
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    free(msg);
    return ok;
}

/* ---- roots ---- */

/* Is raw one of the n keys? */
static bool among(const uint8_t (*keys)[32], size_t n, const uint8_t raw[32])
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(keys[i], raw, 32) == 0)
            return true;
    return false;
}

static bool roots_has(const roots *r, const uint8_t raw[32]) { return among(r->key, r->n, raw); }

/* The same threshold and the same keys, in any order. */
static bool roots_same(const roots *a, const roots *b)
{
    if (a->threshold != b->threshold || a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!roots_has(b, a->key[i]))
            return false;
    return true;
}

/* {"threshold": N, "keys": [...]} into r; NULL, or what is wrong with it. */
static const char *roots_parse(json_t *v, roots *r)
{
    json_t *keys = json_object_get(v, "keys"), *th = json_object_get(v, "threshold"), *e;
    size_t i;
    memset(r, 0, sizeof *r);
    if (!json_is_object(v) || json_object_size(v) != (size_t)(keys != NULL) + (th != NULL) || !json_is_array(keys) ||
        json_array_size(keys) == 0 || json_array_size(keys) > MK_CONFIG_MAX_ROOTS)
        return "expected {\"threshold\": N, \"keys\": [1 to 16 root keys]} and nothing else";
    json_array_foreach(keys, i, e) {
        if (!mk_trust_key_parse(json_string_value(e), r->key[r->n]))
            return "a root key is not \"ed25519:\" and the base64 of 32 bytes";
        if (roots_has(r, r->key[r->n]))
            return "the same root key twice";
        r->n++;
    }
    if (!json_is_integer(th) || json_integer_value(th) < 1 || json_integer_value(th) > (json_int_t)r->n)
        return "the threshold is not a whole number from 1 to the number of root keys";
    r->threshold = (int)json_integer_value(th);
    return NULL;
}

static json_t *roots_json(const roots *r)
{
    json_t *keys = json_array();
    for (size_t i = 0; i < r->n; i++) {
        char text[53];
        key_text(r->key[i], text);
        json_array_append_new(keys, json_string(text));
    }
    return json_pack("{s:i, s:o}", "threshold", r->threshold, "keys", keys);
}

static bool roots_of_config(const mk_config_trust *cfg, roots *r, char *why, size_t whylen)
{
    memset(r, 0, sizeof *r);
    r->threshold = cfg->threshold;
    for (size_t i = 0; i < cfg->nroots && i < MK_CONFIG_MAX_ROOTS; i++)
        if (!mk_trust_key_parse(cfg->roots[i], r->key[r->n++]))
            return snprintf(why, whylen, "the configuration's trust.roots.keys[%zu] is not an Ed25519 public key", i),
                   false;
    return true;
}

/* ---- the payload ---- */

typedef struct chk {
    mk_trust *t;
    char *why;
    size_t whylen;
} chk;

__attribute__((format(printf, 2, 3))) static bool refuse(chk *c, const char *fmt, ...)
{
    int k = snprintf(c->why, c->whylen, "%s: ", c->t->path);
    va_list ap;
    va_start(ap, fmt);
    if (k >= 0 && (size_t)k < c->whylen)
        vsnprintf(c->why + k, c->whylen - (size_t)k, fmt, ap);
    va_end(ap);
    return false;
}

static bool name_ok(const char *s)
{
    static const char first[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    size_t n = strlen(s);
    return n && n <= MAX_NAME && strchr(first, s[0]) && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* Unknown fields are refused: a trust file a newer moksha wrote, or a
 * misspelt field, must not be half understood. */
static bool only(chk *c, const char *where, json_t *o, const char *at, const char *const *known)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        const char *const *p = known;
        while (*p && strcmp(*p, k) != 0)
            p++;
        if (!*p)
            return refuse(c, "%s`%s%s%.64s`: unknown field (" DOC ")", where, at, *at ? "." : "", k);
    }
    return true;
}

static bool key_at(chk *c, json_t *v, const char *at, uint8_t raw[32])
{
    if (!mk_trust_key_parse(json_string_value(v), raw))
        return refuse(c, "payload `%s`: expected a public key, \"ed25519:\" and the base64 of 32 bytes (`moksha key new`)", at);
    return true;
}

static const char *role_word(unsigned role)
{
    return role == MK_TRUST_PLANNER ? "planner" : role == MK_TRUST_AUTOMATION ? "automation" : "approver";
}

/* One identity's key. A root key signs only trust files; planner and
 * automation are distinct roles, and so are automation and approver (an
 * automation identity never approves); a key serves one identity per role
 * (an approver may plan with the same key). */
static bool add_key(chk *c, const uint8_t raw[32], unsigned role, const char *name, const char *at)
{
    mk_trust *t = c->t;
    const unsigned plan = MK_TRUST_PLANNER | MK_TRUST_AUTOMATION, bot = MK_TRUST_AUTOMATION | MK_TRUST_APPROVER;
    if (roots_has(&t->roots, raw))
        return refuse(c, "payload `%s`: a root key; root keys sign only trust files (keep them offline, apart from "
                      "planner, automation and approver keys)", at);
    for (size_t i = 0; i < t->nkeys; i++) {
        const entry *e = &t->keys[i];
        unsigned both = e->role | role;
        if (memcmp(e->raw, raw, 32) == 0 && ((e->role & role) || (both & plan) == plan || (both & bot) == bot))
            return refuse(c, "payload `%s`: the same key as %s `%s`: %s", at, role_word(e->role), e->name,
                          (e->role & role)       ? "one key, one identity"
                          : (both & bot) == bot ? "an automation identity never approves; give the approver a key of "
                                                  "their own"
                                                : "planner and automation keys are distinct roles");
    }
    if (t->nkeys == MAX_KEYS)
        return refuse(c, "payload `%s`: more than %d keys", at, MAX_KEYS);
    if (t->nkeys % 64 == 0) {
        entry *more = realloc(t->keys, (t->nkeys + 64) * sizeof *more);
        if (!more)
            return refuse(c, "out of memory");
        t->keys = more;
    }
    entry *e = &t->keys[t->nkeys++];
    memcpy(e->raw, raw, 32);
    e->role = role;
    snprintf(e->name, sizeof e->name, "%s", name);
    return true;
}

/* A field that maps names to something: an object, each name well formed. */
static bool names_at(chk *c, json_t *v, const char *field)
{
    const char *k;
    json_t *x;
    if (!json_is_object(v))
        return refuse(c, "payload `%s`: expected an object of names", field);
    json_object_foreach(v, k, x)
        if (!name_ok(k))
            return refuse(c, "payload `%s`: `%.64s` is not a name ([a-z0-9][a-z0-9_-]*, at most %d characters)", field, k,
                          MAX_NAME);
    return true;
}

/* "planners" or "approvers": {NAME: KEY}. */
static bool read_named(chk *c, json_t *v, const char *field, unsigned role)
{
    const char *k;
    json_t *x;
    if (!v)
        return true;
    if (!names_at(c, v, field))
        return false;
    json_object_foreach(v, k, x) {
        char at[128];
        uint8_t raw[32];
        snprintf(at, sizeof at, "%s.%s", field, k);
        if (!key_at(c, x, at, raw) || !add_key(c, raw, role, k, at))
            return false;
    }
    return true;
}

/* ---- part 2: boundaries, rules per environment, break glass (docs/trust.md,
 * "Autonomy boundaries", "Rules per environment", "Break glass") ---- */

static const char *const RISKS[] = {"low", "medium", "high", NULL};
static const char *const ACTIONS[] = {"create", "update", "delete", "replace", "import", "move", NULL};
static const char *const DAYS[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};

static bool one_of(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

/* A resource type's name as a plan writes it: `compute`, `postgres.role`. */
static bool type_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 128 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.") != n || s[0] == '.' || s[n - 1] == '.')
        return false;
    return strstr(s, "..") == NULL && !(s[0] >= '0' && s[0] <= '9');
}

static bool env_ok(const char *s) { return !*s || name_ok(s); } /* "": a plan of no environment */
static bool risk_ok(const char *s) { return one_of(s, RISKS); }
static bool action_ok(const char *s) { return one_of(s, ACTIONS); }
static bool day_ok(const char *s) { return one_of(s, DAYS); }

static bool pack_ok(const char *s) { return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64; }

/* A list of one or more distinct strings, each of what `ok` takes; what
 * says what they are, in the refusal. */
static bool str_list(chk *c, json_t *v, const char *at, bool (*ok)(const char *), const char *what)
{
    size_t i, j;
    json_t *x;
    if (!json_is_array(v) || !json_array_size(v) || json_array_size(v) > MAX_KEYS)
        return refuse(c, "payload `%s`: expected a list of one or more %s (leave the field out for no limit)", at, what);
    json_array_foreach(v, i, x) {
        const char *s = json_string_value(x);
        if (!s || !ok(s))
            return refuse(c, "payload `%s[%zu]`: %s%.64s%s is not one of %s", at, i, s ? "`" : "", s ? s : "not a string",
                          s ? "`" : "", what);
        for (j = 0; j < i; j++)
            if (strcmp(json_string_value(json_array_get(v, j)), s) == 0)
                return refuse(c, "payload `%s[%zu]`: `%s` twice", at, i, s);
    }
    return true;
}

/* "HH:MM", 00:00 to 24:00, in minutes; -1 otherwise. */
static int minutes(const char *s)
{
    if (!s || strlen(s) != 5 || s[2] != ':' || strspn(s, "0123456789:") != 5)
        return -1;
    int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
    return h > 24 || m > 59 || (h == 24 && m) ? -1 : h * 60 + m;
}

static bool read_window(chk *c, json_t *w, const char *at)
{
    static const char *const known[] = {"days", "from", "to", NULL};
    char dat[400];
    if (!json_is_object(w))
        return refuse(c, "payload `%s`: expected {\"days\": [\"mon\", …], \"from\": \"HH:MM\", \"to\": \"HH:MM\"} (UTC)", at);
    if (!only(c, "payload ", w, at, known))
        return false;
    snprintf(dat, sizeof dat, "%s.days", at);
    if (!str_list(c, json_object_get(w, "days"), dat, day_ok, "the days mon, tue, wed, thu, fri, sat, sun"))
        return false;
    int from = minutes(json_string_value(json_object_get(w, "from"))), to = minutes(json_string_value(json_object_get(w, "to")));
    if (from < 0 || from == 24 * 60 || to < 0)
        return refuse(c, "payload `%s`: `from` and `to` are UTC times \"HH:MM\" (`from` 00:00 to 23:59, `to` up to 24:00)", at);
    if (from >= to)
        return refuse(c, "payload `%s`: `from` %s is not before `to` %s: a window lies within one day (split one that "
                      "spans midnight in two, \"to\": \"24:00\" and \"from\": \"00:00\")", at,
                      json_string_value(json_object_get(w, "from")), json_string_value(json_object_get(w, "to")));
    return true;
}

/* Money text: whole dollars, and at most 6 digits of cents and below. */
static bool money_ok(const char *s)
{
    size_t n = s ? strspn(s, "0123456789") : 0;
    if (!n || n > 12)
        return false;
    if (!s[n])
        return true;
    size_t f = strspn(s + n + 1, "0123456789");
    return s[n] == '.' && f >= 1 && f <= 6 && !s[n + 1 + f];
}

/* o's risk field rf (max_risk, min_risk), `types` and `actions`: a
 * boundary's or a required gate's. */
static bool read_filters(chk *c, json_t *o, const char *at, const char *rf)
{
    char f[320];
    json_t *v = json_object_get(o, rf);
    if (v && !risk_ok(json_string_value(v) ?: ""))
        return refuse(c, "payload `%s.%s`: expected \"low\", \"medium\" or \"high\"", at, rf);
    snprintf(f, sizeof f, "%s.types", at);
    if ((v = json_object_get(o, "types")) && !str_list(c, v, f, type_ok, "resource types (compute, postgres.role)"))
        return false;
    snprintf(f, sizeof f, "%s.actions", at);
    return !(v = json_object_get(o, "actions")) ||
           str_list(c, v, f, action_ok, "the actions create, update, delete, replace, import, move");
}

static bool read_boundary(chk *c, json_t *b, const char *at)
{
    static const char *const known[] = {"max_risk", "types", "actions", "environments", "max_cost_increase",
                                        "max_changes", "windows", NULL};
    char f[256];
    json_t *v, *w;
    size_t i;
    if (!b)
        return true;
    if (!json_is_object(b))
        return refuse(c, "payload `%s`: expected an object ({} is the default boundary: low-risk changes only)", at);
    if (!only(c, "payload ", b, at, known))
        return false;
    snprintf(f, sizeof f, "%s.environments", at);
    if (!read_filters(c, b, at, "max_risk") ||
        ((v = json_object_get(b, "environments")) &&
         !str_list(c, v, f, env_ok, "environments' names (\"\" for a plan of no environment)")))
        return false;
    if ((v = json_object_get(b, "max_cost_increase")) && !money_ok(json_string_value(v)))
        return refuse(c, "payload `%s.max_cost_increase`: expected US dollars a month as money text, \"50.00\"", at);
    if ((v = json_object_get(b, "max_changes")) &&
        (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000000))
        return refuse(c, "payload `%s.max_changes`: expected a whole number from 1 up (changes in one apply)", at);
    if (!(v = json_object_get(b, "windows")))
        return true;
    if (!json_is_array(v) || !json_array_size(v) || json_array_size(v) > 64)
        return refuse(c, "payload `%s.windows`: expected a list of 1 to 64 windows (leave it out for always)", at);
    json_array_foreach(v, i, w) {
        snprintf(f, sizeof f, "%s.windows[%zu]", at, i);
        if (!read_window(c, w, f))
            return false;
    }
    return true;
}

/* groups.NAME of the payload p must exist and have at least count members. */
static bool group_for(chk *c, json_t *p, json_t *g, json_int_t count, const char *at)
{
    const char *name = json_string_value(g);
    json_t *m = name ? json_object_get(json_object_get(p, "groups"), name) : NULL;
    if (!name)
        return refuse(c, "payload `%s.group`: expected the name of a group of `groups`", at);
    if (!m)
        return refuse(c, "payload `%s.group`: `%.64s` is no group of `groups`", at, name);
    if ((size_t)count > json_array_size(m))
        return refuse(c, "payload `%s.count`: %lld, but group `%s` has %zu member%s: it could never open", at,
                      (long long)count, name, json_array_size(m), json_array_size(m) == 1 ? "" : "s");
    return true;
}

static bool read_gate(chk *c, json_t *p, json_t *g, const char *at)
{
    static const char *const known[] = {"group", "count", "actions", "types", "min_risk", NULL};
    json_t *n = json_object_get(g, "count");
    if (!json_is_object(g))
        return refuse(c, "payload `%s`: expected {\"group\": GROUP, \"count\": N, \"actions\", \"types\", \"min_risk\"}", at);
    if (!only(c, "payload ", g, at, known))
        return false;
    if (n && (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > 16))
        return refuse(c, "payload `%s.count`: expected a whole number from 1 to 16", at);
    return group_for(c, p, json_object_get(g, "group"), n ? json_integer_value(n) : 1, at) &&
           read_filters(c, g, at, "min_risk");
}

/* "environments": {ENV: {"policy_packs": [DIGEST…], "gates": {NAME: GATE}}}. */
static bool read_environments(chk *c, json_t *p)
{
    static const char *const known[] = {"policy_packs", "gates", NULL};
    json_t *v = json_object_get(p, "environments"), *e, *g;
    const char *k, *gn;
    if (!v)
        return true;
    if (!json_is_object(v))
        return refuse(c, "payload `environments`: expected an object of environments' names");
    json_object_foreach(v, k, e) {
        char at[128], gat[256];
        snprintf(at, sizeof at, "environments.%.64s", k);
        if (!env_ok(k))
            return refuse(c, "payload `environments`: `%.64s` is not an environment's name ([a-z0-9][a-z0-9_-]*, or "
                          "\"\" for plans of no environment)", k);
        if (!json_is_object(e))
            return refuse(c, "payload `%s`: expected {\"policy_packs\": [...], \"gates\": {...}}", at);
        if (!only(c, "payload ", e, at, known))
            return false;
        snprintf(gat, sizeof gat, "%s.policy_packs", at);
        if ((g = json_object_get(e, "policy_packs")) &&
            !str_list(c, g, gat, pack_ok, "policy packs' digests (64 lowercase hex: `moksha policy digest DIR`)"))
            return false;
        if (!(g = json_object_get(e, "gates")))
            continue;
        snprintf(gat, sizeof gat, "%s.gates", at);
        if (!names_at(c, g, gat))
            return false;
        json_t *one;
        json_object_foreach(g, gn, one) {
            snprintf(gat, sizeof gat, "%s.gates.%s", at, gn);
            if (!read_gate(c, p, one, gat))
                return false;
        }
    }
    return true;
}

/* "break_glass": {"group": GROUP, "count": N}, N at least 2. */
static bool read_break_glass(chk *c, json_t *p)
{
    static const char *const known[] = {"group", "count", NULL};
    json_t *v = json_object_get(p, "break_glass"), *n;
    if (!v)
        return true;
    if (!json_is_object(v))
        return refuse(c, "payload `break_glass`: expected {\"group\": GROUP, \"count\": N}");
    if (!only(c, "payload ", v, "break_glass", known))
        return false;
    n = json_object_get(v, "count");
    if (n && (!json_is_integer(n) || json_integer_value(n) < 2 || json_integer_value(n) > 16))
        return refuse(c, "payload `break_glass.count`: expected a whole number from 2 to 16: breaking the glass "
                      "always takes two people");
    return group_for(c, p, json_object_get(v, "group"), n ? json_integer_value(n) : 2, "break_glass");
}

/* "automation": {NAME: {"key": KEY, "boundary": BOUNDARY}}. */
static bool read_automation(chk *c, json_t *v)
{
    static const char *const known[] = {"key", "boundary", NULL};
    const char *k;
    json_t *x;
    if (!v)
        return true;
    if (!names_at(c, v, "automation"))
        return false;
    json_object_foreach(v, k, x) {
        char at[128], bat[144];
        uint8_t raw[32];
        snprintf(at, sizeof at, "automation.%s", k);
        snprintf(bat, sizeof bat, "%s.boundary", at);
        if (!json_is_object(x))
            return refuse(c, "payload `%s`: expected {\"key\": KEY, \"boundary\": {…}}", at);
        if (!only(c, "payload ", x, at, known) || !read_boundary(c, json_object_get(x, "boundary"), bat))
            return false;
        snprintf(at + strlen(at), sizeof at - strlen(at), ".key");
        if (!key_at(c, json_object_get(x, "key"), at, raw) || !add_key(c, raw, MK_TRUST_AUTOMATION, k, at))
            return false;
    }
    return true;
}

static bool is_approver(const mk_trust *t, const char *name)
{
    for (size_t i = 0; i < t->nkeys; i++)
        if ((t->keys[i].role & MK_TRUST_APPROVER) && strcmp(t->keys[i].name, name) == 0)
            return true;
    return false;
}

/* "groups": {NAME: [APPROVER, …]}, each member an approver, once. */
static bool read_groups(chk *c, json_t *v)
{
    const char *k;
    json_t *x, *m;
    size_t i, j;
    if (!v)
        return true;
    if (!names_at(c, v, "groups"))
        return false;
    json_object_foreach(v, k, x) {
        if (!json_is_array(x) || json_array_size(x) == 0)
            return refuse(c, "payload `groups.%s`: expected a list of one or more approvers' names", k);
        json_array_foreach(x, i, m) {
            const char *who = json_string_value(m);
            if (!who || !is_approver(c->t, who))
                return refuse(c, "payload `groups.%s[%zu]`: %s%.64s%s is no approver (a group's members are names of `approvers`)",
                              k, i, who ? "`" : "", who ? who : "not a name", who ? "`" : "");
            for (j = 0; j < i; j++)
                if (strcmp(json_string_value(json_array_get(x, j)), who) == 0)
                    return refuse(c, "payload `groups.%s[%zu]`: `%s` twice", k, i, who);
        }
        c->t->ngroups++;
    }
    return true;
}

static bool read_revoked(chk *c, json_t *v)
{
    size_t i;
    json_t *x;
    if (!v)
        return true;
    if (!json_is_array(v) || json_array_size(v) > MAX_KEYS)
        return refuse(c, "payload `revoked`: expected a list of public keys");
    c->t->revoked = calloc(json_array_size(v) + 1, 32);
    json_array_foreach(v, i, x) {
        char at[32];
        snprintf(at, sizeof at, "revoked[%zu]", i);
        if (!c->t->revoked || !key_at(c, x, at, c->t->revoked[i]))
            return c->t->revoked ? false : refuse(c, "out of memory");
        if (among(c->t->revoked, i, c->t->revoked[i]))
            return refuse(c, "payload `%s`: the same key twice", at);
        if (roots_has(&c->t->roots, c->t->revoked[i])) /* note [revoked roots] */
            return refuse(c, "payload `%s`: a key of this file's own `roots`: a root is retired by leaving `roots` "
                          "(which needs both thresholds), not by revoking it", at);
        c->t->nrevoked++;
    }
    return true;
}

/* "2027-06-01T00:00:00Z" exactly, a real UTC time. */
static bool parse_time(const char *s, time_t *out)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    struct tm tm = {0}, back;
    for (size_t i = 0; s && i < sizeof shape; i++)
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return false;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                     &tm.tm_sec) != 6)
        return false;
    int mon = tm.tm_mon, mday = tm.tm_mday, hour = tm.tm_hour, min = tm.tm_min, sec = tm.tm_sec;
    tm.tm_year -= 1900, tm.tm_mon -= 1;
    *out = timegm(&tm);
    /* a field out of its range rolls over into the next (12:30:60 is 12:31:00): every one read back */
    return gmtime_r(out, &back) && back.tm_mon + 1 == mon && back.tm_mday == mday && back.tm_hour == hour &&
           back.tm_min == min && back.tm_sec == sec;
}

static bool read_header(chk *c, json_t *p)
{
    json_t *v = json_object_get(p, "version");
    const char *e = json_string_value(json_object_get(p, "expires")), *bad;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > (1LL << 53))
        return refuse(c, "payload `version`: expected a whole number from 1 up (" DOC ")");
    c->t->version = json_integer_value(v);
    if (!parse_time(e, &c->t->expires_at))
        return refuse(c, "payload `expires`: expected a UTC time as \"2027-06-01T00:00:00Z\"");
    snprintf(c->t->expires, sizeof c->t->expires, "%s", e);
    if ((bad = roots_parse(json_object_get(p, "roots"), &c->t->roots)))
        return refuse(c, "payload `roots`: %s", bad);
    return true;
}

static bool read_payload(chk *c, const char *text, size_t n)
{
    static const char *const known[] = {"version", "expires", "roots", "planners", "automation", "approvers",
                                        "groups", "revoked", "environments", "break_glass", NULL};
    json_error_t je;
    json_t *p = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    if (!p) { /* "FILE: payload:LINE:COL: a key appears twice in one object" */
        char what[PATH_MAX + 16];
        snprintf(what, sizeof what, "%s: payload", c->t->path);
        mk_errmsg_json(what, &je, text, n, c->why, c->whylen);
        return false;
    }
    bool ok = json_is_object(p) ? only(c, "payload ", p, "", known) && read_header(c, p) &&
                                      read_named(c, json_object_get(p, "planners"), "planners", MK_TRUST_PLANNER) &&
                                      read_automation(c, json_object_get(p, "automation")) &&
                                      read_named(c, json_object_get(p, "approvers"), "approvers", MK_TRUST_APPROVER) &&
                                      read_groups(c, json_object_get(p, "groups")) &&
                                      read_revoked(c, json_object_get(p, "revoked")) && read_environments(c, p) &&
                                      read_break_glass(c, p)
                                : refuse(c, "the payload is not a JSON object (" DOC ")");
    if (ok)
        c->t->doc = json_incref(p);
    json_decref(p);
    return ok;
}

/* ---- the envelope and its signatures ---- */

static bool read_signatures(chk *c, json_t *list, const char *payload, size_t n, sigs *valid)
{
    static const char *const known[] = {"key", "value", NULL};
    size_t i;
    json_t *s;
    if (!json_is_array(list) || json_array_size(list) > MAX_SIGS)
        return refuse(c, "`signatures`: expected a list of at most %d {\"key\", \"value\"}", MAX_SIGS);
    json_array_foreach(list, i, s) {
        uint8_t raw[32];
        const char *val = json_string_value(json_object_get(s, "value"));
        if (!json_is_object(s) || !mk_trust_key_parse(json_string_value(json_object_get(s, "key")), raw) || !val)
            return refuse(c, "`signatures[%zu]`: expected {\"key\": \"ed25519:…\", \"value\": \"base64\"}", i);
        const char *k;
        json_t *x;
        json_object_foreach(s, k, x)
            if (strcmp(k, known[0]) != 0 && strcmp(k, known[1]) != 0)
                return refuse(c, "`signatures[%zu]`: unknown field `%s`", i, k);
        if (!mk_trust_verify("trust", payload, n, raw, val))
            valid->invalid++;
        else if (!among(valid->key, valid->n, raw)) /* one key counts once, however often it signed */
            memcpy(valid->key[valid->n++], raw, 32);
    }
    return true;
}

static bool is_revoked(const mk_trust *t, const uint8_t raw[32]) { return among(t->revoked, t->nrevoked, raw); }

/* How many distinct, unrevoked keys of r signed. */
static int signed_by(const mk_trust *t, const sigs *s, const roots *r)
{
    int n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += roots_has(r, s->key[i]) && !is_revoked(t, s->key[i]);
    return n;
}

static bool read_envelope(chk *c, sigs *valid)
{
    static const char *const known[] = {"format", "payload", "signatures", NULL};
    size_t len = 0;
    struct stat sb;
    if (stat(c->t->path, &sb) == 0 && sb.st_size > MAX_FILE) /* before reading it: anyone may hand us a file */
        return refuse(c, "larger than %u bytes", MAX_FILE);
    char *text = mk_fileio_read(c->t->path, &len);
    if (!text)
        return refuse(c, "%s", strerror(errno));
    json_error_t je;
    json_t *env = len > MAX_FILE ? NULL : json_loadb(text, len, JSON_REJECT_DUPLICATES, &je); /* (grew meanwhile) */
    json_t *pl = json_object_get(env, "payload");
    const char *fmt = json_string_value(json_object_get(env, "format"));
    bool ok = false;
    if (len > MAX_FILE)
        refuse(c, "larger than %u bytes", MAX_FILE);
    else if (!env)
        mk_errmsg_json(c->t->path, &je, text, len, c->why, c->whylen);
    else if (!json_is_object(env) || !fmt || strcmp(fmt, MK_TRUST_FORMAT) != 0)
        refuse(c, "not a " MK_TRUST_FORMAT " file (" DOC ")");
    else if (!json_is_string(pl))
        refuse(c, "`payload`: expected the payload's JSON text, as a string");
    else if (only(c, "", env, "", known)) {
        mk_sha256_hex(json_string_value(pl), json_string_length(pl), c->t->digest);
        ok = read_payload(c, json_string_value(pl), json_string_length(pl)) &&
             read_signatures(c, json_object_get(env, "signatures"), json_string_value(pl), json_string_length(pl), valid);
    }
    json_decref(env);
    free(text);
    return ok;
}

/* The signatures against the current roots, and the new ones when they
 * change (note [current roots]). */
static bool signed_enough(chk *c, const sigs *s, const roots *cur, bool from_seen)
{
    const mk_trust *t = c->t;
    int have = signed_by(t, s, cur), fresh = signed_by(t, s, &t->roots);
    char bad[96] = "";
    if (s->invalid)
        snprintf(bad, sizeof bad, "; %zu signature%s did not verify", s->invalid, s->invalid == 1 ? "" : "s");
    if (have < cur->threshold)
        return refuse(c, "signed by %d of the current roots (%s), below their threshold of %d%s: a trust file needs "
                      "valid signatures of that many distinct, unrevoked root keys (`moksha trust sign`)", have,
                      from_seen ? "those of the last trust file accepted" : "pinned in the executor's configuration",
                      cur->threshold, bad);
    if (!roots_same(&t->roots, cur) && fresh < t->roots.threshold)
        return refuse(c, "changes the roots, so it needs the threshold of the current roots (met) and of the new ones: "
                      "signed by %d of the new roots, below their threshold of %d%s", fresh, t->roots.threshold, bad);
    return true;
}

/* ---- trust.seen ---- */

static bool seen_damaged(const char *path, const char *what, char *why, size_t whylen)
{
    snprintf(why, whylen, "%s is damaged (%s): it records the last trust file the executor accepted; restore it from "
             "a copy (removing it would let an older trust file back in)", path, what);
    return false;
}

static bool seen_revoked(json_t *rv, seen *s)
{
    size_t i;
    json_t *x;
    if (!json_is_array(rv) || json_array_size(rv) > MAX_KEYS || !(s->revoked = calloc(json_array_size(rv) + 1, 32)))
        return false;
    json_array_foreach(rv, i, x)
        if (!mk_trust_key_parse(json_string_value(x), s->revoked[s->nrevoked++]))
            return false;
    return s->has_revoked = true;
}

static bool seen_fields(json_t *d, seen *s, const char *path, char *why, size_t whylen)
{
    const char *fmt = json_string_value(json_object_get(d, "format")), *dig, *bad;
    json_t *v = json_object_get(d, "version");
    dig = json_string_value(json_object_get(d, "digest"));
    json_t *rv = json_object_get(d, "revoked");
    if (!json_is_object(d) || json_object_size(d) != 5u + (rv != NULL) || !fmt || strcmp(fmt, MK_TRUST_SEEN_FORMAT) != 0)
        return seen_damaged(path, "not a " MK_TRUST_SEEN_FORMAT " record", why, whylen);
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return seen_damaged(path, "`version` is not a whole number from 1 up", why, whylen);
    if (!dig || strlen(dig) != 64 || strspn(dig, "0123456789abcdef") != 64)
        return seen_damaged(path, "`digest` is not 64 hex digits", why, whylen);
    if ((bad = roots_parse(json_object_get(d, "roots"), &s->roots)) ||
        (bad = roots_parse(json_object_get(d, "pinned"), &s->pinned)))
        return seen_damaged(path, bad, why, whylen);
    if (rv && !seen_revoked(rv, s))
        return seen_damaged(path, "`revoked` is not a list of public keys", why, whylen);
    s->version = json_integer_value(v);
    memcpy(s->digest, dig, 65);
    s->have = true;
    return true;
}

/* trust.seen's bytes, read through dirfd (the checked key directory) and
 * never through a symlink: a dangling link is no "none accepted yet". NULL
 * with errno ENOENT only when there is no such name at all; *odd says why
 * a file that is there is not the executor's own regular file. */
static char *seen_text(int dirfd, size_t *len, const char **odd)
{
    int fd = openat(dirfd, "trust.seen", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat sb;
    char *text = NULL;
    *odd = NULL;
    if (fd < 0) {
        *odd = errno == ELOOP ? "a symbolic link, not the record itself" : NULL;
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        *odd = "not a regular file";
    else if (sb.st_uid != geteuid())
        *odd = "not owned by the executor's user";
    else if (sb.st_size > (off_t)MAX_FILE)
        *odd = "too large";
    else if ((text = malloc((size_t)sb.st_size + 1))) {
        ssize_t got = read(fd, text, (size_t)sb.st_size + 1);
        *len = got < 0 ? 0 : (size_t)got;
        if (got < 0 || got > sb.st_size)
            *odd = "it changed while read", free(text), text = NULL;
        else
            text[*len] = 0;
    }
    close(fd);
    return text;
}

/* A missing trust.seen is "none accepted yet"; anything else that is not
 * the executor's own whole record is an error, never "none". */
static bool seen_read(int dirfd, const char *path, seen *s, char *why, size_t whylen)
{
    size_t len = 0;
    const char *odd;
    memset(s, 0, sizeof *s);
    errno = 0;
    char *text = seen_text(dirfd, &len, &odd);
    if (odd)
        return seen_damaged(path, odd, why, whylen);
    if (!text && errno == ENOENT)
        return true;
    if (!text)
        return snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno ? errno : ENOMEM)), false;
    json_error_t je;
    json_t *d = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    bool ok = d ? seen_fields(d, s, path, why, whylen) : seen_damaged(path, "not JSON", why, whylen);
    json_decref(d);
    free(text);
    return ok;
}

static bool seen_write(const char *path, const mk_trust *t, const roots *pinned, char *why, size_t whylen)
{
    json_t *rv = json_array();
    for (size_t i = 0; i < t->nrevoked; i++) {
        char k[53];
        key_text(t->revoked[i], k);
        json_array_append_new(rv, json_string(k));
    }
    json_t *d = json_pack("{s:s, s:I, s:s, s:o, s:o, s:o}", "format", MK_TRUST_SEEN_FORMAT, "version",
                          (json_int_t)t->version, "digest", t->digest, "roots", roots_json(&t->roots), "pinned",
                          roots_json(pinned), "revoked", rv);
    char *text = d ? json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    size_t n = text ? strlen(text) : 0;
    bool ok = text && (text[n] = '\n', mk_fileio_write_atomic(path, text, n + 1, true, false));
    if (!ok)
        snprintf(why, whylen, "cannot write %s: %s", path, strerror(errno ? errno : ENOMEM));
    free(text);
    json_decref(d);
    return ok;
}

static bool seen_differs(const seen *s, const mk_trust *t, const roots *pinned)
{
    return !s->have || !s->has_revoked || s->version != t->version || strcmp(s->digest, t->digest) != 0 ||
           !roots_same(&s->roots, &t->roots) || !roots_same(&s->pinned, pinned);
}

/* ---- accepting a trust file ---- */

static bool version_ok(chk *c, const seen *s, const char *seenp)
{
    const mk_trust *t = c->t;
    if (!s->have || t->version > s->version || (t->version == s->version && strcmp(t->digest, s->digest) == 0))
        return true;
    if (t->version < s->version)
        return refuse(c, "version %lld is below %lld, the version of the last trust file accepted (%s): a trust "
                      "file's version never goes down", t->version, s->version, seenp);
    return refuse(c, "version %lld is the version of the last trust file accepted (%s), but its payload is another: "
                  "a changed trust file needs a higher version", t->version, seenp);
}

/* note [revoked roots]: a revocation is for good. A file may not revoke
 * one of its own roots (a root leaves by leaving `roots`, under both
 * thresholds), and a key the last accepted file revoked counts for no
 * later file: else a revoked root, alone under a low threshold, could sign
 * a file that takes it off the list again. */
static bool still_revoked(chk *c, const sigs *v, const seen *s, const roots *cur, const char *seenp)
{
    for (size_t i = 0; i < v->n; i++)
        if (among(s->revoked, s->nrevoked, v->key[i]) && (roots_has(&c->t->roots, v->key[i]) || roots_has(cur, v->key[i]))) {
            char id[17];
            mk_trust_key_id(v->key[i], id);
            return refuse(c, "signed by root key %s, which the last trust file accepted (version %lld, %s) revokes: "
                          "a revoked key never counts again", id, s->version, seenp);
        }
    return true;
}

static bool accept(chk *c, time_t now, const roots *pinned, const seen *s, const char *seenp)
{
    sigs valid = {0};
    bool from_seen = s->have && roots_same(&s->pinned, pinned);
    const roots *cur = from_seen ? &s->roots : pinned;
    if (!read_envelope(c, &valid) || !still_revoked(c, &valid, s, cur, seenp) || !signed_enough(c, &valid, cur, from_seen))
        return false;
    if (c->t->expires_at <= now)
        return refuse(c, "expired at %s: sign a new one with a higher version", c->t->expires);
    return version_ok(c, s, seenp);
}

/* The key directory, checked whether the run records or only checks:
 * whoever owns it or can write it could replace trust.seen and lower the
 * version, so it is the executor's user's and no one else can write it.
 * Checking and recording are one step for concurrent runs: when recording
 * the directory is locked, so a run that accepted version 5 cannot be
 * overwritten by one that read trust.seen before it and accepted version 4. */
static int open_keys(const char *dir, bool lock, char *why, size_t whylen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0)
        snprintf(why, whylen, "the key directory %s (trust.keys): %s; create it, mode 0700", dir, strerror(errno));
    else if (fstat(fd, &sb) != 0 || sb.st_uid != geteuid()) {
        snprintf(why, whylen, "the key directory %s (trust.keys) is not owned by the executor's user (uid %u): its "
                 "owner could replace trust.seen", dir, (unsigned)geteuid());
        close(fd);
        fd = -1;
    } else if (sb.st_mode & 022) {
        snprintf(why, whylen, "the key directory %s (trust.keys) can be written by others (mode %04o): `chmod go-w %s`",
                 dir, (unsigned)(sb.st_mode & 07777), dir);
        close(fd);
        fd = -1;
    } else if (lock && flock(fd, LOCK_EX) != 0) {
        snprintf(why, whylen, "cannot lock the key directory %s: %s", dir, strerror(errno));
        close(fd);
        fd = -1;
    }
    return fd;
}

mk_trust *mk_trust_load(const mk_config_trust *cfg, time_t now, bool record, char *why, size_t whylen)
{
    mk_trust *t = calloc(1, sizeof *t);
    chk c = {t, why, whylen};
    char seenp[PATH_MAX + 16];
    roots pinned;
    seen s = {0};
    int lk = -1;
    if (!t)
        return snprintf(why, whylen, "out of memory"), NULL;
    snprintf(t->path, sizeof t->path, "%s", cfg->file);
    snprintf(seenp, sizeof seenp, "%s/trust.seen", cfg->keys);
    bool ok = roots_of_config(cfg, &pinned, why, whylen) && (lk = open_keys(cfg->keys, record, why, whylen)) >= 0 &&
              seen_read(lk, seenp, &s, why, whylen) && accept(&c, now, &pinned, &s, seenp) &&
              (!record || !seen_differs(&s, t, &pinned) || seen_write(seenp, t, &pinned, why, whylen));
    if (lk >= 0)
        close(lk);
    t->seen = s.have ? s.version : 0;
    free(s.revoked);
    if (!ok) {
        mk_trust_free(t);
        return NULL;
    }
    return t;
}

bool mk_trust_env_ok(const mk_config *cfg, char *why, size_t whylen)
{
    const char *k = getenv("MOKSHA_KEY");
    if (!cfg->trust.on || !k || !*k)
        return true;
    snprintf(why, whylen, "MOKSHA_KEY is set, but %s has a trust section: in trust mode the executor takes only "
             "plans signed by keys its trust file lists, and holds no key that can sign one; unset MOKSHA_KEY in the "
             "executor's environment (docs/trust.md)", cfg->path);
    return false;
}

mk_trust *mk_trust_open(const mk_config *cfg, bool record, char *why, size_t whylen)
{
    return mk_trust_env_ok(cfg, why, whylen) ? mk_trust_load(&cfg->trust, time(NULL), record, why, whylen) : NULL;
}

void mk_trust_free(mk_trust *t)
{
    if (!t)
        return;
    free(t->keys);
    free(t->revoked);
    json_decref(t->doc);
    free(t);
}

/* ---- lookups ---- */

void mk_trust_lookup(const mk_trust *t, const uint8_t raw[32], mk_trust_who *who)
{
    memset(who, 0, sizeof *who);
    who->name = "";
    mk_trust_key_id(raw, who->id);
    for (size_t i = 0; i < t->nkeys; i++) {
        const entry *e = &t->keys[i];
        if (memcmp(e->raw, raw, 32) != 0)
            continue;
        if (!who->roles || (e->role & (MK_TRUST_PLANNER | MK_TRUST_AUTOMATION)))
            who->name = e->name; /* the name it plans under, when it plans */
        who->roles |= e->role;
    }
    if (roots_has(&t->roots, raw))
        who->roles |= MK_TRUST_ROOT;
    who->revoked = is_revoked(t, raw);
}

const char *mk_trust_role_name(unsigned roles)
{
    return roles & MK_TRUST_PLANNER ? "planner" : roles & MK_TRUST_AUTOMATION ? "automation"
         : roles & MK_TRUST_APPROVER ? "approver" : roles & MK_TRUST_ROOT ? "root" : "unknown";
}

long long mk_trust_version(const mk_trust *t) { return t->version; }

const char *mk_trust_digest(const mk_trust *t) { return t->digest; }

const char *mk_trust_path(const mk_trust *t) { return t->path; }

void mk_trust_describe(const mk_trust *t, char *out, size_t n)
{
    size_t count[3] = {0};
    for (size_t i = 0; i < t->nkeys; i++)
        count[t->keys[i].role == MK_TRUST_PLANNER ? 0 : t->keys[i].role == MK_TRUST_AUTOMATION ? 1 : 2]++;
    char last[64] = "none before";
    if (t->seen)
        snprintf(last, sizeof last, "version %lld", t->seen);
    char more[160] = "";
    size_t nenv = json_object_size(json_object_get(t->doc, "environments"));
    json_t *bg = json_object_get(t->doc, "break_glass");
    if (nenv)
        snprintf(more, sizeof more, ", rules for %zu environment%s", nenv, nenv == 1 ? "" : "s");
    if (bg)
        snprintf(more + strlen(more), sizeof more - strlen(more), ", break glass by %lld of group %s",
                 json_object_get(bg, "count") ? (long long)json_integer_value(json_object_get(bg, "count")) : 2LL,
                 json_string_value(json_object_get(bg, "group")));
    snprintf(out, n, "version %lld, expires %s, roots: threshold %d of %zu keys; %zu planner%s, %zu "
             "automation, %zu approver%s, %zu group%s, %zu revoked%s; last accepted: %s", t->version, t->expires,
             t->roots.threshold, t->roots.n, count[0], count[0] == 1 ? "" : "s", count[1], count[2],
             count[2] == 1 ? "" : "s", t->ngroups, t->ngroups == 1 ? "" : "s", t->nrevoked, more, last);
}

/* ---- what approvals and boundaries ask of the file ---- */

const char *mk_trust_approver_name(const mk_trust *t, const uint8_t raw[32])
{
    for (size_t i = 0; i < t->nkeys; i++)
        if ((t->keys[i].role & MK_TRUST_APPROVER) && memcmp(t->keys[i].raw, raw, 32) == 0)
            return t->keys[i].name;
    return NULL;
}

bool mk_trust_in_group(const mk_trust *t, const char *group, const char *approver)
{
    size_t i;
    json_t *m, *g = group ? json_object_get(json_object_get(t->doc, "groups"), group) : NULL;
    json_array_foreach(g, i, m)
        if (approver && json_is_string(m) && strcmp(json_string_value(m), approver) == 0)
            return true;
    return false;
}

bool mk_trust_group_exists(const mk_trust *t, const char *group)
{
    return group && json_object_get(json_object_get(t->doc, "groups"), group) != NULL;
}

json_t *mk_trust_boundary(const mk_trust *t, const char *automation)
{
    json_t *a = automation ? json_object_get(json_object_get(t->doc, "automation"), automation) : NULL;
    return a ? json_object_get(a, "boundary") : NULL;
}

json_t *mk_trust_environment(const mk_trust *t, const char *env)
{
    return json_object_get(json_object_get(t->doc, "environments"), env ? env : "");
}

json_t *mk_trust_break_glass(const mk_trust *t) { return json_object_get(t->doc, "break_glass"); }

bool mk_trust_revokes(const mk_trust *t, const uint8_t raw[32]) { return is_revoked(t, raw); }

bool mk_trust_time(const char *text, time_t *out) { return parse_time(text, out); }
