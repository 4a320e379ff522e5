/* historycmd — `state history` and `state show --serial N` (historycmd.h):
 * what mk_backend_history and mk_backend_state_text give, worded. The
 * backend verifies the chain; this says which serial broke it, and never
 * goes on past a damaged one. Nothing here takes the lock or writes: a
 * reader of a local state reads one file, of postgres one transaction
 * (runtime/backend.h). */
#include "runtime/historycmd.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/backend.h"
#include "runtime/config.h"
#include "runtime/errmsg.h"
#include "runtime/exitcode.h"
#include "runtime/paths.h"

#define HISTORY_USAGE "usage: moksha-exec state history [--stack NAME] [--format text|json]\n"
#define SHOW_USAGE "usage: moksha-exec state show --serial N [--stack NAME] [ADDRESS]\n"

typedef struct hargs {
    const char *stack, *address;
    long long serial;
    bool json, has_serial;
} hargs;

static bool serial_arg(const char *s, long long *out)
{
    char *end;
    long long v = s && *s ? strtoll(s, &end, 10) : -1;
    if (!s || !*s || *end || v < 0)
        return false;
    *out = v;
    return true;
}

/* The words after `history` or `show`; false (said) on a bad one. */
static bool parse(int argc, char **argv, hargs *h, const char *usage)
{
    *h = (hargs){.stack = mk_backend_stack(), .serial = -1}; /* --stack is main.c's (note [options anywhere]) */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (!strcmp(a, "--format") && v && (!strcmp(v, "json") || !strcmp(v, "text")))
            h->json = !strcmp(v, "json"), i++;
        else if (!strcmp(a, "--serial"))
            ok = serial_arg(v, &h->serial) && (h->has_serial = true), i++;
        else if (a[0] != '-' && !h->address)
            h->address = a;
        else
            ok = false;
        if (!ok) {
            fprintf(stderr, "moksha-exec: error: bad argument `%s`\n%s", a, usage);
            return false;
        }
    }
    return true;
}

mk_backend *mk_historycmd_open(mk_config *cfg, const char *kind, const char *stack, char *why, size_t whylen)
{
    if (!mk_config_load(cfg, why, whylen))
        return NULL;
    mk_backend *b = mk_backend_open(cfg, kind, stack, mk_paths_now.env, why, whylen);
    if (!b)
        mk_config_free(cfg);
    return b;
}

/* A history row's count (a number, or a list's length) as text; "-"
 * where the backend does not know it (local's two serials). */
static const char *count_of(json_t *v, char buf[24])
{
    if (json_is_array(v))
        snprintf(buf, 24, "%zu", json_array_size(v));
    else if (json_is_integer(v))
        snprintf(buf, 24, "%lld", (long long)json_integer_value(v));
    else
        snprintf(buf, 24, "-");
    return buf;
}

static const char *text_of(json_t *r, const char *key)
{
    const char *s = json_string_value(json_object_get(r, key));
    return s && *s ? s : "-";
}

static void history_text(json_t *rows, const mk_backend_info *in)
{
    printf("History of %s%s%s%s (%s): %zu serial%s, chain verified.\n", in->stack[0] ? in->stack : "the stack",
           in->env[0] ? " (env " : "", in->env, in->env[0] ? ")" : "", in->location, json_array_size(rows),
           json_array_size(rows) == 1 ? "" : "s");
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        char c[24], d[24];
        printf("%6lld  %-24s %-12s %-36s %s changed, %s removed\n",
               (long long)json_integer_value(json_object_get(r, "serial")), text_of(r, "time"), text_of(r, "operation"),
               text_of(r, "run"), count_of(json_object_get(r, "changed"), c), count_of(json_object_get(r, "removed"), d));
    }
}

int mk_historycmd_history(int argc, char **argv)
{
    hargs h;
    mk_config cfg;
    char why[1024];
    if (!parse(argc, argv, &h, HISTORY_USAGE))
        return MK_EXIT_INPUT;
    if (h.address || h.has_serial) {
        fputs(HISTORY_USAGE, stderr);
        return MK_EXIT_INPUT;
    }
    mk_backend *b = mk_historycmd_open(&cfg, NULL, h.stack, why, sizeof why);
    json_t *rows = b ? mk_backend_history(b, why, sizeof why) : NULL;
    int rc = rows ? 0 : MK_EXIT_INPUT;
    if (!rows) {
        mk_errmsg_print(why);
    } else if (h.json) {
        json_t *doc = json_pack("{s:s, s:o, s:O}", "format", "moksha.history/v1", "backend", mk_backend_binding(b),
                                "serials", rows);
        json_dumpf(doc, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(doc);
    } else {
        history_text(rows, mk_backend_info_of(b));
    }
    json_decref(rows);
    if (b) {
        mk_backend_close(b);
        mk_config_free(&cfg);
    }
    return rc;
}

/* One entry of a state's text, as `state show ADDRESS` prints it. */
static int show_entry(const char *text, size_t n, long long serial, const char *address)
{
    json_error_t je;
    json_t *doc = json_loadb(text, n, 0, &je), *hit = NULL, *e;
    size_t i;
    json_array_foreach(json_object_get(doc, "resources"), i, e)
        if (!hit && !strcmp(json_string_value(json_object_get(e, "address")) ?: "", address))
            hit = e;
    int rc = 0;
    if (!doc) {
        fprintf(stderr, "moksha-exec: error: serial %lld does not parse: line %d: %s\n", serial, je.line, je.text);
        rc = MK_EXIT_INPUT;
    } else if (!hit) {
        fprintf(stderr, "moksha-exec: error: serial %lld has no resource `%s`\n", serial, address);
        rc = MK_EXIT_INPUT;
    } else {
        json_dumpf(hit, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    }
    json_decref(doc);
    return rc;
}

int mk_historycmd_show(int argc, char **argv)
{
    hargs h;
    mk_config cfg;
    char why[1024] = "";
    if (!parse(argc, argv, &h, SHOW_USAGE))
        return MK_EXIT_INPUT;
    if (!h.has_serial || h.json) {
        fputs(SHOW_USAGE, stderr);
        return MK_EXIT_INPUT;
    }
    mk_backend *b = mk_historycmd_open(&cfg, NULL, h.stack, why, sizeof why);
    size_t n = 0;
    bool absent = false;
    char *text = b ? mk_backend_state_text(b, h.serial, &n, &absent, why, sizeof why) : NULL;
    int rc = MK_EXIT_INPUT;
    if (absent)
        fprintf(stderr, "moksha-exec: error: no serial %lld in the history: %s\n", h.serial,
                why[0] ? why : "the stack has no state yet");
    else if (!text)
        mk_errmsg_print(why);
    else if (h.address)
        rc = show_entry(text, n, h.serial, h.address);
    else
        rc = fwrite(text, 1, n, stdout) == n ? 0 : MK_EXIT_INPUT;
    free(text);
    if (b) {
        mk_backend_close(b);
        mk_config_free(&cfg);
    }
    return rc;
}

bool mk_historycmd_wants_show(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--serial"))
            return true;
    return false;
}
