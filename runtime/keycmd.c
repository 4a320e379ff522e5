/* keycmd — making and showing the executor's keys. A key that is there is
 * never written over: `key new` makes only what is missing (a run stopped
 * half way is finished by running it again), and replacing the seal key is
 * `key rotate`, which re-seals the state to the new one. */
#include "runtime/keycmd.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/exitcode.h"
#include "runtime/fileio.h"
#include "runtime/keyring.h"
#include "runtime/rand.h"

typedef struct args {
    char dir[4096];
    bool json;
} args;

/* [--dir DIR] [--format text|json] (format only when show); the directory
 * defaults to the configuration's trust.keys. */
static bool parse(int argc, char **argv, bool show, args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--dir") == 0 && v && *v)
            snprintf(a->dir, sizeof a->dir, "%s", v), i++;
        else if (show && strcmp(argv[i], "--format") == 0 && v && (!strcmp(v, "json") || !strcmp(v, "text")))
            a->json = strcmp(v, "json") == 0, i++;
        else
            return fprintf(stderr, "usage: moksha-exec key %s\n",
                           show ? "show [--dir DIR] [--format text|json]" : "new [--dir DIR]"), false;
    }
    if (*a->dir)
        return true;
    mk_config cfg;
    char why[1024];
    if (!mk_config_load(&cfg, why, sizeof why))
        return fprintf(stderr, "moksha-exec: error: %s\n", why), false;
    bool on = cfg.trust.on;
    if (on)
        snprintf(a->dir, sizeof a->dir, "%s", cfg.trust.keys);
    else
        fprintf(stderr, "moksha-exec: error: %s has no trust section, so the executor has no keys of its own (it uses "
                "the project key); give the key directory with --dir DIR, or configure trust (docs/trust.md)\n",
                *cfg.path ? cfg.path : "the executor's configuration");
    mk_config_free(&cfg);
    return on;
}

static bool exists(const char *dir, const char *name)
{
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &sb) == 0;
}

/* The directory, mode 0700 (its parents as mkdir -p makes them). */
static bool make_dir(const char *dir)
{
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        if (!mk_fileio_mkdirs(parent))
            return false;
    }
    return mkdir(dir, 0700) == 0 || errno == EEXIST;
}

static bool new_seal(const char *dir, EVP_PKEY **k)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/" MK_KEYRING_SEAL_KEY, dir);
    *k = mk_keyring_x25519_new();
    char *pem = *k ? mk_keyring_x25519_pem(*k) : NULL;
    bool ok = pem && mk_keyring_write_file(path, pem, 0600, true);
    if (pem) {
        OPENSSL_cleanse(pem, strlen(pem));
        free(pem);
    }
    return ok;
}

static bool new_audit(const char *dir)
{
    char path[4200], hex[66];
    snprintf(path, sizeof path, "%s/" MK_KEYRING_AUDIT_KEY, dir);
    mk_rand_hex(hex, 32);
    strcat(hex, "\n");
    bool ok = mk_keyring_write_file(path, hex, 0600, true);
    OPENSSL_cleanse(hex, sizeof hex);
    return ok;
}

/* What is missing, made; made names them. */
static bool make_keys(const char *dir, char *made, size_t n, char *why, size_t whylen)
{
    bool have_seal = exists(dir, MK_KEYRING_SEAL_KEY);
    EVP_PKEY *k = NULL;
    bool ok = have_seal ? (k = mk_keyring_read_seal(dir, MK_KEYRING_SEAL_KEY, why, whylen)) != NULL : new_seal(dir, &k);
    if (ok && !have_seal)
        strncat(made, " " MK_KEYRING_SEAL_KEY, n - strlen(made) - 1);
    if (ok && !exists(dir, MK_KEYRING_AUDIT_KEY)) {
        ok = new_audit(dir);
        strncat(made, " " MK_KEYRING_AUDIT_KEY, n - strlen(made) - 1);
    }
    uint8_t pub[32];
    char line[64], path[4200];
    snprintf(path, sizeof path, "%s/" MK_KEYRING_SEAL_PUB, dir);
    if (ok && !exists(dir, MK_KEYRING_SEAL_PUB)) {
        ok = mk_keyring_x25519_pub(k, pub);
        mk_keyring_pub_line(pub, line);
        ok = ok && mk_keyring_write_file(path, line, 0644, true);
        strncat(made, " " MK_KEYRING_SEAL_PUB, n - strlen(made) - 1);
    }
    if (!ok && !*why)
        snprintf(why, whylen, "cannot write the keys in %.900s: %s", dir, strerror(errno));
    mk_keyring_x25519_free(k);
    return ok;
}

int mk_keycmd_new(int argc, char **argv)
{
    args a;
    char why[1024] = "", made[128] = "";
    if (!parse(argc, argv, false, &a))
        return MK_EXIT_INPUT;
    if (!make_dir(a.dir) || !mk_keyring_dir_ok(a.dir, why, sizeof why)) {
        fprintf(stderr, "moksha-exec: error: %s\n", *why ? why : strerror(errno));
        return MK_EXIT_INPUT;
    }
    if (exists(a.dir, MK_KEYRING_SEAL_KEY) && exists(a.dir, MK_KEYRING_AUDIT_KEY) && exists(a.dir, MK_KEYRING_SEAL_PUB)) {
        fprintf(stderr, "moksha-exec: error: %s holds the executor's keys already (seal.key, seal.pub, audit.key): nothing "
                "was written; `moksha-exec key rotate` replaces the seal key\n", a.dir);
        return MK_EXIT_INPUT;
    }
    if (!make_keys(a.dir, made, sizeof made, why, sizeof why)) {
        fprintf(stderr, "moksha-exec: error: %s\n", why);
        return MK_EXIT_INPUT;
    }
    mk_keyring kr;
    if (!mk_keyring_load_dir(&kr, a.dir, why, sizeof why)) {
        fprintf(stderr, "moksha-exec: error: %s\n", why);
        return MK_EXIT_INPUT;
    }
    char text[53];
    mk_keyring_pub_text(kr.seal_pub, text);
    printf("Made the executor's keys in %s:%s.\nSeal key %s (id %s): planners set MOKSHA_SEAL_TO to it, or to %s/seal.pub.\n",
           a.dir, made, text, kr.seal_id, a.dir);
    mk_keyring_free(&kr);
    return MK_EXIT_OK;
}

int mk_keycmd_show(int argc, char **argv)
{
    args a;
    char why[1024];
    mk_keyring kr;
    if (!parse(argc, argv, true, &a))
        return MK_EXIT_INPUT;
    if (!mk_keyring_load_dir(&kr, a.dir, why, sizeof why)) {
        fprintf(stderr, "moksha-exec: error: %s\n", why);
        return MK_EXIT_INPUT;
    }
    char text[53], line[64];
    mk_keyring_pub_text(kr.seal_pub, text);
    mk_keyring_pub_line(kr.seal_pub, line);
    if (a.json) {
        json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "key", text, "name", "executor", "id", kr.seal_id, "dir", a.dir);
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(doc);
    } else {
        printf("%sid: %s\n", line, kr.seal_id);
    }
    mk_keyring_free(&kr);
    return MK_EXIT_OK;
}
