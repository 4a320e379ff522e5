/* fuzz_state — the compiler's reader of moksha.state/v1
 * (compiler/base/state.c, mk_state_read) on one file. Invariant checked beyond
 * "no crash": every resource of an accepted state is found again by its
 * address, at its own index. */
#include <stdio.h>
#include <stdlib.h>

#include "compiler/base/diag.h"
#include "compiler/base/source.h"
#include "compiler/base/state.h"
#include "tests/fuzz/fuzz.h"

static FILE *sink;

static void check_index(const mk_state *s)
{
    for (size_t i = 0; i < s->nres; i++) {
        const char *addr = json_string_value(json_object_get(s->res[i], "address"));
        size_t at = (size_t)-1;
        if (!addr || mk_state_find(s, addr, &at) != s->res[i] || at != i) {
            fprintf(stderr, "fuzz_state: resource %zu (%s) is not found at its index\n", i, addr ? addr : "?");
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sink)
        sink = fopen("/dev/null", "w");
    const char *path = mk_fuzz_write("state.json", data, size);
    mk_srcset src;
    mk_src_init(&src);
    mk_diag *diag = mk_diag_new(&src);
    mk_state *s = mk_state_read(path, diag);
    if (s)
        check_index(s);
    else if (mk_diag_errors(diag) == 0) {
        fputs("fuzz_state: a state was refused without a diagnostic\n", stderr);
        abort();
    }
    mk_diag_print(diag, sink, MK_DIAG_TEXT, false);
    mk_state_free(s);
    mk_diag_free(diag);
    mk_src_fini(&src);
    return 0;
}
