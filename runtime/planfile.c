/* planfile — loading and verifying signed plans (SHA-256 of the body's
 * bytes; HMAC-SHA256 over the statement of that digest, or in trust mode
 * Ed25519 by a key the trust file lists; AES-256-GCM), with
 * the key derivation of docs/formats.md. A plan is verified from its bytes
 * before any of it is parsed, then read piece by piece (note [plan
 * reading]); it is not a JSON reader of its own: jansson reads every value,
 * runtime/jspan.c only says where each one is. A loaded change has the
 * omitted defaults exec.c reads put back (a change's id, risk and unknown
 * attributes); the others stay omitted, and exec.c takes an absent field
 * as its default. */
#include "runtime/planfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/errmsg.h"
#include "runtime/fileio.h"
#include "runtime/jregion.h"
#include "runtime/jspan.h"
#include "runtime/sha256.h"
#include "runtime/trust.h"

static void to_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* The key text rules of compiler/base/key.c (note [key text] there), repeated
 * for the house rule: 32 bytes as 64 hex digits or base64, or
 * `passphrase:TEXT` stretched with scrypt salted with the stack id. The 32
 * bytes, as lowercase hex, key the HMACs that derive the sign and seal keys. */
#define KEY_PASSPHRASE "passphrase:"
#define KEY_MIN_PASSPHRASE 16

static void derive(mk_planfile_key *k, const uint8_t raw[32])
{
    char master[65];
    to_hex(raw, 32, master);
    unsigned int len = 32;
    HMAC(EVP_sha256(), master, 64, (const uint8_t *)"moksha plan signature", 21, k->sign, &len);
    len = 32;
    HMAC(EVP_sha256(), master, 64, (const uint8_t *)"moksha secret sealing", 21, k->seal, &len);
    OPENSSL_cleanse(master, sizeof master);
    uint8_t d[32];
    SHA256(k->sign, 32, d);
    to_hex(d, 8, k->id);
}

static bool from_hex(const char *t, size_t n, uint8_t *out, size_t len)
{
    if (n != 2 * len || strspn(t, "0123456789abcdefABCDEF") < n)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        if (sscanf(t + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (uint8_t)v;
    }
    return true;
}

static bool from_base64(const char *t, size_t n, uint8_t out[32])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t buf[48];
    if (n != 44 || t[43] != '=' || t[42] == '=' || strspn(t, b64) != 43)
        return false;
    if (EVP_DecodeBlock(buf, (const unsigned char *)t, 44) != 33)
        return false;
    memcpy(out, buf, 32);
    OPENSSL_cleanse(buf, sizeof buf);
    return true;
}

static void trim(const char **t, size_t *n)
{
    while (*n && strchr(" \t\r\n", (*t)[*n - 1]))
        (*n)--;
    while (*n && strchr(" \t\r\n", **t))
        (*t)++, (*n)--;
}

bool mk_planfile_key_from_text(mk_planfile_key *k, const char *text, const char *stack_id, const char *what, char *why,
                               size_t whylen)
{
    memset(k, 0, sizeof *k);
    size_t n = strlen(text), pn = sizeof KEY_PASSPHRASE - 1;
    uint8_t raw[32];
    trim(&text, &n);
    bool ok = true;
    if (n >= pn && memcmp(text, KEY_PASSPHRASE, pn) == 0) {
        char salt[64];
        int sn = snprintf(salt, sizeof salt, "moksha key/v1 %s", stack_id ? stack_id : "");
        if (n - pn < KEY_MIN_PASSPHRASE)
            ok = (snprintf(why, whylen, "%s: the passphrase is %zu bytes long; a passphrase key needs at least %d", what,
                           n - pn, KEY_MIN_PASSPHRASE), false);
        else if (!stack_id || !*stack_id)
            ok = (snprintf(why, whylen, "%s is a passphrase, salted with the stack id, and the stack has none "
                           "(.moksha/stack-id, made by the first signed plan)", what), false);
        else if (EVP_PBE_scrypt(text + pn, n - pn, (const uint8_t *)salt, (size_t)sn, 1u << 15, 8, 1, 64u << 20, raw, 32) != 1)
            ok = (snprintf(why, whylen, "%s: cannot stretch the passphrase (scrypt failed)", what), false);
    } else if (!from_hex(text, n, raw, 32) && !from_base64(text, n, raw)) {
        snprintf(why, whylen,
                 "%s is not a strong key: give 32 random bytes as 64 hex digits (`openssl rand -hex 32`) or base64 "
                 "(`openssl rand -base64 32`), or `passphrase:` and at least %d characters",
                 what, KEY_MIN_PASSPHRASE);
        ok = false;
    }
    if (ok)
        derive(k, raw);
    OPENSSL_cleanse(raw, sizeof raw);
    return ok;
}

/* A small file of .moksha into buf (at most cap-1 bytes): its descriptor,
 * still open for the caller's own checks; -1 with errno, or -2 with the
 * reason in why when it is not a regular file. Opened without blocking and checked with
 * fstat: a FIFO in its place would hang the executor, a directory "reads"
 * as empty. */
static int open_small(const char *path, char *buf, size_t cap, size_t *len, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd < 0)
        return -1;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        snprintf(why, whylen, "%s is not a regular file: remove it", path);
        errno = EINVAL;
        return -2;
    }
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    *len = n;
    return fd;
}

bool mk_planfile_stack_id(const char *moksha_dir, char id[33], char *why, size_t whylen)
{
    char path[4096], buf[128];
    snprintf(path, sizeof path, "%s/stack-id", moksha_dir);
    id[0] = 0;
    size_t n = 0;
    int fd = open_small(path, buf, sizeof buf, &n, why, whylen);
    if (fd == -2)
        return false;
    if (fd < 0)
        return errno == ENOENT || (snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno)), false);
    close(fd);
    const char *t = buf;
    uint8_t raw[16];
    trim(&t, &n);
    if (!from_hex(t, n, raw, 16)) {
        snprintf(why, whylen, "%s is not a stack id (32 hex digits); restore it from where the state is kept", path);
        return false;
    }
    memcpy(id, t, 32);
    id[32] = 0;
    return true;
}

/* The key text of DIR/key into buf; false with why. */
static bool read_key_file(const char *path, char *buf, size_t cap, char *why, size_t whylen)
{
    size_t n = 0;
    int fd = open_small(path, buf, cap, &n, why, whylen);
    if (fd == -2)
        return false;
    if (fd < 0) {
        snprintf(why, whylen, "no project key: set MOKSHA_KEY or keep %s (%s)", path, strerror(errno));
        return false;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (sb.st_mode & 077)) {
        close(fd);
        OPENSSL_cleanse(buf, cap);
        snprintf(why, whylen, "%s can be read by others (mode %04o): `chmod 600 %s`, and rotate the key "
                 "(`moksha-exec key rotate`) if others may have read it", path, (unsigned)(sb.st_mode & 07777), path);
        return false;
    }
    close(fd);
    return true;
}

bool mk_planfile_key_load(mk_planfile_key *k, const char *moksha_dir, char *why, size_t whylen)
{
    memset(k, 0, sizeof *k);
    char id[33], path[4096], buf[1024];
    if (!mk_planfile_stack_id(moksha_dir, id, why, whylen))
        return false;
    const char *env = getenv("MOKSHA_KEY");
    if (env && *env)
        return mk_planfile_key_from_text(k, env, id, "MOKSHA_KEY", why, whylen);
    snprintf(path, sizeof path, "%s/key", moksha_dir);
    char next[4200];
    snprintf(next, sizeof next, "%s.next", path);
    if (access(next, F_OK) == 0) { /* note [key rotation] in runtime/rotate.c */
        snprintf(why, whylen, "an interrupted `moksha-exec key rotate` left %s: run it again to finish", next);
        return false;
    }
    if (!read_key_file(path, buf, sizeof buf, why, whylen))
        return false;
    bool ok = mk_planfile_key_from_text(k, buf, id, path, why, whylen);
    OPENSSL_cleanse(buf, sizeof buf);
    return ok;
}

static mk_planfile_status fail(mk_planfile_status st, char *why, size_t whylen, const char *msg)
{
    snprintf(why, whylen, "%s", msg);
    return st;
}

#define MSG_UNSIGNED "the plan is not signed (moksha signs the plans of `moksha plan -o FILE`, never one whose policies fail)"
#define MSG_WRONG_KEY "the plan was signed with another project key"
#define MSG_TAMPERED "the signature does not match: the plan was altered after it was signed"
#define MSG_HMAC_REFUSED                                                                                          \
    "the plan is signed with a project key (HMAC-SHA256), and this executor is in trust mode (its configuration " \
    "has a trust section): it takes only plans signed with a planner key its trust file lists, whatever the "     \
    "plan says (no downgrade); plan with MOKSHA_SIGNING_KEY=PLANNER.key (docs/trust.md, \"Signing plans\")"
#define MSG_NO_TRUST                                                                                               \
    "the plan is signed with Ed25519 by a planner key, and this executor's configuration has no trust section "   \
    "to check it against: configure trust (docs/trust.md, \"The executor's configuration\"), or plan with the " \
    "project key"

/* note [plan algorithm]: which signature a plan must carry is the
 * executor's choice, never the plan's. Without a trust section it is the
 * project key's HMAC; with one, Ed25519 of type "plan" by a key the trust
 * file lists as a planner or automation key and does not revoke, and an
 * HMAC-signed plan is refused however valid. A plan names its key only so
 * that the executor can look it up. */
typedef struct verifier {
    const mk_planfile_key *k; /* the project key, or NULL in trust mode */
    const mk_trust *t;        /* the trust file, in trust mode */
    mk_trust_who *who;        /* trust mode: who signed, once looked up */
} verifier;

static bool mac_matches(const mk_planfile_key *k, const char *s, size_t n, const char *want)
{
    uint8_t mac[32];
    unsigned int len = 32;
    char hex[65];
    if (strlen(want) != 64)
        return false;
    HMAC(EVP_sha256(), k->sign, 32, (const uint8_t *)s, n, mac, &len);
    to_hex(mac, 32, hex);
    return CRYPTO_memcmp(hex, want, 64) == 0;
}

/* note [plan statement] in compiler/back/planfile.c, built again here from
 * the plan's `state` and `env`: the digest and the plan's identity, compact, in this
 * key order. The same bytes are what either kind of signature signs. */
static bool statement_matches(const verifier *v, json_t *sig, json_t *st, json_t *env, const char *digest,
                              const char *want)
{
    json_t *s = json_object(), *sid = json_object_get(st, "stack_id");
    json_object_set_new(s, "format", json_string("moksha.plan/v1"));
    json_object_set_new(s, "digest", json_string(digest));
    if (json_is_string(sid))
        json_object_set(s, "stack_id", sid);
    if (json_is_string(env)) /* the plan's environment (runtime/paths.h, note [plan environment]) */
        json_object_set(s, "environment", env);
    json_object_set_new(s, "lineage", json_string(json_string_value(json_object_get(st, "lineage")) ?: ""));
    json_object_set_new(s, "serial", json_integer(json_integer_value(json_object_get(st, "serial"))));
    char *text = json_dumps(s, JSON_COMPACT | JSON_PRESERVE_ORDER);
    uint8_t raw[32];
    bool ok = text && (v->t ? mk_trust_key_parse(json_string_value(json_object_get(sig, "key")), raw) &&
                                  mk_trust_verify("plan", text, strlen(text), raw, want)
                            : mac_matches(v->k, text, strlen(text), want));
    free(text);
    json_decref(s);
    return ok;
}

/* The fields of moksha.plan/v1 by object (note [plan fields] in
 * compiler/back/planfile.c): anything else is a newer moksha's plan. */
static const char *const TOP_KEYS[] = {"format", "stack", "env", "inputs_digest", "destroy", "revert_to", "state", "backend",
                                       "observed", "drift", "providers", "changes", "gates", "policies", "policy_packs", "waivers",
                                       "outputs", "outputs_changed", "outputs_before", "reads", "totals", "cost", "signature", NULL};
static const char *const CHANGE_KEYS[] = {"id", "address", "type", "name", "provider", "via", "action", "deposed", "before",
                                          "after", "after_unknown", "sensitive", "changed", "replace_because",
                                          "depends_on", "risk", "irreversible", "cost", "lifecycle", "placement",
                                          "refs", "risk_raised_by", "drift", "import", "moved_from", NULL};
static const char *const STATE_KEYS[] = {"stack_id", "lineage", "serial", NULL};
static const char *const SIGNATURE_KEYS[] = {"algorithm", "key_id", "digest", "value", NULL};
static const char *const ED25519_KEYS[] = {"algorithm", "type", "key", "key_id", "digest", "value", NULL};
static const char *const BACKEND_KEYS[] = {"kind", "stack", "env", NULL};
#define TOP_NKEYS 23

/* The index of the name k (n bytes, as written: a key with an escape, a
 * NUL or any other byte JSON does not allow is no name) in names, or -1.
 * Exactly n bytes, compared whole: a NUL in k must not end the comparison. */
static int name_index(const char *const *names, const char *k, size_t n)
{
    for (int i = 0; names[i]; i++)
        if (n && names[i][0] == k[0] && strlen(names[i]) == n && memcmp(names[i], k, n) == 0)
            return i;
    return -1;
}

static bool unknown_field(const char *where, const char *k, size_t n, char *why, size_t whylen)
{
    snprintf(why, whylen, "%s has a field `%.*s` this moksha-exec does not know: the plan was made by a newer "
             "moksha; plan again with the moksha that goes with this moksha-exec", where, (int)(n > 64 ? 64 : n), k);
    return false;
}

/* Refuse a field the executor does not know; true when there is none. */
static bool only_known(json_t *o, const char *const *names, const char *where, char *why, size_t whylen)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
        if (name_index(names, k, strlen(k)) < 0)
            return unknown_field(where, k, strlen(k), why, whylen);
    return true;
}

/* note [plan reading]: a plan is read from one copy of its bytes, in this
 * order, so that nothing of it is believed before its signature is proven
 * and no more of it is parsed than the command needs:
 * 1. the signature, the small object the file ends with (parsed alone, and
 *    required to be in moksha's compact text); the key id;
 * 2. the SHA-256 of the body's bytes (docs/formats.md) against the
 *    signature's digest: a damaged or edited file is refused here;
 * 3. the top level walked (note [spans] in jspan.c) as far as `state`,
 *    which moksha writes before the changes; `state` parsed alone, the
 *    statement built from it and its MAC checked: a forged file is refused
 *    here, having cost a digest and a walk to `state`;
 * 4. the rest of the walk, which indexes the changes as it passes them:
 *    each one's span, and the names of its fields (unknown or repeated:
 *    refused), their values not parsed; the signature must be the last
 *    member, where step 1 found it;
 * 5. the top level's names checked (unknown or repeated: refused), each
 *    value but `changes` parsed by jansson from its own span.
 * That is what `moksha-exec verify` reads. mk_planfile_take then parses
 * every change from its span with jansson (duplicate keys refused at every
 * depth), before apply runs anything; a value that does not parse can only
 * be in a plan someone signed without moksha, and apply refuses it whole.
 * A file not in moksha's form at step 1 is parsed whole, only to say what
 * it is (not JSON, not a plan, unsigned, signed with another key). */
struct mk_planfile {
    char *text; /* the file, read once */
    size_t len;
    json_t *plan;            /* the top level; `changes` empty until mk_planfile_take */
    mk_jspan_item *changes;  /* each change's span in text */
    size_t nchanges;
    bool taken;
};

static const char SIG_KEY[] = ",\"signature\":";
#define SIG_MAX 1024 /* moksha's signature object is about 220 bytes */

/* Step 1: the signature object the text ends with, in moksha's compact
 * text; *at is where `,"signature":` begins, *end one past the closing
 * `}`. NULL when the text does not end so. */
static json_t *signature_tail(const char *t, size_t n, size_t *at, size_t *end)
{
    size_t kn = sizeof SIG_KEY - 1;
    if (n > 0 && t[n - 1] == '\n')
        n--;
    if (n < kn + 3 || t[n - 1] != '}')
        return NULL;
    size_t lo = n - 1 - kn > SIG_MAX ? n - 1 - kn - SIG_MAX : 0, i = n - kn;
    while (i-- > lo && memcmp(t + i, SIG_KEY, kn) != 0)
        ;
    if (i + 1 == lo || memcmp(t + i, SIG_KEY, kn) != 0)
        return NULL;
    size_t sn = n - 1 - (i + kn);
    json_t *sig = json_loadb(t + i + kn, sn, JSON_REJECT_DUPLICATES, NULL);
    char *again = json_is_object(sig) ? json_dumps(sig, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    bool same = again && strlen(again) == sn && memcmp(again, t + i + kn, sn) == 0;
    free(again);
    if (!same) {
        json_decref(sig);
        return NULL;
    }
    *at = i, *end = n;
    return sig;
}

/* Step 2: SHA-256 of the body, text[0..at) and `}`, as hex. */
static bool body_digest(const char *text, size_t at, char digest[65])
{
    uint8_t d[32];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(md, text, at) == 1 &&
              EVP_DigestUpdate(md, "}", 1) == 1 && EVP_DigestFinal_ex(md, d, NULL) == 1;
    EVP_MD_CTX_free(md);
    to_hex(d, 32, digest);
    return ok;
}

/* The top level as it is walked: the members seen so far. More members
 * than there are names means an unknown or repeated one among the first
 * TOP_NKEYS + 1, which is all the check of names needs to see. */
typedef struct top {
    mk_jspan w;
    mk_jspan_item m[TOP_NKEYS + 1], last;
    size_t n;
    size_t state, changes; /* index in m, or SIZE_MAX */
    bool indexed;          /* the changes were indexed as they were passed */
    bool ended;            /* the walk is past the closing brace */
} top;

static bool key_is(const char *text, const mk_jspan_item *it, const char *name)
{
    return it->keylen == strlen(name) && memcmp(text + it->key, name, it->keylen) == 0;
}

static void top_record(const char *text, top *tp, const mk_jspan_item *it, bool indexed)
{
    if (tp->n < TOP_NKEYS + 1) {
        if (tp->state == SIZE_MAX && key_is(text, it, "state"))
            tp->state = tp->n;
        if (tp->changes == SIZE_MAX && key_is(text, it, "changes"))
            tp->changes = tp->n, tp->indexed = indexed;
        tp->m[tp->n++] = *it;
    }
    tp->last = *it;
}

/* One value parsed by jansson from its span alone (nothing after it). */
static json_t *parse_span(const char *text, const mk_jspan_item *it, json_error_t *je)
{
    return json_loadb(text + it->at, it->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, je);
}

static void line_col(const char *text, size_t at, int *line, int *col)
{
    *line = 1, *col = 1;
    for (size_t i = 0; i < at; i++)
        text[i] == '\n' ? (++*line, *col = 1) : ++*col;
}

/* A signed text that is not what it must be there: "PATH:LINE:COL: what". */
static mk_planfile_status malformed(const char *path, const char *text, size_t at, const char *what, char *why,
                                    size_t whylen)
{
    int line, col;
    line_col(text, at, &line, &col);
    snprintf(why, whylen, "%s:%d:%d: %s", path, line, col, what);
    return MK_PLANFILE_UNREADABLE;
}

/* jansson's error in a value parsed from its span at base, placed in the file. */
static mk_planfile_status parse_error(const char *path, const char *text, size_t base, json_error_t *je, char *why,
                                      size_t whylen)
{
    line_col(text, base + (size_t)(je->position > 0 ? je->position : 0), &je->line, &je->column);
    mk_errmsg_json(path, je, NULL, 0, why, whylen);
    return MK_PLANFILE_UNREADABLE;
}

/* Step 5's names: each known, none twice. */
static mk_planfile_status top_names(const char *path, const char *text, const top *tp, char *why, size_t whylen)
{
    unsigned seen = 0;
    for (size_t i = 0; i < tp->n; i++) {
        const mk_jspan_item *it = &tp->m[i];
        int x = name_index(TOP_KEYS, text + it->key, it->keylen);
        if (x < 0)
            return unknown_field("the plan", text + it->key, it->keylen, why, whylen), MK_PLANFILE_UNKNOWN_FIELD;
        if (seen & (1u << x))
            return malformed(path, text, it->key, "a key appears twice in one object", why, whylen);
        seen |= 1u << x;
    }
    return MK_PLANFILE_OK;
}

static bool lower_hex(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool shape_refused(char *why, size_t whylen, const char *what)
{
    snprintf(why, whylen, "the plan's %s; the plan was not made by moksha: plan again", what);
    return false;
}

/* A policy result's `override_by` (a group's name or null) and `waived`
 * ([{address, message, waiver: 32 hex, by: key id, expires}]). */
static bool result_shape_ok(json_t *r, char *why, size_t whylen)
{
    json_t *ob = json_object_get(r, "override_by"), *w = json_object_get(r, "waived"), *x;
    size_t i;
    if (ob && !json_is_null(ob) && (!json_is_string(ob) || !*json_string_value(ob)))
        return shape_refused(why, whylen, "policy result's `override_by` is not a group's name");
    if (w && !json_is_array(w))
        return shape_refused(why, whylen, "policy result's `waived` is not a list");
    json_array_foreach(w, i, x)
        if (!json_is_object(x) || !json_is_string(json_object_get(x, "address")) ||
            !json_is_string(json_object_get(x, "message")) ||
            !lower_hex(json_string_value(json_object_get(x, "waiver")), 32) ||
            !json_is_string(json_object_get(x, "by")) || !json_is_string(json_object_get(x, "expires")))
            return shape_refused(why, whylen, "`waived` entry is not {address, message, waiver: 32 hex, by, expires}");
    return true;
}

/* The fields of the approvals work (docs/formats.md): a gate's `count`
 * (1..16), the policy results' `override_by` and `waived`, `policy_packs`
 * ([{name, digest: 64 hex}]) and `waivers` (approval envelopes, checked
 * as approvals when the executor relies on them: runtime/approval.c). */
static bool trust_fields_ok(json_t *plan, char *why, size_t whylen)
{
    json_t *x, *packs = json_object_get(plan, "policy_packs"), *waivers = json_object_get(plan, "waivers");
    size_t i;
    json_array_foreach(json_object_get(plan, "gates"), i, x) {
        json_t *n = json_object_get(x, "count");
        if (n && (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > 16))
            return shape_refused(why, whylen, "gate's `count` is not a whole number 1..16");
    }
    json_array_foreach(json_object_get(plan, "policies"), i, x)
        if (!result_shape_ok(x, why, whylen))
            return false;
    if (packs && !json_is_array(packs))
        return shape_refused(why, whylen, "`policy_packs` is not a list");
    json_array_foreach(packs, i, x)
        if (!json_is_object(x) || json_object_size(x) != 2 || !json_is_string(json_object_get(x, "name")) ||
            !lower_hex(json_string_value(json_object_get(x, "digest")), 64))
            return shape_refused(why, whylen, "`policy_packs` entry is not {\"name\", \"digest\": 64 hex digits}");
    if (waivers && !json_is_array(waivers))
        return shape_refused(why, whylen, "`waivers` is not a list");
    json_array_foreach(waivers, i, x)
        if (!json_is_object(x) || !json_is_string(json_object_get(x, "payload")) ||
            !json_is_object(json_object_get(x, "signature")))
            return shape_refused(why, whylen, "`waivers` entry is not an approval envelope {format, payload, signature}");
    return true;
}

/* Step 5's values: the top level as a document, in the file's order, with
 * `changes` (when it is a list) an empty list for mk_planfile_take. */
static mk_planfile_status top_values(mk_planfile *p, const char *path, const top *tp, json_t *sig, bool ed25519,
                                     char *why, size_t whylen)
{
    p->plan = json_object();
    for (size_t i = 0; i < tp->n; i++) {
        const mk_jspan_item *it = &tp->m[i];
        char key[32];
        snprintf(key, sizeof key, "%.*s", (int)it->keylen, p->text + it->key);
        json_error_t je;
        json_t *v = NULL;
        if (strcmp(key, "signature") == 0)
            v = json_incref(sig);
        else if (strcmp(key, "changes") == 0 && p->text[it->at] == '[')
            v = json_array();
        else if (!(v = parse_span(p->text, it, &je)))
            return parse_error(path, p->text, it->at, &je, why, whylen);
        json_object_set_new(p->plan, key, v);
    }
    if (!only_known(json_object_get(p->plan, "state"), STATE_KEYS, "its state", why, whylen) ||
        !only_known(json_object_get(p->plan, "backend"), BACKEND_KEYS, "its backend", why, whylen) ||
        !only_known(sig, ed25519 ? ED25519_KEYS : SIGNATURE_KEYS, "its signature", why, whylen))
        return MK_PLANFILE_UNKNOWN_FIELD;
    if (!trust_fields_ok(p->plan, why, whylen))
        return MK_PLANFILE_NOT_A_PLAN;
    return MK_PLANFILE_OK;
}

/* Step 4 for one change at it->at: its span (it->len), the names of its
 * fields checked. */
static mk_planfile_status index_change(const char *path, const char *text, size_t n, mk_jspan_item *it, char *why,
                                       size_t whylen)
{
    mk_jspan w;
    mk_jspan_item f;
    int r;
    uint32_t seen = 0;
    if (!mk_jspan_open(&w, text, n, it->at, '{', 3)) { /* not an object: its reader says so */
        size_t e = mk_jspan_value_end(text, n, it->at, 3);
        return e ? (it->len = e - it->at, MK_PLANFILE_OK) : malformed(path, text, it->at, "not valid JSON", why, whylen);
    }
    while ((r = mk_jspan_next(&w, &f)) == 1) {
        int x = name_index(CHANGE_KEYS, text + f.key, f.keylen);
        if (x < 0)
            return unknown_field("a change", text + f.key, f.keylen, why, whylen), MK_PLANFILE_UNKNOWN_FIELD;
        if (seen & (1u << x))
            return malformed(path, text, f.key, "a key appears twice in one object", why, whylen);
        seen |= 1u << x;
    }
    if (r < 0)
        return malformed(path, text, w.i, "not valid JSON", why, whylen);
    it->len = w.i - it->at;
    return MK_PLANFILE_OK;
}

/* Step 4 over the list at text[at]: each change's span; *after is one past
 * the list. */
static mk_planfile_status index_changes(mk_planfile *p, const char *path, size_t at, size_t end, size_t *after,
                                        char *why, size_t whylen)
{
    mk_jspan w;
    mk_jspan_item it;
    size_t cap = 0;
    int r;
    mk_jspan_open(&w, p->text, end, at, '[', 2);
    while ((r = mk_jspan_peek(&w, &it)) == 1) {
        mk_planfile_status st = index_change(path, p->text, end, &it, why, whylen);
        if (st != MK_PLANFILE_OK)
            return st;
        mk_jspan_done(&w, &it, it.at + it.len);
        if (p->nchanges == cap) {
            cap = cap ? 2 * cap : 1024;
            mk_jspan_item *more = realloc(p->changes, cap * sizeof *more);
            if (!more)
                return fail(MK_PLANFILE_UNREADABLE, why, whylen, "out of memory while reading the plan");
            p->changes = more;
        }
        p->changes[p->nchanges++] = it;
    }
    *after = w.i;
    return r == 0 ? MK_PLANFILE_OK : malformed(path, p->text, w.i, "not valid JSON", why, whylen);
}

static const char *sig_field(json_t *sig, const char *name) { return json_string_value(json_object_get(sig, name)); }

/* Trust mode, step 1: the signature is Ed25519 of type "plan" by a key the
 * trust file lists as a planner or automation key and does not revoke
 * (note [plan algorithm]); who signed into v->who. Cheap checks only: the
 * signature itself is checked in step 3. */
static bool trusted_signer(const verifier *v, json_t *sig, mk_planfile_status *st, char *why, size_t whylen)
{
    const char *alg = sig_field(sig, "algorithm"), *type = sig_field(sig, "type"), *kid = sig_field(sig, "key_id");
    const char *file = mk_trust_path(v->t);
    long long version = mk_trust_version(v->t);
    mk_trust_who *w = v->who;
    uint8_t raw[32];
    *st = MK_PLANFILE_UNTRUSTED;
    if (!alg || strcmp(alg, "HMAC-SHA256") == 0)
        return fail(*st, why, whylen, MSG_HMAC_REFUSED), false;
    if (strcmp(alg, "Ed25519") != 0)
        return snprintf(why, whylen, "the plan is signed with %.32s, which this executor does not take: only Ed25519 "
                        "by a key its trust file lists", alg), false;
    if (!type || strcmp(type, "plan") != 0)
        return snprintf(why, whylen, "the plan's signature is of type `%.32s`, not `plan`: a signature of one kind "
                        "never counts as another (docs/trust.md, \"Signatures and their types\")", type ?: ""), false;
    if (!mk_trust_key_parse(sig_field(sig, "key"), raw))
        return fail(*st, why, whylen, "the plan's signature names no Ed25519 public key (`key`)"), false;
    mk_trust_lookup(v->t, raw, w);
    if (strcmp(kid, w->id) != 0)
        return (*st = fail(MK_PLANFILE_TAMPERED, why, whylen, MSG_TAMPERED)), false;
    if (!w->roles)
        return snprintf(why, whylen, "signed by key %s, which the trust file %s (version %lld) does not list: only "
                        "its planner and automation keys sign plans", w->id, file, version), false;
    if (w->revoked)
        return snprintf(why, whylen, "signed by key %s (%s `%s`), which the trust file %s (version %lld) revokes",
                        w->id, mk_trust_role_name(w->roles), w->name, file, version), false;
    if (!(w->roles & (MK_TRUST_PLANNER | MK_TRUST_AUTOMATION)))
        return snprintf(why, whylen, "wrong role: key %s is %s%s%s key in the trust file %s (version %lld); only "
                        "planner and automation keys sign plans", w->id, *w->name ? "approver `" : "a root",
                        w->name, *w->name ? "`'s" : "", file, version), false;
    return true;
}

/* Step 1's checks of the signature object: the kind this executor takes,
 * by a key it takes; else *st and why. */
static bool signer_ok(const verifier *v, json_t *sig, mk_planfile_status *st, char *why, size_t whylen)
{
    const char *val = sig_field(sig, "value"), *kid = sig_field(sig, "key_id"), *alg = sig_field(sig, "algorithm");
    bool ed = alg && strcmp(alg, "Ed25519") == 0;
    if (!v->t && ed)
        return (*st = fail(MK_PLANFILE_UNTRUSTED, why, whylen, MSG_NO_TRUST)), false;
    if (!val || !kid || (!ed && strlen(val) != 64))
        return (*st = fail(MK_PLANFILE_UNSIGNED, why, whylen, MSG_UNSIGNED)), false;
    if (!v->t && strcmp(kid, v->k->id) != 0)
        return (*st = fail(MK_PLANFILE_WRONG_KEY, why, whylen, MSG_WRONG_KEY)), false;
    return !v->t || trusted_signer(v, sig, st, why, whylen);
}

/* Steps 1–3: true when the signature is proven; else the status in *st.
 * The walk of the top level stops after `state`, which moksha writes
 * before the changes. */
static bool proven(mk_planfile *p, const verifier *v, json_t *sig, size_t sat, size_t end, top *tp,
                   mk_planfile_status *st, char *why, size_t whylen)
{
    const char *val = sig_field(sig, "value"), *dig = sig_field(sig, "digest");
    char digest[65];
    mk_jspan_item it;
    int r = 1;
    if (!signer_ok(v, sig, st, why, whylen))
        return false;
    *st = MK_PLANFILE_TAMPERED;
    if (!dig || !body_digest(p->text, sat, digest) || strcmp(dig, digest) != 0 || !mk_jspan_open(&tp->w, p->text, end, 0, '{', 1))
        return fail(*st, why, whylen, MSG_TAMPERED), false;
    while (tp->state == SIZE_MAX && (r = mk_jspan_next(&tp->w, &it)) == 1)
        top_record(p->text, tp, &it, false);
    tp->ended = r == 0;
    json_t *state = tp->state == SIZE_MAX ? NULL : parse_span(p->text, &tp->m[tp->state], NULL), *env = NULL;
    for (size_t i = 0; i < tp->n && !env; i++) /* (written before `state`: walked by now) */
        if (key_is(p->text, &tp->m[i], "env"))
            env = parse_span(p->text, &tp->m[i], NULL);
    bool ok = r >= 0 && (tp->state == SIZE_MAX || state) && statement_matches(v, sig, state, env, digest, val);
    json_decref(state);
    json_decref(env);
    if (!ok)
        fail(*st, why, whylen, MSG_TAMPERED);
    return ok;
}

/* Step 4: the rest of the walk, once the signature is proven. */
static mk_planfile_status walk_rest(mk_planfile *p, const char *path, top *tp, size_t sat, size_t end, char *why,
                                    size_t whylen)
{
    mk_jspan_item it;
    int r = 0;
    while (!tp->ended && (r = mk_jspan_peek(&tp->w, &it)) == 1) {
        size_t after = 0;
        bool list = tp->changes == SIZE_MAX && key_is(p->text, &it, "changes") && p->text[it.at] == '[';
        mk_planfile_status st = list ? index_changes(p, path, it.at, end, &after, why, whylen) : MK_PLANFILE_OK;
        if (st != MK_PLANFILE_OK)
            return st;
        if (!list)
            after = mk_jspan_value_end(p->text, end, it.at, 2);
        if (!after)
            return malformed(path, p->text, it.at, "not valid JSON", why, whylen);
        mk_jspan_done(&tp->w, &it, after);
        top_record(p->text, tp, &it, list);
    }
    const mk_jspan_item *last = &tp->last;
    if (r < 0 || tp->w.i != end || !key_is(p->text, last, "signature") || last->key != sat + 2 ||
        last->at != sat + sizeof SIG_KEY - 1)
        return malformed(path, p->text, tp->w.i, "not valid JSON", why, whylen);
    static const char format[] = "\"moksha.plan/v1\"";
    size_t i = 0;
    while (i < tp->n && !key_is(p->text, &tp->m[i], "format"))
        i++;
    if (i == tp->n || tp->m[i].len != sizeof format - 1 || memcmp(p->text + tp->m[i].at, format, tp->m[i].len) != 0)
        return fail(MK_PLANFILE_NOT_A_PLAN, why, whylen, "not a moksha.plan/v1 document");
    return MK_PLANFILE_OK;
}

/* What a file not in moksha's signed form is, from a whole parse. */
static mk_planfile_status classify(const mk_planfile *p, const char *path, const verifier *v, char *why,
                                   size_t whylen)
{
    json_error_t je;
    json_t *plan = json_loadb(p->text, p->len, JSON_REJECT_DUPLICATES, &je);
    if (!plan) {
        mk_errmsg_json(path, &je, p->text, p->len, why, whylen);
        return MK_PLANFILE_UNREADABLE;
    }
    json_t *sig = json_object_get(plan, "signature"), *fmt = json_object_get(plan, "format");
    const char *val = json_string_value(json_object_get(sig, "value"));
    const char *kid = json_string_value(json_object_get(sig, "key_id"));
    mk_planfile_status st = MK_PLANFILE_TAMPERED;
    if (!json_is_object(plan) || !json_is_string(fmt) || strcmp(json_string_value(fmt), "moksha.plan/v1") != 0)
        st = fail(MK_PLANFILE_NOT_A_PLAN, why, whylen, "not a moksha.plan/v1 document");
    else if (!val || !kid || (!v->t && strlen(val) != 64))
        st = fail(MK_PLANFILE_UNSIGNED, why, whylen, MSG_UNSIGNED);
    else if (!v->t && strcmp(kid, v->k->id) != 0)
        st = fail(MK_PLANFILE_WRONG_KEY, why, whylen, MSG_WRONG_KEY);
    else
        fail(st, why, whylen, MSG_TAMPERED); /* signed, but not as the text moksha writes */
    json_decref(plan);
    return st;
}

static mk_planfile_status read_plan(mk_planfile *p, const char *path, const verifier *v, char *why,
                                    size_t whylen)
{
    size_t sat, end, after;
    json_t *sig = signature_tail(p->text, p->len, &sat, &end);
    if (!sig)
        return classify(p, path, v, why, whylen);
    top tp = {.state = SIZE_MAX, .changes = SIZE_MAX};
    mk_planfile_status st;
    if (proven(p, v, sig, sat, end, &tp, &st, why, whylen) &&
        (st = walk_rest(p, path, &tp, sat, end, why, whylen)) == MK_PLANFILE_OK &&
        (st = top_names(path, p->text, &tp, why, whylen)) == MK_PLANFILE_OK &&
        (st = top_values(p, path, &tp, sig, v->t != NULL, why, whylen)) == MK_PLANFILE_OK && tp.changes != SIZE_MAX && !tp.indexed &&
        p->text[tp.m[tp.changes].at] == '[') /* the changes came before the state */
        st = index_changes(p, path, tp.m[tp.changes].at, end, &after, why, whylen);
    json_decref(sig);
    return st;
}

static mk_planfile_status open_verified(const char *path, const verifier *v, mk_planfile **out, char *why,
                                        size_t whylen)
{
    *out = NULL;
    mk_planfile *p = calloc(1, sizeof *p);
    if (!p || !(p->text = mk_fileio_read(path, &p->len))) {
        snprintf(why, whylen, "%s: %s", path, strerror(p ? errno : ENOMEM));
        free(p);
        return MK_PLANFILE_UNREADABLE;
    }
    mk_planfile_status st = read_plan(p, path, v, why, whylen);
    if (st != MK_PLANFILE_OK)
        mk_planfile_close(p);
    else
        *out = p;
    return st;
}

mk_planfile_status mk_planfile_open(const char *path, const mk_planfile_key *k, mk_planfile **out, char *why,
                                    size_t whylen)
{
    verifier v = {.k = k};
    return open_verified(path, &v, out, why, whylen);
}

mk_planfile_status mk_planfile_open_trusted(const char *path, const mk_trust *t, mk_trust_who *who, mk_planfile **out,
                                            char *why, size_t whylen)
{
    verifier v = {.t = t, .who = who};
    memset(who, 0, sizeof *who);
    who->name = "";
    return open_verified(path, &v, out, why, whylen);
}

json_t *mk_planfile_plan(const mk_planfile *p) { return p->plan; }

size_t mk_planfile_nchanges(const mk_planfile *p) { return p->nchanges; }

void mk_planfile_sha256(const mk_planfile *p, char out[65]) { mk_sha256_hex(p->text, p->len, out); }

/* note [plan defaults] in compiler/back/planfile.c, the executor's side:
 * of the defaults a plan leaves out, those whose absence exec.c would read
 * otherwise are put back into each change as it is parsed — its `id` (its
 * place in the list, from 1), `risk` "low", and the null of each unknown
 * attribute `after` leaves out (at its end, in after_unknown's order, where
 * the writer took them from) — so the change is what it is with them
 * written. The rest stay absent: exec.c takes an absent `depends_on`,
 * `sensitive`, `lifecycle` or `placement` as its default, and reads neither
 * a change's `cost` nor its placement's `offering` and `optimize`. */
void mk_planfile_put_back(json_t *c, size_t at)
{
    if (!json_is_object(c))
        return;
    if (!json_object_get(c, "id"))
        json_object_set_new(c, "id", json_integer((json_int_t)at + 1));
    if (!json_object_get(c, "risk"))
        json_object_set_new(c, "risk", json_string("low"));
    json_t *after = json_object_get(c, "after"), *u;
    size_t i;
    if (json_is_object(after))
        json_array_foreach(json_object_get(c, "after_unknown"), i, u)
            if (json_is_string(u) && !json_object_get(after, json_string_value(u)))
                json_object_set_new(after, json_string_value(u), json_null());
}

/* note [guarded steps] in exec.c: an update, replace, delete or move is
 * guarded against its `before`, so one without an object there could
 * overwrite a change made outside moksha unchecked. Only an import (its
 * object may not have been read yet) and a change with drift `gone`
 * (checked for absence) go without one. */
static bool guardable(json_t *c, char *why, size_t whylen)
{
    const char *a = json_string_value(json_object_get(c, "action")) ?: "";
    const char *drift = json_string_value(json_object_get(json_object_get(c, "drift"), "status"));
    bool needs = !strcmp(a, "update") || !strcmp(a, "replace") || !strcmp(a, "delete") || !strcmp(a, "move");
    if (!needs || (drift && !strcmp(drift, "gone")) || json_is_object(json_object_get(c, "before")))
        return true;
    snprintf(why, whylen, "the %s of %.300s has no `before` object to check the world against (a plan moksha makes "
             "always has one): refused", a, json_string_value(json_object_get(c, "address")) ?: "?");
    return false;
}

/* A change's `irreversible` (a delete or replace of a @stateful type, note
 * [plan defaults]: absent is false) is true or false, and true only of a
 * delete or a replace: the executor orders and undoes steps by it, so a
 * value it would have to guess at refuses the plan. */
static bool irreversible_ok(json_t *c, char *why, size_t whylen)
{
    json_t *v = json_object_get(c, "irreversible");
    const char *a = json_string_value(json_object_get(c, "action")) ?: "";
    if (!v || json_is_false(v) || (json_is_true(v) && (!strcmp(a, "delete") || !strcmp(a, "replace"))))
        return true;
    snprintf(why, whylen, "the %s of %.300s has %s: refused", a, json_string_value(json_object_get(c, "address")) ?: "?",
             json_is_true(v) ? "`irreversible` true, which only a delete or a replace can be"
                             : "an `irreversible` that is not true or false");
    return false;
}

/* A change's `via` (a bucket kept by an s3 or azure_blob block) is what the
 * plan's providers say of its provider block, or absent: the executor binds
 * the step by `provider`, so a `via` naming another kind would have shown a
 * reviewer a store the step does not go to. */
static bool via_ok(json_t *plan, json_t *c, char *why, size_t whylen)
{
    json_t *via = json_object_get(c, "via");
    const char *prov = json_string_value(json_object_get(c, "provider"));
    const char *kind = prov ? json_string_value(json_object_get(json_object_get(json_object_get(plan, "providers"), prov), "type")) : NULL;
    if (!via || (json_is_string(via) && kind && strcmp(json_string_value(via), kind) == 0))
        return true;
    snprintf(why, whylen, "the change of %.300s has a `via` that is not the kind of its provider block: refused",
             json_string_value(json_object_get(c, "address")) ?: "?");
    return false;
}

bool mk_planfile_irreversible(const json_t *change)
{
    return json_is_true(json_object_get(change, "irreversible"));
}

mk_planfile_status mk_planfile_take(mk_planfile *p, const char *path, json_t **out, char *why, size_t whylen)
{
    *out = NULL;
    json_t *list = json_object_get(p->plan, "changes");
    mk_jregion_begin(p->len * 12); /* note [plan memory] in jregion.c: the changes' parse only */
    for (size_t i = 0; !p->taken && i < p->nchanges; i++) {
        json_error_t je;
        json_t *c = parse_span(p->text, &p->changes[i], &je);
        if (!c) {
            mk_jregion_end();
            return parse_error(path, p->text, p->changes[i].at, &je, why, whylen);
        }
        mk_planfile_put_back(c, i);
        json_array_append_new(list, c);
        if (!guardable(c, why, whylen) || !irreversible_ok(c, why, whylen) || !via_ok(p->plan, c, why, whylen)) {
            mk_jregion_end();
            return MK_PLANFILE_NOT_A_PLAN;
        }
    }
    mk_jregion_end();
    p->taken = true;
    *out = json_incref(p->plan);
    return MK_PLANFILE_OK;
}

void mk_planfile_close(mk_planfile *p)
{
    if (!p)
        return;
    json_decref(p->plan);
    free(p->changes);
    free(p->text);
    free(p);
}

mk_planfile_status mk_planfile_load(const char *path, const mk_planfile_key *k, json_t **out, char *why, size_t whylen)
{
    mk_planfile *p;
    *out = NULL;
    mk_planfile_status st = mk_planfile_open(path, k, &p, why, whylen);
    if (st == MK_PLANFILE_OK)
        st = mk_planfile_take(p, path, out, why, whylen);
    mk_planfile_close(p);
    return st;
}

char *mk_planfile_unseal(const mk_planfile_key *k, json_t *secret)
{
    const char *sealed = json_string_value(json_object_get(json_object_get(secret, "$secret"), "sealed"));
    size_t slen = sealed ? strlen(sealed) : 0;
    if (slen < 40 || slen % 4)
        return NULL;
    uint8_t *buf = malloc(slen);
    int blen = buf ? EVP_DecodeBlock(buf, (const unsigned char *)sealed, (int)slen) : -1;
    if (blen < 28) {
        free(buf);
        return NULL;
    }
    blen -= (sealed[slen - 1] == '=') + (sealed[slen - 2] == '=');
    size_t clen = (size_t)blen - 28;
    char *plain = malloc(clen + 1);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0, ok = 0;
    if (plain && c) {
        EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->seal, buf);
        EVP_DecryptUpdate(c, (uint8_t *)plain, &len, buf + 12, (int)clen);
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, buf + 12 + clen);
        ok = EVP_DecryptFinal_ex(c, (uint8_t *)plain + len, &fin);
    }
    EVP_CIPHER_CTX_free(c);
    free(buf);
    if (ok != 1) {
        free(plain);
        return NULL;
    }
    plain[clen] = 0;
    return plain;
}

void mk_planfile_fingerprint(const mk_planfile_key *k, const void *data, size_t n, char out[65])
{
    uint8_t mac[32];
    unsigned int len = 32;
    HMAC(EVP_sha256(), k->seal, 32, data, n, mac, &len);
    to_hex(mac, 32, out);
    out[64] = 0;
}

char *mk_planfile_seal(const mk_planfile_key *k, const void *plain, size_t n)
{
    size_t blen = 12 + n + 16;
    uint8_t *buf = malloc(blen);
    char *out = malloc(4 * ((blen + 2) / 3) + 1);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    bool ok = buf && out && c && n <= INT_MAX - 32 && RAND_bytes(buf, 12) == 1 &&
              EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->seal, buf) == 1 &&
              EVP_EncryptUpdate(c, buf + 12, &len, plain, (int)n) == 1 &&
              EVP_EncryptFinal_ex(c, buf + 12 + len, &fin) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, buf + 12 + n) == 1;
    EVP_CIPHER_CTX_free(c);
    if (ok)
        EVP_EncodeBlock((unsigned char *)out, buf, (int)blen);
    free(buf);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* Does one result let the plan run? Its status must agree with its
 * enforcement and violations (note [policy results]). */
static bool result_ok(json_t *r)
{
    const char *st = json_string_value(json_object_get(r, "status")) ?: "";
    const char *enf = json_string_value(json_object_get(r, "enforcement")) ?: "";
    json_t *viol = json_object_get(r, "violations");
    if (!json_is_array(viol))
        return false;
    if (strcmp(st, "pass") == 0)
        return json_array_size(viol) == 0;
    if (strcmp(st, "warn") == 0)
        return strcmp(enf, "advisory") == 0;
    if (strcmp(st, "overridden") == 0)
        return strcmp(enf, "soft") == 0 &&
               !blank(json_string_value(json_object_get(json_object_get(r, "override"), "reason")) ?: "");
    return false; /* "fail", and anything else */
}

bool mk_planfile_policies_ok(json_t *plan, char *why, size_t whylen)
{
    json_t *results = json_object_get(plan, "policies"), *r; /* absent: none (note [plan defaults]) */
    size_t i;
    if (results && !json_is_array(results)) {
        snprintf(why, whylen, "the plan's policy results are not a list");
        return false;
    }
    json_array_foreach(results, i, r) {
        if (result_ok(r))
            continue;
        const char *name = json_string_value(json_object_get(r, "name")) ?: "(unnamed)";
        const char *enf = json_string_value(json_object_get(r, "enforcement")) ?: "?";
        const char *msg = json_string_value(json_object_get(json_array_get(json_object_get(r, "violations"), 0), "message"));
        snprintf(why, whylen, "policy `%s` (%s) failed%s%s; a plan whose policies fail is never applied%s", name, enf,
                 msg ? ": " : "", msg ? msg : "",
                 strcmp(enf, "soft") == 0 ? " (a soft policy may be overridden: moksha plan --override NAME --reason TEXT)" : "");
        return false;
    }
    return true;
}
