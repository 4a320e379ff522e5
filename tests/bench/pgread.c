/* pgread — benchmark helper: the postgres state backend's reads, timed in
 * the process (runtime/backend.h), on the database libpq's PG* settings
 * name and the schema MOKSHA_BENCH_SCHEMA (default moksha_bench).
 *
 *   pgread STACK import STATE.json   the file as the executor writes it, into an empty stack
 *   pgread STACK text                the state's bytes (what `state pull` hands a plan)
 *   pgread STACK load                the state as an apply loads it
 *   pgread - file STATE.json         the same from a local file, for comparison
 *
 * Prints "<what> <resources> <ms>" and exits 1 on an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/backend.h"
#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/rtstate.h"

static mk_config cfg;

static int import(mk_backend *b, const char *path, char *why, size_t whylen)
{
    mk_rtstate *s = mk_rtstate_load(path, why, whylen);
    if (!s)
        return 1;
    json_object_set_new(s->doc, "serial", json_integer(mk_rtstate_serial(s) - 1)); /* dump adds one */
    char *t = mk_rtstate_dump(s);
    size_t n = strlen(t), count = json_object_size(s->by_addr);
    t = realloc(t, n + 2);
    strcpy(t + n, "\n");
    double t0 = mk_clock_now_ms();
    bool ok = mk_backend_import(b, t, n + 1, NULL, 0, NULL, NULL, 0, why, whylen);
    if (ok)
        printf("import %zu %.0f\n", count, mk_clock_now_ms() - t0);
    free(t);
    mk_rtstate_free(s);
    return !ok;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: pgread STACK import STATE.json | text | load\n", stderr);
        return 2;
    }
    char why[1000];
    if (!strcmp(argv[2], "file") && argc > 3) { /* no server: the local backend's load */
        double t0 = mk_clock_now_ms();
        mk_rtstate *s = mk_rtstate_load(argv[3], why, sizeof why);
        if (s)
            printf("file %zu %.0f\n", json_object_size(s->by_addr), mk_clock_now_ms() - t0);
        else
            fprintf(stderr, "pgread: %s\n", why);
        mk_rtstate_free(s);
        return !s;
    }
    snprintf(cfg.state.backend, sizeof cfg.state.backend, "postgres");
    snprintf(cfg.state.pg.schema, sizeof cfg.state.pg.schema, "%s",
             getenv("MOKSHA_BENCH_SCHEMA") ? getenv("MOKSHA_BENCH_SCHEMA") : "moksha_bench");
    mk_backend *b = mk_backend_open(&cfg, NULL, argv[1], "", why, sizeof why);
    int rc = 1;
    double t0 = mk_clock_now_ms();
    if (!b) {
    } else if (!strcmp(argv[2], "import") && argc > 3) {
        rc = import(b, argv[3], why, sizeof why);
    } else if (!strcmp(argv[2], "text")) {
        size_t n;
        bool absent;
        char *t = mk_backend_state_text(b, -1, &n, &absent, why, sizeof why);
        if (t)
            printf("text %zu %.0f\n", n, mk_clock_now_ms() - t0);
        rc = !t;
        free(t);
    } else if (!strcmp(argv[2], "load")) {
        mk_rtstate *s = mk_backend_load(b, why, sizeof why);
        if (s)
            printf("load %zu %.0f\n", json_object_size(s->by_addr), mk_clock_now_ms() - t0);
        rc = !s;
        mk_rtstate_free(s);
    }
    if (rc)
        fprintf(stderr, "pgread: %s\n", b ? why : why);
    mk_backend_close(b);
    return rc;
}
