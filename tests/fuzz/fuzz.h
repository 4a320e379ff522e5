/* fuzz — what the libFuzzer harnesses of tests/fuzz/ share.
 *
 * Each harness (fuzz_NAME.c) defines LLVMFuzzerTestOneInput and nothing
 * else the others define, so the same source links two ways: with
 * -fsanitize=fuzzer into build/fuzz/fuzzers/fuzz_NAME (make fuzz), and with
 * standalone.c into BUILD/fuzz-regress/fuzz_NAME, which replays the inputs
 * kept in tests/fuzz/regress/NAME/ (make test, make sanitize).
 *
 * common.c provides a scratch file for harnesses whose code under test reads
 * a path (allocation failure aborts: the library's default handler), and
 * the fixed roots the trust harnesses sign with. */
#ifndef MK_FUZZ_H
#define MK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write data to a file in this process's scratch directory (made on first
 * use, removed at exit) and return its path, which stays valid until the
 * next call. name is the file's base name, such as "main.moksha". Aborts
 * when the disk refuses: a harness cannot go on without its input. */
const char *mk_fuzz_write(const char *name, const uint8_t *data, size_t size);

/* The scratch directory itself. */
const char *mk_fuzz_dir(void);

/* A broken invariant: "HARNESS: what: why" (why may be NULL) on stderr,
 * then abort, so that libFuzzer keeps the input. */
__attribute__((noreturn)) void mk_fuzz_broken(const char *harness, const char *what, const char *why);

/* The executor's trust section of fuzz_trust and fuzz_trustfile: three
 * fixed roots pinned, threshold 2, and a key directory of its own in the
 * scratch directory without trust.seen. Root i is the Ed25519 key whose
 * 32-byte seed is the byte 0xA0 + i repeated, so that `moksha trust sign`
 * signs seeds with it too (tests/fuzz/regress/README); key[i] gets its
 * private key, text[i] its public key's text, which cfg's roots borrow. */
#define MK_FUZZ_NROOTS 3
struct evp_pkey_st;
struct mk_config_trust;
void mk_fuzz_trust_roots(struct mk_config_trust *cfg, struct evp_pkey_st *key[MK_FUZZ_NROOTS],
                         char text[MK_FUZZ_NROOTS][53]);

#endif
