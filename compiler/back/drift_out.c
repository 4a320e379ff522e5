/* drift_out — a refresh report in words (drift_out.h). One line a
 * resource, as the plan's drift section says it: `~ ADDRESS changed
 * outside moksha: NAME OLD → NEW`, `- ADDRESS was deleted outside moksha`,
 * `? ADDRESS could not be read: WHY`. Values are shown as the state writes
 * them (compact JSON), references by their address, secrets never: only
 * whether the sealed value changed. Everything the report holds came from
 * providers and stacks, so markdown writes it through compiler/back/md.h. */
#include "compiler/back/drift_out.h"

#include <stdlib.h>
#include <string.h>

#include "compiler/back/md.h"
#include "compiler/base/jalloc.h"
#include "compiler/base/mem.h"

#define VALUE_MAX 80 /* bytes of a value shown; a file's content may be megabytes */

static const char *str(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static long long count(json_t *r, const char *k)
{
    return (long long)json_integer_value(json_object_get(json_object_get(r, "counts"), k));
}

bool mk_drift_out_is_report(json_t *report)
{
    const char *f = str(report, "format");
    return f && strcmp(f, "moksha.drift/v1") == 0 && json_is_object(json_object_get(report, "counts")) &&
           json_is_array(json_object_get(report, "resources"));
}

static const char *plural(long long n, const char *one, const char *many) { return n == 1 ? one : many; }

void mk_drift_out_summary(json_t *r, mk_buf *out)
{
    long long n = count(r, "resources"), d = count(r, "drifted"), g = count(r, "gone"), u = count(r, "unreadable"),
              ign = count(r, "ignored");
    if (d + g)
        mk_buf_printf(out, "Drift: %lld of %lld %s changed outside moksha (%lld changed, %lld gone)", d + g, n,
                      plural(n, "resource", "resources"), d, g);
    else if (u)
        mk_buf_printf(out, "No drift seen, but not everything could be read");
    else if (n == 0)
        mk_buf_printf(out, "No drift: the state records no resources");
    else
        mk_buf_printf(out, "No drift: %s %lld %s read back as recorded", n == 1 ? "the" : "all", n,
                      plural(n, "resource", "resources"));
    if (u)
        mk_buf_printf(out, "; %lld of %lld could not be read", u, n);
    if (ign)
        mk_buf_printf(out, "; %lld ignored (lifecycle drift = \"ignore\")", ign);
    mk_buf_putc(out, '.');
}

/* note [secret values]: a secret is never shown, not even sealed: only
 * whether the value read is the one moksha wrote. */
static void value(mk_buf *out, json_t *v)
{
    json_t *sec = json_object_get(v, "$secret"), *ref = json_object_get(v, "$ref");
    if (!v) {
        mk_buf_puts(out, "(absent)");
        return;
    }
    if (sec) {
        mk_buf_puts(out, json_is_true(json_object_get(sec, "differs")) ? "(sensitive, changed)" : "(sensitive)");
        return;
    }
    if (json_is_string(ref)) {
        mk_buf_puts(out, json_string_value(ref));
        return;
    }
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    size_t n = t ? strlen(t) : 0, cut = n;
    if (n > VALUE_MAX)
        for (cut = VALUE_MAX; cut > 0 && ((unsigned char)t[cut] & 0xC0) == 0x80; cut--) /* a whole UTF-8 character */
            ;
    mk_buf_put(out, t ? t : "null", t ? cut : 4);
    if (cut < n)
        mk_buf_puts(out, "…");
    mk_jalloc_free_text(t);
}

/* Does v hold a secret at any depth (a map with a secret member)? */
static bool holds_secret(json_t *v, int depth)
{
    if (json_is_object(v) && json_object_get(v, "$secret"))
        return true;
    size_t i;
    const char *k;
    json_t *x;
    if (depth > 64)
        return true; /* too deep to tell: not shown */
    if (json_is_array(v))
        json_array_foreach(v, i, x) if (holds_secret(x, depth + 1)) return true;
    if (json_is_object(v))
        json_object_foreach(v, k, x) if (holds_secret(x, depth + 1)) return true;
    return false;
}

/* One side of an attribute: a value that holds a secret anywhere, on
 * either side, is not shown at all — its other parts, or what a provider
 * read back where the secret was, would be (note [secret values]). */
static void side(mk_buf *out, json_t *res, const char *name, bool observed)
{
    json_t *rec = json_object_get(json_object_get(res, "recorded"), name);
    json_t *obs = json_object_get(json_object_get(res, "observed"), name);
    json_t *v = observed ? obs : rec;
    if (!json_object_get(v, "$secret") && (holds_secret(rec, 0) || holds_secret(obs, 0)))
        mk_buf_puts(out, observed ? "(sensitive, changed)" : "(sensitive)");
    else
        value(out, v);
}

/* `size "small" → "large", tags {…} → {…}`: each attribute that differs. */
static void changes(mk_buf *out, json_t *res, bool md)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(res, "attributes"), i, a) {
        const char *name = json_string_value(a);
        if (!name)
            continue;
        mk_buf v = {0};
        mk_buf_puts(out, i ? ", " : "");
        md ? mk_md_code(out, name, true) : mk_buf_puts(out, name);
        mk_buf_putc(out, ' ');
        side(&v, res, name, false);
        md ? mk_md_code(out, mk_buf_cstr(&v), true) : mk_buf_puts(out, mk_buf_cstr(&v));
        mk_buf_puts(out, " → ");
        v.len = 0;
        side(&v, res, name, true);
        md ? mk_md_code(out, mk_buf_cstr(&v), true) : mk_buf_puts(out, mk_buf_cstr(&v));
        mk_buf_free(&v);
    }
}

typedef struct pal {
    const char *changed, *gone, *unreadable, *dim, *off;
} pal;
static const pal ANSI = {"\033[33m", "\033[31m", "\033[35m", "\033[2m", "\033[0m"};
static const pal PLAIN = {"", "", "", "", ""};

static void text_line(mk_buf *out, json_t *res, const pal *c)
{
    const char *st = str(res, "status") ?: "", *addr = str(res, "address") ?: "?";
    bool report = str(res, "mode") && strcmp(str(res, "mode"), "report") == 0;
    if (strcmp(st, "gone") == 0)
        mk_buf_printf(out, "  %s-%s %s was deleted outside moksha", c->gone, c->off, addr);
    else if (strcmp(st, "unreadable") == 0)
        mk_buf_printf(out, "  %s?%s %s could not be read: %s", c->unreadable, c->off, addr, str(res, "error") ?: "(no reason given)");
    else {
        mk_buf_printf(out, "  %s~%s %s changed outside moksha: ", c->changed, c->off, addr);
        changes(out, res, false);
    }
    if (report)
        mk_buf_printf(out, " %s(drift = \"report\": not corrected)%s", c->dim, c->off);
    mk_buf_putc(out, '\n');
}

/* Objects read by id for an import (`refresh PLAN`). */
static void text_imports(mk_buf *out, json_t *imports)
{
    size_t i;
    json_t *im;
    json_array_foreach(imports, i, im)
        mk_buf_printf(out, "%s  + %s: %s read for import (%s)\n", i ? "" : "\n", str(im, "address") ?: "?",
                      str(im, "id") ?: "?", str(im, "status") ?: "?");
}

static int by_address(const void *a, const void *b)
{
    const char *x = str(*(json_t *const *)a, "address") ?: "", *y = str(*(json_t *const *)b, "address") ?: "";
    return strcmp(x, y);
}

/* The listed resources by address: the executor lists them as their reads
 * end, which is no order a reader (or a diff of two reports) can use. */
static json_t *sorted(json_t *list)
{
    size_t n = json_array_size(list);
    json_t **v = mk_mem_calloc(n + 1, sizeof *v), *out = json_array();
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(list, i);
    qsort(v, n, sizeof *v, by_address);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    mk_mem_free(v);
    return out;
}

/* One row a listed resource, by address, after head when there is any. */
static void rows(json_t *r, const char *head, void (*row)(mk_buf *, json_t *, const pal *), const pal *c, mk_buf *out)
{
    json_t *list = sorted(json_object_get(r, "resources")), *res;
    size_t i;
    if (json_array_size(list))
        mk_buf_puts(out, head);
    json_array_foreach(list, i, res)
        row(out, res, c);
    json_decref(list);
}

static void text(json_t *r, const pal *c, mk_buf *out)
{
    mk_drift_out_summary(r, out);
    mk_buf_putc(out, '\n');
    rows(r, "\n", text_line, c, out);
    text_imports(out, json_object_get(r, "imports"));
}

static void md_row(mk_buf *out, json_t *res, const pal *c)
{
    (void)c;
    const char *st = str(res, "status") ?: "";
    bool gone = strcmp(st, "gone") == 0, unread = strcmp(st, "unreadable") == 0;
    mk_buf_printf(out, "| %s | ", gone ? "-" : unread ? "?" : "~");
    mk_md_code(out, str(res, "address") ?: "?", true);
    mk_buf_puts(out, " | ");
    if (gone)
        mk_buf_puts(out, "deleted outside moksha");
    else if (unread) {
        mk_buf_puts(out, "could not be read: ");
        mk_md_text(out, str(res, "error") ?: "(no reason given)");
    } else {
        mk_buf_puts(out, "changed: ");
        changes(out, res, true);
    }
    bool report = str(res, "mode") && strcmp(str(res, "mode"), "report") == 0;
    mk_buf_puts(out, report ? " (reported, not corrected) |\n" : " |\n");
}

static void markdown(json_t *r, mk_buf *out)
{
    mk_buf_puts(out, "### moksha drift\n\n");
    mk_buf s = {0};
    mk_drift_out_summary(r, &s);
    mk_md_text(out, mk_buf_cstr(&s));
    mk_buf_free(&s);
    mk_buf_puts(out, "\n");
    rows(r, "\n| | resource | outside moksha |\n|---|---|---|\n", md_row, &PLAIN, out);
    if (str(r, "at")) {
        mk_buf_puts(out, "\nRead from the providers at ");
        mk_md_code(out, str(r, "at"), false);
        mk_buf_puts(out, ".\n");
    }
}

void mk_drift_out(json_t *report, const char *format, bool color, mk_buf *out)
{
    if (strcmp(format, "markdown") == 0)
        markdown(report, out);
    else
        text(report, color ? &ANSI : &PLAIN, out);
}
