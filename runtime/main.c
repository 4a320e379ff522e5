/* moksha-exec — the executor. It reads plan files only, never .moksha
 * source. For now it reports its version; running plans comes with the
 * executor capability. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/mem.h"

_Noreturn void mk_mem_oom(void)
{
    fputs("moksha-exec: error: out of memory\n", stderr);
    exit(1);
}

static void usage(FILE *out)
{
    fputs("usage: moksha-exec [--version] [--help] PLAN\n"
          "\n"
          "Runs a signed moksha plan file against its providers.\n"
          "Applying plans is not available in this version: use `moksha plan` to produce plans.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("moksha-exec %s\n", MK_VERSION);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 1;
}
