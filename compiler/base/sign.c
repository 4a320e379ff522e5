/* sign — Ed25519 key pairs, key files and typed signatures (sign.h), all
 * through OpenSSL's EVP. Not for the project key's HMAC (key.c), nor for
 * what a signed payload means. */
#include "compiler/base/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/key.h"
#include "compiler/base/mem.h"

#define PUB_PREFIX "ed25519:"
#define PUB_PREFIX_LEN 8
#define MESSAGE_HEAD "moksha-signature/v1"
#define KEY_FILE_MAX (64 * 1024) /* a PEM Ed25519 key is 119 bytes */

const char *mk_sign_type_name(mk_sign_type t)
{
    static const char *const NAMES[] = {"plan", "approval", "boundary", "trust"};
    return NAMES[t];
}

bool mk_sign_name_ok(const char *s, size_t n)
{
    if (!n || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

void mk_sign_id(const uint8_t raw[32], char id[MK_SIGN_ID_LEN])
{
    char d[65];
    mk_key_sha256_hex(raw, 32, d);
    memcpy(id, d, 16);
    id[16] = 0;
}

static void pub_text(const uint8_t raw[32], char pub[MK_SIGN_PUB_LEN])
{
    memcpy(pub, PUB_PREFIX, PUB_PREFIX_LEN);
    EVP_EncodeBlock((unsigned char *)pub + PUB_PREFIX_LEN, raw, 32);
}

/* Exactly the text pub_text writes: another spelling of the same bytes
 * (a non-zero pad bit, blanks) would let one key be listed twice under two
 * texts, and a trust file's "no duplicate keys" rests on one text a key. */
bool mk_sign_parse_public(const char *text, uint8_t raw[32])
{
    if (strlen(text) != MK_SIGN_PUB_LEN - 1 || memcmp(text, PUB_PREFIX, PUB_PREFIX_LEN) != 0)
        return false;
    const char *b = text + PUB_PREFIX_LEN;
    for (size_t i = 0; i < 43; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", b[i]) || !b[i])
            return false;
    uint8_t buf[33];
    if (b[43] != '=' || EVP_DecodeBlock(buf, (const unsigned char *)b, 44) != 33)
        return false;
    char again[MK_SIGN_PUB_LEN];
    pub_text(buf, again);
    if (strcmp(again, text) != 0)
        return false;
    memcpy(raw, buf, 32);
    return true;
}

static bool raw_public(EVP_PKEY *key, uint8_t raw[32])
{
    size_t n = 32;
    return EVP_PKEY_get_raw_public_key(key, raw, &n) == 1 && n == 32;
}

void mk_sign_public(EVP_PKEY *key, char pub[MK_SIGN_PUB_LEN], char id[MK_SIGN_ID_LEN])
{
    uint8_t raw[32] = {0};
    raw_public(key, raw); /* (an Ed25519 key always has one: mk_sign_load checked the type) */
    pub_text(raw, pub);
    mk_sign_id(raw, id);
}

void mk_sign_free(EVP_PKEY *key) { EVP_PKEY_free(key); }

/* ---- key files ---- */

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k, n -= (size_t)k;
    }
    return true;
}

/* path made with text, mode, never over anything there (O_EXCL, and no
 * link followed); removed again when it cannot be written whole. */
static bool create_file(const char *path, const char *text, size_t n, mode_t mode, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errlen, errno == EEXIST ? "%s exists: a key is never overwritten (choose another name, or remove "
                 "it if it is no longer used)" : "cannot create %s: %s", path, strerror(errno));
        return false;
    }
    bool ok = fchmod(fd, mode) == 0 && write_all(fd, text, n) && fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(path);
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
    }
    return ok;
}

/* The PEM (PKCS#8) text of key, malloc'd (mk_mem_free, after cleansing). */
static char *pem_of(EVP_PKEY *key, size_t *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *text = NULL, *data;
    if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1) {
        long len = BIO_get_mem_data(b, &data);
        text = mk_mem_alloc((size_t)len + 1);
        memcpy(text, data, (size_t)len);
        text[len] = 0;
        *n = (size_t)len;
        OPENSSL_cleanse(data, (size_t)len);
    }
    BIO_free(b);
    return text;
}

static bool write_pair(EVP_PKEY *key, const char *dir, const char *name, const char *pub, char *err, size_t errlen)
{
    char kpath[4096], ppath[4096], line[MK_SIGN_PUB_LEN + MK_SIGN_NAME_MAX + 4];
    snprintf(kpath, sizeof kpath, "%s/%s.key", dir, name);
    snprintf(ppath, sizeof ppath, "%s/%s.pub", dir, name);
    if (access(ppath, F_OK) == 0) { /* before the private half is made: nothing half-written */
        snprintf(err, errlen, "%s exists: a key is never overwritten (choose another name, or remove it if it is no "
                 "longer used)", ppath);
        return false;
    }
    size_t n = 0;
    char *pem = pem_of(key, &n);
    if (!pem) {
        snprintf(err, errlen, "cannot write the new key as PEM (OpenSSL)");
        return false;
    }
    bool ok = create_file(kpath, pem, n, 0600, err, errlen);
    OPENSSL_cleanse(pem, n);
    mk_mem_free(pem);
    int ln = snprintf(line, sizeof line, "%s %s\n", pub, name);
    if (ok && !(ok = create_file(ppath, line, (size_t)ln, 0644, err, errlen)))
        unlink(kpath); /* ours, made a moment ago: a private key without its .pub is of no use */
    if (ok) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* the new names on the disk too */
        if (fd >= 0)
            fsync(fd), close(fd);
    }
    return ok;
}

bool mk_sign_generate(const char *dir, const char *name, char pub[MK_SIGN_PUB_LEN], char id[MK_SIGN_ID_LEN],
                      char *err, size_t errlen)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    bool ok = c && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_keygen(c, &key) == 1;
    EVP_PKEY_CTX_free(c);
    if (!ok) {
        snprintf(err, errlen, "cannot make an Ed25519 key (OpenSSL)");
        return false;
    }
    mk_sign_public(key, pub, id);
    ok = write_pair(key, dir, name, pub, err, errlen);
    EVP_PKEY_free(key);
    return ok;
}

/* No passphrase is ever asked for: an encrypted key is refused, rather than
 * OpenSSL prompting on the terminal of a CI job. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* The key file's bytes into buf (at most cap-1); -1 when it is refused (err). */
static long read_key_file(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
    unsigned mode = 0;
    long n = mk_key_read_small(path, buf, cap, &mode);
    if (n < 0)
        snprintf(err, errlen, n == -1 ? "cannot read the key %s: %s" : "the key %s is not a regular file%.0s", path,
                 strerror(errno));
    else if (mode & 077) {
        snprintf(err, errlen, "the key %s can be read by others (mode %04o): `chmod 600 %s`, and make a new key if "
                 "others may have read it", path, mode, path);
        n = -1;
    }
    return n < 0 ? -1 : n;
}

EVP_PKEY *mk_sign_load(const char *path, char *err, size_t errlen)
{
    char *buf = mk_mem_alloc(KEY_FILE_MAX);
    long n = read_key_file(path, buf, KEY_FILE_MAX, err, errlen);
    EVP_PKEY *key = NULL;
    if (n >= 0) {
        BIO *b = BIO_new_mem_buf(buf, (int)n);
        key = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
        BIO_free(b);
        if (!key)
            snprintf(err, errlen, "%s is not a PEM private key (an unencrypted PKCS#8 key, as `moksha key new` "
                     "writes)", path);
        else if (EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
            snprintf(err, errlen, "%s is not an Ed25519 key (make one with `moksha key new NAME`)", path);
            EVP_PKEY_free(key);
            key = NULL;
        }
    }
    OPENSSL_cleanse(buf, KEY_FILE_MAX);
    mk_mem_free(buf);
    return key;
}

/* ---- typed messages ---- */

/* "moksha-signature/v1" 0x00 TYPE 0x00 PAYLOAD, malloc'd. */
static uint8_t *message(mk_sign_type type, const void *payload, size_t n, size_t *len)
{
    const char *t = mk_sign_type_name(type);
    size_t hn = sizeof MESSAGE_HEAD, tn = strlen(t) + 1; /* (each with its NUL) */
    uint8_t *m = mk_mem_alloc(hn + tn + n + 1);
    memcpy(m, MESSAGE_HEAD, hn);
    memcpy(m + hn, t, tn);
    if (n)
        memcpy(m + hn + tn, payload, n);
    *len = hn + tn + n;
    return m;
}

bool mk_sign_message(EVP_PKEY *key, mk_sign_type type, const void *payload, size_t n, char sig[MK_SIGN_SIG_LEN])
{
    size_t len = 0, slen = 64;
    uint8_t *m = message(type, payload, n, &len), raw[64];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestSignInit(c, NULL, NULL, NULL, key) == 1 && EVP_DigestSign(c, raw, &slen, m, len) == 1 &&
              slen == 64;
    EVP_MD_CTX_free(c);
    mk_mem_free(m);
    if (ok)
        EVP_EncodeBlock((unsigned char *)sig, raw, 64);
    else
        sig[0] = 0;
    return ok;
}

bool mk_sign_verify(const char *pub, mk_sign_type type, const void *payload, size_t n, const char *sig)
{
    uint8_t raw[32], s[66];
    if (!mk_sign_parse_public(pub, raw) || strlen(sig) != MK_SIGN_SIG_LEN - 1 || sig[86] != '=' || sig[87] != '=' ||
        EVP_DecodeBlock(s, (const unsigned char *)sig, 88) != 66)
        return false;
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
    size_t len = 0;
    uint8_t *m = message(type, payload, n, &len);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = key && c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, key) == 1 && EVP_DigestVerify(c, s, 64, m, len) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(key);
    mk_mem_free(m);
    return ok;
}
