/* fuzz_program — the whole front end on one file, as `moksha check FILE`
 * runs it: the file is written to a scratch directory and compiled (load
 * with the stdlib, imports, then evaluation and type checking) on the
 * compiler's big-stack thread, and the diagnostics are printed. Odd-sized
 * inputs compile strictly, as `moksha plan` does (a variable without a value
 * is an error), so both modes of the evaluator run. */
#include <stdio.h>

#include "compiler/pipeline.h"
#include "compiler/base/diag.h"
#include "compiler/front/program.h"
#include "tests/fuzz/fuzz.h"

static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    if (!sink)
        sink = fopen("/dev/null", "w");
    const char *path = mk_fuzz_write("main.moksha", data, size);
    mk_pipeline_req r = {0};
    r.paths = &path;
    r.npaths = 1;
    r.strict = size % 2 == 1;
    r.p = mk_program_new();
    mk_pipeline_compile(&r);
    mk_diag_print(r.p->diag, sink, MK_DIAG_TEXT, false);
    mk_diag_print(r.p->diag, sink, MK_DIAG_JSON, false);
    mk_program_free(r.p);
    return 0;
}
