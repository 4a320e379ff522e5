/* key — project key loading and its uses, all through OpenSSL. */
#include "compiler/key.h"

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

#include "compiler/mem.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = 0;
}

static void derive(mk_key *k, const uint8_t *master, size_t n)
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), master, (int)n, (const uint8_t *)"moksha plan signature", 21, k->sign, &len);
    len = 32;
    HMAC(EVP_sha256(), master, (int)n, (const uint8_t *)"moksha secret sealing", 21, k->seal, &len);
    uint8_t d[32];
    SHA256(k->sign, 32, d);
    hex(d, 8, k->id);
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
    hex(raw, 32, text);
    strcat(text, "\n");
    OPENSSL_cleanse(raw, sizeof raw);
    /* written whole under a temporary name, then linked into place: a plan
     * running beside us never reads a key file still being written (it
     * used to find it empty: "too short to be a key"), and link, unlike
     * rename, fails when someone else made the key first: theirs is used */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return false;
    }
    bool ok = fchmod(fd, 0600) == 0 && write(fd, text, 65) == 65 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    OPENSSL_cleanse(text, sizeof text);
    if (ok && link(tmp, path) != 0 && errno != EEXIST)
        ok = false;
    int saved = errno;
    unlink(tmp);
    if (!ok)
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
    return ok;
}

bool mk_key_load(mk_key *k, const char *moksha_dir, bool create, char *err, size_t errlen)
{
    memset(k, 0, sizeof *k);
    const char *env = getenv("MOKSHA_KEY");
    if (env && *env) {
        derive(k, (const uint8_t *)env, strlen(env));
        k->source = "MOKSHA_KEY";
        return true;
    }
    static char path[4096];
    snprintf(path, sizeof path, "%s/key", moksha_dir);
    FILE *f = fopen(path, "rb");
    if (!f && errno == ENOENT && create) {
        if (!create_key_file(moksha_dir, path, err, errlen))
            return false;
        f = fopen(path, "rb");
    }
    if (!f) {
        snprintf(err, errlen, "no project key: set MOKSHA_KEY or create %s (moksha plan does)", path);
        return false;
    }
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    if (n < 16) {
        snprintf(err, errlen, "%s is too short to be a key", path);
        return false;
    }
    derive(k, (const uint8_t *)buf, n);
    OPENSSL_cleanse(buf, sizeof buf);
    k->source = path;
    return true;
}

void mk_key_sign(const mk_key *k, const void *data, size_t n, char out[65])
{
    uint8_t mac[32];
    unsigned int len = 32;
    HMAC(EVP_sha256(), k->sign, 32, data, n, mac, &len);
    hex(mac, 32, out);
}

void mk_key_fingerprint(const mk_key *k, const void *data, size_t n, char out[65])
{
    uint8_t mac[32];
    unsigned int len = 32;
    HMAC(EVP_sha256(), k->seal, 32, data, n, mac, &len);
    hex(mac, 32, out);
}

void mk_key_sha256_hex(const void *data, size_t n, char out[65])
{
    uint8_t d[32];
    SHA256(data, n, d);
    hex(d, 32, out);
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
