/* key — project key loading and its uses, all through OpenSSL. */
#include "compiler/base/key.h"

#include <errno.h>
#include <fcntl.h>
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

#include "compiler/base/mem.h"

void mk_key_hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = 0;
}

/* note [key text]: MOKSHA_KEY and .moksha/key hold one of
 *   64 hex digits          32 bytes: what `moksha plan` writes (`openssl rand -hex 32`)
 *   44 characters base64   32 bytes (`openssl rand -base64 32`)
 *   passphrase:TEXT        TEXT of at least 16 bytes, stretched with scrypt
 *                          (N = 2^15, r = 8, p = 1) salted with "moksha key/v1 " and
 *                          the stack id, so one passphrase gives each stack its own key
 * Anything else is refused: a short or guessable text would sign and seal with
 * only the strength it has. The 32 bytes, as 64 lowercase hex digits (the text
 * of the key files written before the rule), key the two HMACs that derive the
 * sign and seal keys. runtime/planfile.c repeats this, for the house rule;
 * tests/unit/test_planfile.c checks that both sides agree. */
#define KEY_PASSPHRASE "passphrase:"
#define KEY_MIN_PASSPHRASE 16

static void derive(mk_key *k, const uint8_t raw[32])
{
    char master[65];
    mk_key_hex(raw, 32, master);
    unsigned int len = 32;
    HMAC(EVP_sha256(), master, 64, (const uint8_t *)"moksha plan signature", 21, k->sign, &len);
    len = 32;
    HMAC(EVP_sha256(), master, 64, (const uint8_t *)"moksha secret sealing", 21, k->seal, &len);
    OPENSSL_cleanse(master, sizeof master);
    uint8_t d[32];
    SHA256(k->sign, 32, d);
    mk_key_hex(d, 8, k->id);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

bool mk_key_from_hex(const char *t, size_t n, uint8_t *out, size_t len)
{
    if (n != 2 * len)
        return false;
    for (size_t i = 0; i < len; i++) {
        int hi = hexval(t[2 * i]), lo = hexval(t[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

bool mk_key_from_base64(const char *t, size_t n, uint8_t out[32])
{
    uint8_t buf[48];
    if (n != 44 || t[43] != '=' || t[42] == '=')
        return false;
    for (size_t i = 0; i < 43; i++)
        if (!(t[i] >= 'A' && t[i] <= 'Z') && !(t[i] >= 'a' && t[i] <= 'z') && !(t[i] >= '0' && t[i] <= '9') && t[i] != '+' &&
            t[i] != '/')
            return false;
    if (EVP_DecodeBlock(buf, (const unsigned char *)t, 44) != 33)
        return false;
    memcpy(out, buf, 32);
    OPENSSL_cleanse(buf, sizeof buf);
    return true;
}

/* The 32 key bytes of a key text (note [key text]): 1, 0 when it is not a
 * key (err says why), -1 for a passphrase when the stack has no id yet. */
static int key_bytes(const char *t, size_t n, const char *stack_id, const char *what, uint8_t out[32], char *err,
                     size_t errlen)
{
    size_t pn = sizeof KEY_PASSPHRASE - 1;
    if (n >= pn && memcmp(t, KEY_PASSPHRASE, pn) == 0) {
        if (n - pn < KEY_MIN_PASSPHRASE) {
            snprintf(err, errlen, "%s: the passphrase is %zu bytes long; a passphrase key needs at least %d", what, n - pn,
                     KEY_MIN_PASSPHRASE);
            return 0;
        }
        if (!*stack_id)
            return -1;
        char salt[64];
        int sn = snprintf(salt, sizeof salt, "moksha key/v1 %s", stack_id);
        if (EVP_PBE_scrypt(t + pn, n - pn, (const uint8_t *)salt, (size_t)sn, 1u << 15, 8, 1, 64u << 20, out, 32) != 1) {
            snprintf(err, errlen, "%s: cannot stretch the passphrase (scrypt failed)", what);
            return 0;
        }
        return 1;
    }
    if (mk_key_from_hex(t, n, out, 32) || mk_key_from_base64(t, n, out))
        return 1;
    snprintf(err, errlen,
             "%s is not a strong key: give 32 random bytes as 64 hex digits (`openssl rand -hex 32`) or base64 "
             "(`openssl rand -base64 32`), or `passphrase:` and at least %d characters",
             what, KEY_MIN_PASSPHRASE);
    return 0;
}

static void trim(const char **t, size_t *n)
{
    while (*n && strchr(" \t\r\n", (*t)[*n - 1]))
        (*n)--;
    while (*n && strchr(" \t\r\n", **t))
        (*t)++, (*n)--;
}

/* Opened without blocking and checked with fstat: a FIFO put in the key's
 * place would hang every command, and a directory "reads" as empty. */
long mk_key_read_small(const char *path, char *buf, size_t cap, unsigned *mode)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return -2;
    }
    if (mode)
        *mode = (unsigned)(sb.st_mode & 07777);
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    buf[n] = 0;
    return (long)n;
}

/* Make path with text, unless it exists (then true: theirs is used).
 * Written whole under a temporary name, then linked into place: a command
 * running beside us never reads a file still being written (it used to find
 * the key empty: "too short to be a key"), and link, unlike rename, fails
 * when someone else made the file first. */
static bool publish(const char *path, const char *text, size_t n, mode_t mode, char *err, size_t errlen)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return false;
    }
    bool ok = fchmod(fd, mode) == 0 && write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok && link(tmp, path) != 0 && errno != EEXIST)
        ok = false;
    int saved = errno;
    unlink(tmp);
    if (!ok)
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
    return ok;
}

/* .moksha/stack-id into id ("" when there is none); create makes one. */
static bool stack_id(const char *dir, bool create, char id[33], char *err, size_t errlen)
{
    char path[4096], buf[128];
    snprintf(path, sizeof path, "%s/stack-id", dir);
    long n = mk_key_read_small(path, buf, sizeof buf, NULL);
    id[0] = 0;
    if (n < 0 && errno == ENOENT && create) {
        uint8_t raw[16];
        char text[34];
        if (RAND_bytes(raw, sizeof raw) != 1) {
            snprintf(err, errlen, "cannot get random bytes for the stack id");
            return false;
        }
        mk_key_hex(raw, 16, text);
        strcat(text, "\n");
        mkdir(dir, 0755);
        if (!publish(path, text, 33, 0644, err, errlen))
            return false;
        n = mk_key_read_small(path, buf, sizeof buf, NULL);
    }
    if (n == -2) {
        snprintf(err, errlen, "%s is not a regular file: remove it (restore the stack id from where the state is kept)", path);
        return false;
    }
    if (n < 0)
        return errno == ENOENT || (snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno)), false);
    const char *t = buf;
    size_t len = (size_t)n;
    uint8_t raw[16];
    trim(&t, &len);
    if (!mk_key_from_hex(t, len, raw, 16)) {
        snprintf(err, errlen, "%s is not a stack id (32 hex digits); restore it from where the state is kept", path);
        return false;
    }
    memcpy(id, t, 32);
    id[32] = 0;
    return true;
}

static void throwaway(mk_key *k)
{
    uint8_t raw[32];
    RAND_bytes(raw, sizeof raw);
    derive(k, raw);
    OPENSSL_cleanse(raw, sizeof raw);
    k->source = "(none)";
    k->throwaway = true;
}

/* .moksha/key: create it with 32 random bytes, readable by the owner only. */
static bool create_key_file(const char *dir, const char *path, char *err, size_t errlen)
{
    mkdir(dir, 0755);
    uint8_t raw[32];
    char text[66];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        snprintf(err, errlen, "cannot get random bytes for a new key");
        return false;
    }
    mk_key_hex(raw, 32, text);
    OPENSSL_cleanse(raw, sizeof raw);
    strcat(text, "\n");
    bool ok = publish(path, text, 65, 0600, err, errlen);
    OPENSSL_cleanse(text, sizeof text);
    return ok;
}

/* The key text of the key file into buf: 1, 0 on error, -1 when missing. */
static int key_file(const char *dir, const char *path, mk_key_mode mode, char *buf, size_t cap, char *err, size_t errlen)
{
    long n = mk_key_read_small(path, buf, cap, NULL);
    if (n < 0 && errno == ENOENT && mode == MK_KEY_CREATE) {
        if (!create_key_file(dir, path, err, errlen))
            return 0;
        n = mk_key_read_small(path, buf, cap, NULL);
    }
    if (n < 0 && errno == ENOENT && (mode == MK_KEY_READ || mode == MK_KEY_STACK))
        return -1;
    if (n == -2) {
        snprintf(err, errlen, "%s is not a regular file: remove it and set MOKSHA_KEY or restore the key file", path);
        return 0;
    }
    if (n < 0) {
        snprintf(err, errlen, "no project key: set MOKSHA_KEY or create %s (`moksha plan -o` does)", path);
        return 0;
    }
    char next[4200];
    snprintf(next, sizeof next, "%s.next", path);
    if (access(next, F_OK) == 0) { /* note [key rotation] in runtime/rotate.c */
        snprintf(err, errlen, "an interrupted `moksha-exec key rotate` left %s: run it again to finish", next);
        return 0;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && (sb.st_mode & 077)) {
        snprintf(err, errlen, "%s can be read by others (mode %04o): `chmod 600 %s`, and rotate the key "
                 "(`moksha-exec key rotate`) if others may have read it", path, (unsigned)(sb.st_mode & 07777), path);
        return 0;
    }
    return 1;
}

bool mk_key_load(mk_key *k, const char *moksha_dir, mk_key_mode mode, char *err, size_t errlen)
{
    memset(k, 0, sizeof *k);
    if (!stack_id(moksha_dir, mode == MK_KEY_CREATE || mode == MK_KEY_STACK, k->stack_id, err, errlen))
        return false;
    static char path[4096];
    char buf[1024];
    const char *env = getenv("MOKSHA_KEY"), *text = env;
    snprintf(path, sizeof path, "%s/key", moksha_dir);
    k->source = "MOKSHA_KEY";
    if (!env || !*env) {
        int got = key_file(moksha_dir, path, mode, buf, sizeof buf, err, errlen);
        if (got <= 0) {
            if (got < 0)
                throwaway(k);
            return got < 0;
        }
        text = buf;
        k->source = path;
    }
    size_t n = strlen(text);
    uint8_t raw[32];
    trim(&text, &n);
    int r = key_bytes(text, n, k->stack_id, k->source, raw, err, errlen);
    OPENSSL_cleanse(buf, sizeof buf);
    if (r < 0 && mode == MK_KEY_READ) {
        const char *src = k->source;
        throwaway(k);
        k->source = src;
        return true;
    }
    if (r < 0)
        snprintf(err, errlen, "%s is a passphrase, salted with the stack id, and the stack has none yet "
                 "(%s/stack-id, made by the first signed plan)", k->source, moksha_dir);
    if (r <= 0)
        return false;
    derive(k, raw);
    OPENSSL_cleanse(raw, sizeof raw);
    return true;
}

void mk_key_sign(const mk_key *k, const void *data, size_t n, char out[65])
{
    uint8_t mac[32];
    unsigned int len = 32;
    HMAC(EVP_sha256(), k->sign, 32, data, n, mac, &len);
    mk_key_hex(mac, 32, out);
}

void mk_key_fingerprint(const mk_key *k, const void *data, size_t n, char out[65])
{
    uint8_t mac[32];
    unsigned int len = 32;
    HMAC(EVP_sha256(), k->seal, 32, data, n, mac, &len);
    mk_key_hex(mac, 32, out);
}

void mk_key_sha256_hex(const void *data, size_t n, char out[65])
{
    uint8_t d[32];
    SHA256(data, n, d);
    mk_key_hex(d, 32, out);
}

char *mk_key_seal(const mk_key *k, const void *plain, size_t n)
{
    size_t blen = 12 + n + 16;
    uint8_t *buf = mk_mem_alloc(blen);
    RAND_bytes(buf, 12);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->seal, buf);
    EVP_EncryptUpdate(c, buf + 12, &len, plain, (int)n);
    EVP_EncryptFinal_ex(c, buf + 12 + len, &fin);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, buf + 12 + n);
    EVP_CIPHER_CTX_free(c);
    char *out = mk_mem_alloc(4 * ((blen + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, buf, (int)blen);
    mk_mem_free(buf);
    return out;
}

char *mk_key_open(const mk_key *k, const char *sealed, size_t *n)
{
    size_t slen = strlen(sealed);
    if (slen % 4 || slen < 40)
        return NULL;
    uint8_t *buf = mk_mem_alloc(slen);
    int blen = EVP_DecodeBlock(buf, (const unsigned char *)sealed, (int)slen);
    if (blen < 28) {
        mk_mem_free(buf);
        return NULL;
    }
    blen -= (sealed[slen - 1] == '=') + (sealed[slen - 2] == '=');
    size_t clen = (size_t)blen - 28;
    char *plain = mk_mem_alloc(clen + 1);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->seal, buf);
    EVP_DecryptUpdate(c, (uint8_t *)plain, &len, buf + 12, (int)clen);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, buf + 12 + clen);
    int ok = EVP_DecryptFinal_ex(c, (uint8_t *)plain + len, &fin);
    EVP_CIPHER_CTX_free(c);
    mk_mem_free(buf);
    if (ok != 1) {
        mk_mem_free(plain);
        return NULL;
    }
    plain[clen] = 0;
    *n = clen;
    return plain;
}
