/* fuzz — what the libFuzzer harnesses of tests/fuzz/ share.
 *
 * Each harness (fuzz_NAME.c) defines LLVMFuzzerTestOneInput and nothing
 * else the others define, so the same source links two ways: with
 * -fsanitize=fuzzer into build/fuzz/fuzzers/fuzz_NAME (make fuzz), and with
 * standalone.c into BUILD/fuzz-regress/fuzz_NAME, which replays the inputs
 * kept in tests/fuzz/regress/NAME/ (make test, make sanitize).
 *
 * common.c provides a scratch file for harnesses whose code under test reads
 * a path (allocation failure aborts: the library's default handler). */
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

#endif
