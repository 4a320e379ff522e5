/* standalone — a main() for the harnesses without libFuzzer: runs
 * LLVMFuzzerTestOneInput once on each file named on the command line. This
 * is how the inputs in tests/fuzz/regress/ replay under plain gcc builds,
 * ASan builds and valgrind, where -fsanitize=fuzzer is not available. */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *more = realloc(buf, cap *= 2);
            if (!more)
                free(buf);
            buf = more;
        }
    }
    fclose(f);
    if (!buf) {
        fputs("standalone: out of memory\n", stderr);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int bad = 0;
    for (int i = 1; i < argc; i++)
        bad |= run_file(argv[i]);
    return bad;
}
