/* common — the scratch directory of a fuzzing process (allocation failure
 * takes the library's default handler, which aborts, so libFuzzer keeps the
 * input). The
 * directory lives in TMPDIR and is removed at exit, so a run of millions of
 * inputs writes one file over and over. */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/base/mem.h"

static char scratch[4096];
static char file[4096 + 256];

static void remove_scratch(void)
{
    if (file[0])
        unlink(file);
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
