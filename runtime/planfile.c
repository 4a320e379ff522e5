/* planfile — loading and verifying signed plans (SHA-256 of the body's
 * bytes, HMAC-SHA256 over the statement of that digest, AES-256-GCM), with
 * the key derivation of docs/formats.md. A loaded plan keeps its omitted
 * defaults omitted: its readers (runtime/exec.c) take an absent field as
 * its default. */
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

static bool mac_matches(const mk_planfile_key *k, const char *s, size_t n, const char *want)
{
    uint8_t mac[32];
    unsigned int len = 32;
    char hex[65];
    HMAC(EVP_sha256(), k->sign, 32, (const uint8_t *)s, n, mac, &len);
    to_hex(mac, 32, hex);
    return CRYPTO_memcmp(hex, want, 64) == 0;
}

/* The body's SHA-256 from the file's bytes: a plan as moksha writes it is
 * the compact body with the signature appended as its last key, so the body
 * is the text before `,"signature":` closed by `}` — checked by rebuilding
 * that tail from the parsed signature. False when the text is not in that
 * form: any other text (re-spaced, a key after the signature) is refused. */
static bool body_digest(const char *text, size_t n, json_t *sig, char digest[65])
{
    char *tail = json_dumps(sig, JSON_COMPACT | JSON_PRESERVE_ORDER);
    static const char key[] = ",\"signature\":";
    size_t tn = tail ? strlen(tail) : 0, kn = sizeof key - 1;
    if (n > 0 && text[n - 1] == '\n')
        n--;
    bool ok = tail && n > kn + tn + 1 && text[n - 1] == '}' && memcmp(text + n - 1 - tn, tail, tn) == 0 &&
              memcmp(text + n - 1 - tn - kn, key, kn) == 0;
    free(tail);
    if (!ok)
        return false;
    uint8_t d[32];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(md, text, n - 1 - tn - kn) == 1 &&
         EVP_DigestUpdate(md, "}", 1) == 1 && EVP_DigestFinal_ex(md, d, NULL) == 1;
    EVP_MD_CTX_free(md);
    to_hex(d, 32, digest);
    return ok;
}

/* note [plan statement] in compiler/back/planfile.c, built again here: the
 * digest and the plan's identity, compact, in this key order. */
static bool statement_matches(const mk_planfile_key *k, json_t *plan, const char *digest, const char *want)
{
    json_t *st = json_object_get(plan, "state"), *s = json_object();
    json_t *sid = json_object_get(st, "stack_id");
    json_object_set_new(s, "format", json_string("moksha.plan/v1"));
    json_object_set_new(s, "digest", json_string(digest));
    if (json_is_string(sid))
        json_object_set(s, "stack_id", sid);
    json_object_set_new(s, "lineage", json_string(json_string_value(json_object_get(st, "lineage")) ?: ""));
    json_object_set_new(s, "serial", json_integer(json_integer_value(json_object_get(st, "serial"))));
    char *text = json_dumps(s, JSON_COMPACT | JSON_PRESERVE_ORDER);
    bool ok = text && mac_matches(k, text, strlen(text), want);
    free(text);
    json_decref(s);
    return ok;
}

/* The fields of moksha.plan/v1 by object (note [plan fields] in
 * compiler/back/planfile.c): anything else is a newer moksha's plan. */
static const char *const TOP_KEYS[] = {"format", "stack", "inputs_digest", "destroy", "state", "providers", "changes",
                                       "gates", "policies", "outputs", "totals", "cost", "signature", NULL};
static const char *const CHANGE_KEYS[] = {"id", "address", "type", "name", "provider", "action", "deposed", "before",
                                          "after", "after_unknown", "sensitive", "changed", "replace_because",
                                          "depends_on", "risk", "cost", "lifecycle", "placement", "refs",
                                          "risk_raised_by", NULL};
static const char *const STATE_KEYS[] = {"stack_id", "lineage", "serial", NULL};
static const char *const SIGNATURE_KEYS[] = {"algorithm", "key_id", "digest", "value", NULL};

static bool listed(const char *const *names, const char *k)
{
    for (; *names; names++)
        if (strcmp(*names, k) == 0)
            return true;
    return false;
}

/* Refuse a field the executor does not know; true when there is none. */
static bool only_known(json_t *o, const char *const *names, const char *where, char *why, size_t whylen)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
        if (!listed(names, k)) {
            snprintf(why, whylen, "%s has a field `%s` this moksha-exec does not know: the plan was made by a newer "
                     "moksha; plan again with the moksha that goes with this moksha-exec", where, k);
            return false;
        }
    return true;
}

static bool known_fields(json_t *plan, char *why, size_t whylen)
{
    bool ok = only_known(plan, TOP_KEYS, "the plan", why, whylen) &&
              only_known(json_object_get(plan, "state"), STATE_KEYS, "its state", why, whylen) &&
              only_known(json_object_get(plan, "signature"), SIGNATURE_KEYS, "its signature", why, whylen);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(plan, "changes"), i, c)
        ok = ok && only_known(c, CHANGE_KEYS, "a change", why, whylen);
    return ok;
}

/* The signature of a parsed plan against the bytes it was parsed from. */
static mk_planfile_status check_signature(const char *text, size_t n, json_t *plan, const mk_planfile_key *k, char *why,
                                          size_t whylen)
{
    json_t *sig = json_object_get(plan, "signature");
    const char *val = json_string_value(json_object_get(sig, "value"));
    const char *kid = json_string_value(json_object_get(sig, "key_id"));
    const char *dig = json_string_value(json_object_get(sig, "digest"));
    json_t *fmt = json_object_get(plan, "format");
    if (!json_is_object(plan) || !json_is_string(fmt) || strcmp(json_string_value(fmt), "moksha.plan/v1") != 0)
        return fail(MK_PLANFILE_NOT_A_PLAN, why, whylen, "not a moksha.plan/v1 document");
    if (!val || !kid || strlen(val) != 64)
        return fail(MK_PLANFILE_UNSIGNED, why, whylen, "the plan is not signed (moksha signs the plans of `moksha plan -o "
                                                       "FILE`, never one whose policies fail)");
    if (strcmp(kid, k->id) != 0)
        return fail(MK_PLANFILE_WRONG_KEY, why, whylen, "the plan was signed with another project key");
    char digest[65];
    if (!body_digest(text, n, sig, digest) || !dig || strcmp(dig, digest) != 0 ||
        !statement_matches(k, plan, digest, val))
        return fail(MK_PLANFILE_TAMPERED, why, whylen, "the signature does not match: the plan was altered after it was signed");
    if (!known_fields(plan, why, whylen))
        return MK_PLANFILE_UNKNOWN_FIELD;
    return MK_PLANFILE_OK;
}

mk_planfile_status mk_planfile_load(const char *path, const mk_planfile_key *k, json_t **out, char *why, size_t whylen)
{
    *out = NULL;
    json_error_t je;
    size_t n = 0;
    char *text = mk_fileio_read(path, &n);
    if (!text) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return MK_PLANFILE_UNREADABLE;
    }
    mk_jregion_begin(n * 16); /* note [plan memory] in jregion.c: the parse only */
    json_t *plan = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    mk_jregion_end();
    if (!plan) {
        char msg[600];
        mk_errmsg_json(path, &je, text, n, msg, sizeof msg);
        snprintf(why, whylen, "%s", msg);
        free(text);
        return MK_PLANFILE_UNREADABLE;
    }
    mk_planfile_status st = check_signature(text, n, plan, k, why, whylen);
    free(text);
    if (st != MK_PLANFILE_OK)
        json_decref(plan);
    else
        *out = plan;
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
