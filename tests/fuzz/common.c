/* common — the scratch directory of a fuzzing process (allocation failure
 * takes the library's default handler, which aborts, so libFuzzer keeps the
 * input). The
 * directory lives in TMPDIR and is removed at exit, so a run of millions of
 * inputs writes one file over and over. */
#include "tests/fuzz/fuzz.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/mem.h"
#include "runtime/config.h"

static char scratch[4096];
static char file[4096 + 256];
static char keys[4096];

static void remove_scratch(void)
{
    if (file[0])
        unlink(file);
    if (keys[0])
        rmdir(keys);
    rmdir(scratch);
}

const char *mk_fuzz_dir(void)
{
    if (scratch[0])
        return scratch;
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/moksha-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(scratch)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(remove_scratch);
    return scratch;
}

const char *mk_fuzz_write(const char *name, const uint8_t *data, size_t size)
{
    const char *dir = mk_fuzz_dir();
    if (file[0])
        unlink(file);
    snprintf(file, sizeof file, "%s/%s", dir, name);
    FILE *f = fopen(file, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror("fuzz: writing the input");
        abort();
    }
    return file;
}

void mk_fuzz_broken(const char *harness, const char *what, const char *why)
{
    fprintf(stderr, "%s: %s%s%s\n", harness, what, why ? ": " : "", why ? why : "");
    abort();
}

void mk_fuzz_trust_roots(mk_config_trust *cfg, EVP_PKEY *key[MK_FUZZ_NROOTS], char text[MK_FUZZ_NROOTS][53])
{
    memset(cfg, 0, sizeof *cfg);
    for (int i = 0; i < MK_FUZZ_NROOTS; i++) {
        uint8_t seed[32], raw[32];
        size_t n = sizeof raw;
        memset(seed, 0xA0 + i, sizeof seed);
        key[i] = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof seed);
        if (!key[i] || EVP_PKEY_get_raw_public_key(key[i], raw, &n) != 1) {
            fputs("fuzz: cannot make a root key\n", stderr);
            abort();
        }
        memcpy(text[i], "ed25519:", 8);
        EVP_EncodeBlock((unsigned char *)text[i] + 8, raw, 32);
        cfg->roots[i] = text[i];
    }
    cfg->on = true;
    cfg->nroots = MK_FUZZ_NROOTS;
    cfg->threshold = 2;
    snprintf(keys, sizeof keys, "%.4000s/keys", mk_fuzz_dir());
    if (mkdir(keys, 0700) != 0) {
        perror("fuzz: mkdir keys");
        abort();
    }
    memcpy(cfg->keys, keys, sizeof keys);
}
