/* fuzz_parse — the lexer and the parser on one file, then the formatter on
 * the same text (it walks the token stream again), and the diagnostics
 * printed as text and JSON so that line and caret computation run too.
 * Invariant checked beyond "no crash": the formatter returns NULL exactly
 * when it reported an error, and a formatted text formats to itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/back/fmt.h"
#include "compiler/base/mem.h"
#include "compiler/front/parse.h"
#include "compiler/front/program.h"
#include "tests/fuzz/fuzz.h"

static FILE *sink;

static void print_diags(mk_program *p)
{
    if (!sink)
        sink = fopen("/dev/null", "w");
    mk_diag_print(p->diag, sink, MK_DIAG_TEXT, true);
    mk_diag_print(p->diag, sink, MK_DIAG_JSON, false);
}

/* fmt(fmt(x)) == fmt(x): the formatter's own output is canonical. */
static void check_idempotent(const char *once)
{
    mk_program *p = mk_program_new();
    uint32_t id = mk_src_add(&p->src, "once.moksha", once, strlen(once));
    mk_source *f = mk_src_get(&p->src, id);
    char *twice = mk_fmt_source(&p->ast, p->diag, id, f->text, (uint32_t)f->len);
    if (!twice || strcmp(once, twice) != 0) {
        fprintf(stderr, "fuzz_parse: formatting is not idempotent\n--- once:\n%s\n--- twice:\n%s\n", once,
                twice ? twice : "(error)");
        print_diags(p);
        abort();
    }
    mk_mem_free(twice);
    mk_program_free(p);
}

static void format(const uint8_t *data, size_t size)
{
    mk_program *p = mk_program_new();
    uint32_t id = mk_src_add(&p->src, "fuzz.moksha", (const char *)data, size);
    mk_source *f = mk_src_get(&p->src, id);
    char *out = mk_fmt_source(&p->ast, p->diag, id, f->text, (uint32_t)f->len);
    if ((out == NULL) != (mk_diag_errors(p->diag) > 0)) {
        fprintf(stderr, "fuzz_parse: fmt returned %s with %d errors\n", out ? "text" : "NULL", mk_diag_errors(p->diag));
        abort();
    }
    print_diags(p);
    mk_program_free(p);
    if (out)
        check_idempotent(out);
    mk_mem_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    mk_program *p = mk_program_new();
    uint32_t id = mk_src_add(&p->src, "fuzz.moksha", (const char *)data, size);
    mk_source *f = mk_src_get(&p->src, id);
    mk_parse_file(&p->ast, p->diag, id, f->text, (uint32_t)f->len);
    print_diags(p);
    mk_program_free(p);
    format(data, size);
    return 0;
}
