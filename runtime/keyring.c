/* keyring — the executor's keys and what it does with them to secrets.
 *
 * note [sealing]: a planner seals each secret to the executor's X25519
 * public key (docs/trust.md, "Sealing secrets to the executor"): an
 * ephemeral key pair, the shared secret through HKDF-SHA256 (salt: both
 * public keys, info "moksha-seal/v1") into an AES-256-GCM key, and the
 * resource's address and the attribute's path as the additional data. The
 * planner can seal but not open; and because the place is in the AAD, a
 * sealed value copied into another attribute or resource of a signed plan
 * fails its tag instead of reaching a provider that would show it. The
 * executor seals what it makes itself (a template joined with a secret in
 * it) the same way, to its own key, so the state holds one form only.
 *
 * The project-key forms (AES-256-GCM under the derived seal key, no place
 * bound) stay those of runtime/planfile.c; this module chooses between the
 * two by the mode, never by what a value says it is. */
#include "runtime/keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config.h"

#define SEAL_INFO "moksha-seal/v1"
#define FP_INFO "moksha-fingerprint/v1"
#define EPH 32
#define NONCE 12
#define TAG 16

static void to_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

void mk_keyring_key_id(const uint8_t raw[32], char id[17])
{
    uint8_t d[32];
    SHA256(raw, 32, d);
    to_hex(d, 8, id);
    id[16] = 0;
}

void mk_keyring_pub_text(const uint8_t pub[32], char out[53])
{
    memcpy(out, "x25519:", 7);
    EVP_EncodeBlock((unsigned char *)out + 7, pub, 32);
}

/* ---- X25519 keys ---- */

EVP_PKEY *mk_keyring_x25519_new(void)
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
    if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_keygen(c, &k) != 1)
        k = NULL;
    EVP_PKEY_CTX_free(c);
    return k;
}

bool mk_keyring_x25519_pub(EVP_PKEY *k, uint8_t pub[32])
{
    size_t n = 32;
    return k && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32;
}

char *mk_keyring_x25519_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data, *out = NULL;
    if (b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1) {
        long n = BIO_get_mem_data(b, &data);
        out = n > 0 ? malloc((size_t)n + 1) : NULL;
        if (out) {
            memcpy(out, data, (size_t)n);
            out[n] = 0;
        }
    }
    BIO_free_all(b); /* (BUF_MEM_free clears the buffer it frees: the key text does not linger) */
    return out;
}

EVP_PKEY *mk_keyring_x25519_read(const char *pem, size_t n)
{
    BIO *b = n <= INT_MAX ? BIO_new_mem_buf(pem, (int)n) : NULL;
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (k && EVP_PKEY_id(k) != EVP_PKEY_X25519) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

void mk_keyring_x25519_free(EVP_PKEY *k) { EVP_PKEY_free(k); }

/* ---- note [sealing] ---- */

/* The AES key of one sealed value: HKDF-SHA256 of X25519(priv, peer), salted
 * with the ephemeral and the executor's public keys, in that order. */
static bool seal_key(EVP_PKEY *priv, const uint8_t peer[32], const uint8_t eph[32], const uint8_t exec[32],
                     uint8_t key[32])
{
    uint8_t shared[32], salt[64];
    size_t n = 32, kn = 32;
    EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
    EVP_PKEY_CTX *d = p ? EVP_PKEY_CTX_new(priv, NULL) : NULL;
    bool ok = d && EVP_PKEY_derive_init(d) == 1 && EVP_PKEY_derive_set_peer(d, p) == 1 &&
              EVP_PKEY_derive(d, shared, &n) == 1 && n == 32; /* (an all-zero result, a low-order peer, fails here) */
    EVP_PKEY_CTX_free(d);
    EVP_PKEY_free(p);
    memcpy(salt, eph, 32);
    memcpy(salt + 32, exec, 32);
    EVP_PKEY_CTX *h = ok ? EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL) : NULL;
    ok = h && EVP_PKEY_derive_init(h) == 1 && EVP_PKEY_CTX_set_hkdf_md(h, EVP_sha256()) == 1 &&
         EVP_PKEY_CTX_set1_hkdf_salt(h, salt, 64) == 1 && EVP_PKEY_CTX_set1_hkdf_key(h, shared, 32) == 1 &&
         EVP_PKEY_CTX_add1_hkdf_info(h, (const uint8_t *)SEAL_INFO, sizeof SEAL_INFO - 1) == 1 &&
         EVP_PKEY_derive(h, key, &kn) == 1 && kn == 32;
    EVP_PKEY_CTX_free(h);
    OPENSSL_cleanse(shared, sizeof shared);
    return ok;
}

/* "moksha-seal/v1" 0 ADDRESS 0 PATH (malloc'd, *n bytes). */
static uint8_t *seal_aad(const char *address, const char *path, size_t *n)
{
    size_t a = strlen(address), p = strlen(path), k = sizeof SEAL_INFO;
    uint8_t *aad = malloc(k + a + 1 + p);
    if (!aad)
        return NULL;
    memcpy(aad, SEAL_INFO, k); /* with its NUL */
    memcpy(aad + k, address, a + 1);
    memcpy(aad + k + a + 1, path, p);
    *n = k + a + 1 + p;
    return aad;
}

/* AES-256-GCM of in (n bytes) into out (n bytes, then the tag), or the
 * reverse when !enc (in holds the tag after its n bytes). */
static bool gcm(bool enc, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t an,
                const uint8_t *in, size_t n, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    bool ok = c && n <= INT_MAX - 32 && an <= INT_MAX &&
              EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc) == 1 &&
              EVP_CipherUpdate(c, NULL, &len, aad, (int)an) == 1 &&
              EVP_CipherUpdate(c, out, &len, in, (int)n) == 1;
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, (void *)(in + n)) == 1;
    ok = ok && EVP_CipherFinal_ex(c, out + len, &fin) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, out + n) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

char *mk_keyring_seal_to(const uint8_t pub[32], const char *address, const char *path, const void *text, size_t n)
{
    size_t blen = EPH + NONCE + n + TAG, an = 0;
    uint8_t *buf = n <= INT_MAX / 2 ? malloc(blen) : NULL, key[32], *aad = seal_aad(address, path, &an);
    char *out = buf ? malloc(4 * ((blen + 2) / 3) + 1) : NULL;
    EVP_PKEY *eph = mk_keyring_x25519_new();
    bool ok = out && aad && mk_keyring_x25519_pub(eph, buf) && RAND_bytes(buf + EPH, NONCE) == 1 &&
              seal_key(eph, pub, buf, pub, key) &&
              gcm(true, key, buf + EPH, aad, an, text, n, buf + EPH + NONCE);
    if (ok)
        EVP_EncodeBlock((unsigned char *)out, buf, (int)blen);
    EVP_PKEY_free(eph);
    OPENSSL_cleanse(key, sizeof key);
    free(aad);
    free(buf);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

/* Standard base64 with padding into a malloc'd buffer; *n its bytes. */
static uint8_t *unbase64(const char *t, size_t *n)
{
    size_t tl = t ? strlen(t) : 0;
    if (tl < 4 || tl % 4 || tl > INT_MAX)
        return NULL;
    uint8_t *b = malloc(tl);
    int bl = b ? EVP_DecodeBlock(b, (const unsigned char *)t, (int)tl) : -1;
    if (bl < 0) {
        free(b);
        return NULL;
    }
    *n = (size_t)bl - (t[tl - 1] == '=') - (t[tl - 2] == '=');
    return b;
}

char *mk_keyring_unseal_with(EVP_PKEY *priv, const char *address, const char *path, const char *sealed, size_t *n)
{
    size_t bn = 0, an = 0;
    uint8_t *b = unbase64(sealed, &bn), key[32], pub[32];
    uint8_t *aad = b && bn >= EPH + NONCE + TAG ? seal_aad(address, path, &an) : NULL;
    size_t cn = aad ? bn - EPH - NONCE - TAG : 0;
    char *plain = aad ? malloc(cn + 1) : NULL;
    bool ok = plain && mk_keyring_x25519_pub(priv, pub) && seal_key(priv, b, b, pub, key) &&
              gcm(false, key, b + EPH, aad, an, b + EPH + NONCE, cn, (uint8_t *)plain);
    OPENSSL_cleanse(key, sizeof key);
    free(aad);
    free(b);
    if (!ok) {
        if (plain)
            OPENSSL_cleanse(plain, cn);
        free(plain);
        return NULL;
    }
    plain[cn] = 0;
    if (n)
        *n = cn;
    return plain;
}

void mk_keyring_fingerprint(const uint8_t key[32], const char *address, const char *path, const void *text, size_t n,
                            char out[65])
{
    size_t a = strlen(address) + 1, p = strlen(path) + 1, k = sizeof FP_INFO; /* each with its NUL */
    uint8_t mac[32], *msg = n <= SIZE_MAX - k - a - p ? malloc(k + a + p + n) : NULL;
    unsigned int len = 32;
    if (msg) {
        memcpy(msg, FP_INFO, k);
        memcpy(msg + k, address, a);
        memcpy(msg + k + a, path, p);
        memcpy(msg + k + a + p, text, n);
    }
    if (!msg || !HMAC(EVP_sha256(), key, 32, msg, k + a + p + n, mac, &len))
        memset(mac, 0, sizeof mac); /* out of memory: no fingerprint matches it */
    if (msg)
        OPENSSL_cleanse(msg, k + a + p + n);
    free(msg);
    to_hex(mac, 32, out);
    out[64] = 0;
}

/* ---- the key directory ---- */

/* A private file of the key directory into buf (at most cap-1 bytes, NUL
 * ended): a regular file of the executor's user that no one else can read
 * or write; false with why. Opened without following a link or blocking on
 * a FIFO, and checked on the descriptor read. */
static bool read_private(const char *path, char *buf, size_t cap, size_t *len, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd < 0)
        return snprintf(why, whylen, "cannot read %s: %s%s", path, strerror(errno),
                        errno == ENOENT ? " (make the executor's keys with `moksha-exec key new`)" : ""), false;
    bool ok = fstat(fd, &sb) == 0;
    if (ok && !S_ISREG(sb.st_mode))
        ok = (snprintf(why, whylen, "%s is not a regular file", path), false);
    else if (ok && sb.st_uid != geteuid())
        ok = (snprintf(why, whylen, "%s is owned by uid %u, not by the user the executor runs as (uid %u): its keys are "
                       "its own", path, (unsigned)sb.st_uid, (unsigned)geteuid()), false);
    else if (ok && (sb.st_mode & 077))
        ok = (snprintf(why, whylen, "%s can be read or written by others (mode %04o): `chmod 600 %s`, and rotate the "
                       "keys if others may have read it", path, (unsigned)(sb.st_mode & 07777), path), false);
    size_t n = 0;
    ssize_t r;
    while (ok && n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    buf[n] = 0;
    *len = n;
    return ok;
}

/* The directory: the executor's user's, writable by no one else (whoever
 * could write it could put their own keys there). */
static bool dir_ok(const char *dir, char *why, size_t whylen)
{
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return snprintf(why, whylen, "the executor's key directory %s: %s%s", dir, strerror(errno),
                        errno == ENOENT ? " (make it with `moksha-exec key new`)" : ""), false;
    if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 022))
        return snprintf(why, whylen, "the executor's key directory %s must be a directory of uid %u that no one else can "
                        "write (it is mode %04o, uid %u): `chmod 700 %s`", dir, (unsigned)geteuid(),
                        (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid, dir), false;
    return true;
}

static bool hex32(const char *t, size_t n, uint8_t out[32])
{
    while (n && strchr(" \t\r\n", t[n - 1]))
        n--;
    if (n != 64 || strspn(t, "0123456789abcdefABCDEF") < 64)
        return false;
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(t + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (uint8_t)v;
    }
    return true;
}

/* DIR/seal.key, the X25519 private key (or another name, for rotation). */
static EVP_PKEY *read_seal(const char *dir, const char *name, char *why, size_t whylen)
{
    char path[4200], buf[4096];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    EVP_PKEY *k = read_private(path, buf, sizeof buf, &n, why, whylen) ? mk_keyring_x25519_read(buf, n) : NULL;
    if (!k && n)
        snprintf(why, whylen, "%s is not an X25519 private key (PEM, PKCS#8; `moksha-exec key new` makes one)", path);
    OPENSSL_cleanse(buf, sizeof buf);
    return k;
}

static bool set_seal(mk_keyring *kr, EVP_PKEY *k)
{
    EVP_PKEY_free(kr->seal);
    kr->seal = k;
    if (!mk_keyring_x25519_pub(k, kr->seal_pub))
        return false;
    mk_keyring_key_id(kr->seal_pub, kr->seal_id);
    return true;
}

static bool load_dir(mk_keyring *kr, const char *dir, bool rotating, char *why, size_t whylen)
{
    memset(kr, 0, sizeof *kr);
    snprintf(kr->dir, sizeof kr->dir, "%s", dir);
    kr->trust = true;
    char path[4200], buf[256];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/" MK_KEYRING_SEAL_NEXT, dir);
    if (!dir_ok(dir, why, whylen))
        return false;
    if (!rotating && access(path, F_OK) == 0)
        return snprintf(why, whylen, "%s is there: a key rotation was interrupted, and the state may be sealed to that "
                        "key already; run `moksha-exec key rotate` to finish it", path), false;
    EVP_PKEY *k = read_seal(dir, MK_KEYRING_SEAL_KEY, why, whylen);
    if (!k || !set_seal(kr, k))
        return mk_keyring_free(kr), false;
    snprintf(path, sizeof path, "%s/" MK_KEYRING_AUDIT_KEY, dir);
    bool ok = read_private(path, buf, sizeof buf, &n, why, whylen);
    if (ok && !hex32(buf, n, kr->audit))
        ok = (snprintf(why, whylen, "%s is not an audit key (64 hex digits; `moksha-exec key new` makes one)", path), false);
    OPENSSL_cleanse(buf, sizeof buf);
    if (!ok)
        return mk_keyring_free(kr), false;
    kr->loaded = true;
    return true;
}

bool mk_keyring_load_dir(mk_keyring *kr, const char *dir, char *why, size_t whylen)
{
    return load_dir(kr, dir, false, why, whylen);
}

bool mk_keyring_load_rotating(mk_keyring *kr, const char *dir, char *why, size_t whylen)
{
    return load_dir(kr, dir, true, why, whylen);
}

void mk_keyring_from_project(mk_keyring *kr, const mk_planfile_key *k)
{
    memset(kr, 0, sizeof *kr);
    kr->project = *k;
    kr->loaded = true;
}

bool mk_keyring_open(mk_keyring *kr, const mk_config *cfg, const mk_planfile_key *project, const char *moksha_dir,
                     char *why, size_t whylen)
{
    mk_config own;
    bool read = !cfg;
    if (read && !mk_config_load(&own, why, whylen))
        return false;
    const mk_config *c = read ? &own : cfg;
    bool ok;
    const char *env = getenv("MOKSHA_KEY");
    if (c->trust.on && env && *env)
        ok = (snprintf(why, whylen, "MOKSHA_KEY is set, and this executor is in trust mode (%s has a trust section): it "
                       "uses no project key; unset MOKSHA_KEY", c->path), false);
    else if (c->trust.on)
        ok = mk_keyring_load_dir(kr, c->trust.keys, why, whylen);
    else if (project && project->id[0])
        ok = (mk_keyring_from_project(kr, project), true);
    else {
        mk_planfile_key k;
        if ((ok = mk_planfile_key_load(&k, moksha_dir, why, whylen)))
            mk_keyring_from_project(kr, &k);
        OPENSSL_cleanse(&k, sizeof k);
    }
    if (read)
        mk_config_free(&own);
    return ok;
}

void mk_keyring_free(mk_keyring *kr)
{
    EVP_PKEY_free(kr->seal);
    OPENSSL_cleanse(kr, sizeof *kr);
}

void mk_keyring_head_key(const mk_keyring *kr, uint8_t out[32])
{
    unsigned int len = 32;
    if (kr->trust)
        memcpy(out, kr->audit, 32);
    else
        HMAC(EVP_sha256(), kr->project.sign, 32, (const uint8_t *)"moksha audit head", 17, out, &len);
}

const char *mk_keyring_id(const mk_keyring *kr) { return kr->trust ? kr->seal_id : kr->project.id; }

/* ---- secrets at their place ---- */

char *mk_keyring_path_text(json_t *path) { return json_dumps(path, JSON_COMPACT | JSON_ENCODE_ANY); }

/* "ADDRESS: ATTR" for messages: the path's elements joined as the stack
 * writes them (env.DB_PASSWORD, users[1].pw). */
static void place_name(const char *address, json_t *path, char *out, size_t n)
{
    size_t k = (size_t)snprintf(out, n, "%s: ", address), i;
    json_t *e;
    json_array_foreach(path, i, e) {
        if (k >= n)
            break;
        if (json_is_integer(e))
            k += (size_t)snprintf(out + k, n - k, "[%lld]", (long long)json_integer_value(e));
        else
            k += (size_t)snprintf(out + k, n - k, "%s%s", i ? "." : "", json_string_value(e) ?: "?");
    }
}

static char *open_trust(const mk_keyring *kr, json_t *sec, const char *address, json_t *path, char *why, size_t whylen)
{
    char where[600];
    place_name(address, path, where, sizeof where);
    const char *to = json_string_value(json_object_get(sec, "to"));
    const char *sealed = json_string_value(json_object_get(sec, "sealed"));
    if (!to || !sealed)
        return snprintf(why, whylen, "%s: the secret is not sealed to an executor key (no `to`): this executor is in trust "
                        "mode and opens only secrets sealed to its key %s; plan again with MOKSHA_SEAL_TO set to it",
                        where, kr->seal_id), NULL;
    if (strcmp(to, kr->seal_id) != 0)
        return snprintf(why, whylen, "%s: the secret is sealed to key %.16s, not to this executor's key %s: plan again with "
                        "MOKSHA_SEAL_TO set to `moksha-exec key show`'s key", where, to, kr->seal_id), NULL;
    char *pt = mk_keyring_path_text(path);
    char *plain = pt ? mk_keyring_unseal_with(kr->seal, address, pt, sealed, NULL) : NULL;
    free(pt);
    if (!plain)
        snprintf(why, whylen, "%s: the sealed secret does not open here: it was sealed for another resource or attribute, "
                 "or altered", where);
    return plain;
}

char *mk_keyring_open_secret(const mk_keyring *kr, json_t *secret, const char *address, json_t *path, char *why,
                             size_t whylen)
{
    json_t *sec = json_object_get(secret, "$secret");
    if (kr->trust)
        return open_trust(kr, sec, address, path, why, whylen);
    char where[600];
    if (json_object_get(sec, "to")) {
        place_name(address, path, where, sizeof where);
        return snprintf(why, whylen, "%s: the secret is sealed to an executor key, and this executor has no trust "
                        "configured (docs/trust.md)", where), NULL;
    }
    char *plain = mk_planfile_unseal(&kr->project, secret);
    if (!plain) {
        place_name(address, path, where, sizeof where);
        snprintf(why, whylen, "%s: the sealed secret does not open with the project key %s", where, kr->project.id);
    }
    return plain;
}

char *mk_keyring_open_attr(const mk_keyring *kr, json_t *secret, const char *address, const char *attr)
{
    json_t *path = json_pack("[s]", attr);
    char why[512];
    char *t = path ? mk_keyring_open_secret(kr, secret, address, path, why, sizeof why) : NULL;
    json_decref(path);
    return t;
}

void mk_keyring_fingerprint_at(const uint8_t fpkey[32], const char *address, json_t *path, const char *text, size_t n,
                               char out[65])
{
    char *pt = mk_keyring_path_text(path);
    mk_keyring_fingerprint(fpkey, address, pt ? pt : "", text, n, out);
    free(pt);
}

json_t *mk_keyring_seal_secret(const mk_keyring *kr, const char *text, size_t n, const char *address, json_t *path,
                               const uint8_t *fpkey)
{
    char fp[65] = "", *sealed;
    if (!kr->trust) {
        sealed = mk_planfile_seal(&kr->project, text, n);
        mk_planfile_fingerprint(&kr->project, text, n, fp);
        json_t *out = sealed ? json_pack("{s:{s:s, s:s}}", "$secret", "fingerprint", fp, "sealed", sealed) : NULL;
        free(sealed);
        return out;
    }
    char *pt = mk_keyring_path_text(path);
    sealed = pt ? mk_keyring_seal_to(kr->seal_pub, address, pt, text, n) : NULL;
    if (sealed && fpkey)
        mk_keyring_fingerprint(fpkey, address, pt, text, n, fp);
    json_t *out = sealed ? json_pack("{s:{s:s, s:s}}", "$secret", "to", kr->seal_id, "sealed", sealed) : NULL;
    if (out && fpkey)
        json_object_set_new(json_object_get(out, "$secret"), "fingerprint", json_string(fp));
    free(pt);
    free(sealed);
    return out;
}

/* ---- key files ---- */

bool mk_keyring_write_file(const char *path, const char *text, unsigned mode, bool exclusive)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC), (mode_t)mode);
    size_t n = strlen(text);
    bool ok = fd >= 0 && write(fd, text, n) == (ssize_t)n && fchmod(fd, (mode_t)mode) == 0 && fsync(fd) == 0;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    return ok;
}

void mk_keyring_pub_line(const uint8_t pub[32], char out[64])
{
    mk_keyring_pub_text(pub, out);
    strcat(out, " executor\n");
}

EVP_PKEY *mk_keyring_read_seal(const char *dir, const char *name, char *why, size_t whylen)
{
    return read_seal(dir, name, why, whylen);
}

bool mk_keyring_set_seal(mk_keyring *kr, EVP_PKEY *k) { return set_seal(kr, k); }

bool mk_keyring_dir_ok(const char *dir, char *why, size_t whylen) { return dir_ok(dir, why, whylen); }
