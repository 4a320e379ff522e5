/* against_out — `--base DIR`'s section of moksha cost and moksha plan: the
 * change's own cost delta per resource, and the policy verdicts it turns,
 * as text, markdown and JSON. The figures and verdicts are the delta's
 * (compiler/middle/against.c); this file only words them. */
#include "compiler/back/against_out.h"

#include <string.h>

#include "compiler/back/md.h"
#include "compiler/front/vjson.h"

/* A side's figure as shown: "$1.00", "unpriced: WHY", or "–" where absent. */
static void figure(mk_buf *out, bool in, bool priced, mk_money m, const char *why)
{
    char t[MK_MONEY_TEXT];
    if (!in)
        mk_buf_puts(out, "–");
    else if (priced)
        mk_buf_puts(out, mk_money_show(m, t));
    else
        mk_buf_printf(out, "unpriced: %s", why);
}

/* Both sides priced (an absent side is $0): the line's delta is known. */
static bool line_known(const mk_against_line *l)
{
    return (!l->in_base || l->base_priced) && (!l->in_head || l->head_priced);
}

static char line_mark(const mk_against_line *l)
{
    return !l->in_base ? '+' : !l->in_head ? '-' : '~';
}

static void head_line(const mk_against *a, const char *base, mk_buf *out)
{
    char b[MK_MONEY_TEXT], h[MK_MONEY_TEXT], d[MK_MONEY_TEXT];
    mk_buf_printf(out, "Against the base (%s): %s → %s a month (%s)", base, mk_money_show(a->base_monthly, b),
                  mk_money_show(a->head_monthly, h), mk_money_signed(mk_against_delta(a), d));
    if (a->base_unpriced || a->head_unpriced)
        mk_buf_printf(out, "; %zu unpriced in the base, %zu here", a->base_unpriced, a->head_unpriced);
    mk_buf_puts(out, ".\n");
}

static void text_line(const mk_against_line *l, mk_buf *out)
{
    mk_buf_printf(out, "    %c %-32s ", line_mark(l), l->address);
    if (l->in_base)
        figure(out, true, l->base_priced, l->base, l->base_why);
    if (l->in_base && l->in_head)
        mk_buf_puts(out, " → ");
    if (l->in_head)
        figure(out, true, l->head_priced, l->head, l->head_why);
    char d[MK_MONEY_TEXT];
    if (line_known(l))
        mk_buf_printf(out, " (%s)", mk_money_signed(l->head - l->base, d));
    mk_buf_putc(out, '\n');
}

/* "NAME: pass → fail" and the violations it gains and loses, one line. */
static void policy_line(json_t *d, mk_buf *line)
{
    const char *bs = json_string_value(json_object_get(d, "base")), *hs = json_string_value(json_object_get(d, "head"));
    mk_buf_printf(line, "%s: %s → %s", json_string_value(json_object_get(d, "name")), bs ? bs : "not in the base",
                  hs ? hs : "not here");
    const char *const part[] = {"new", "fixed"};
    for (size_t p = 0; p < 2; p++) {
        json_t *vs = json_object_get(d, part[p]), *v;
        size_t i;
        json_array_foreach(vs, i, v) {
            const char *addr = json_string_value(json_object_get(v, "address"));
            mk_buf_printf(line, "%s%s%s%s", i ? "; " : p ? "; fixed: " : "; new: ", addr ? addr : "", addr ? ": " : "",
                          json_string_value(json_object_get(v, "message")) ?: "");
        }
    }
}

static void text_policies(const mk_against *a, mk_buf *out)
{
    if (!json_array_size(a->policies)) {
        mk_buf_puts(out, "Policies against the base: no verdict changes.\n");
        return;
    }
    mk_buf_puts(out, "Policies against the base:\n");
    json_t *d;
    size_t i;
    json_array_foreach(a->policies, i, d) {
        mk_buf_puts(out, "    ");
        policy_line(d, out);
        mk_buf_putc(out, '\n');
    }
}

static void md_row(const mk_against_line *l, mk_buf *out)
{
    static const char *const SYM[] = {"➕", "🗑️", "✏️"};
    mk_buf_printf(out, "| %s | ", SYM[!l->in_base ? 0 : !l->in_head ? 1 : 2]);
    mk_md_code(out, l->address, true);
    mk_buf cell = {0};
    for (int s = 0; s < 2; s++) {
        cell.len = 0;
        if (s == 0)
            figure(&cell, l->in_base, l->base_priced, l->base, l->base_why);
        else
            figure(&cell, l->in_head, l->head_priced, l->head, l->head_why);
        mk_buf_puts(out, " | ");
        mk_md_text(out, mk_buf_cstr(&cell));
    }
    mk_buf_free(&cell);
    char d[MK_MONEY_TEXT];
    mk_buf_printf(out, " | %s |\n", line_known(l) ? mk_money_signed(l->head - l->base, d) : "–");
}

static void md_policies(const mk_against *a, mk_buf *out)
{
    if (!json_array_size(a->policies)) {
        mk_buf_puts(out, "\nPolicies: no verdict changes against the base.\n");
        return;
    }
    mk_buf_puts(out, "\n**Policies against the base:**\n\n");
    mk_buf line = {0};
    json_t *d;
    size_t i;
    json_array_foreach(a->policies, i, d) {
        line.len = 0;
        policy_line(d, &line);
        mk_buf_puts(out, "- ");
        mk_md_text(out, mk_buf_cstr(&line));
        mk_buf_putc(out, '\n');
    }
    mk_buf_free(&line);
}

void mk_against_out_text(const mk_against *a, const char *base, bool policies, bool md, mk_buf *out)
{
    if (md) {
        mk_buf line = {0};
        head_line(a, base, &line);
        line.data[--line.len] = 0; /* its newline: a <br> in markdown */
        mk_buf_puts(out, "#### Against the base branch\n\n");
        mk_md_text(out, mk_buf_cstr(&line));
        mk_buf_free(&line);
        if (a->nlines)
            mk_buf_puts(out, "\n\n| | resource | base | this branch | delta |\n|---|---|---:|---:|---:|\n");
        else
            mk_buf_putc(out, '\n');
        for (size_t i = 0; i < a->nlines; i++)
            md_row(&a->lines[i], out);
        if (policies)
            md_policies(a, out);
        return;
    }
    head_line(a, base, out);
    for (size_t i = 0; i < a->nlines; i++)
        text_line(&a->lines[i], out);
    if (policies)
        text_policies(a, out);
}

static json_t *side_json(bool in, bool priced, mk_money m)
{
    return in && priced ? mk_vjson_money(m) : json_null();
}

static json_t *line_json(const mk_against_line *l)
{
    json_t *o = json_pack("{s:s, s:o, s:o}", "address", l->address, "base",
                          side_json(l->in_base, l->base_priced, l->base), "head",
                          side_json(l->in_head, l->head_priced, l->head));
    json_object_set_new(o, "delta", line_known(l) ? mk_vjson_money(l->head - l->base) : json_null());
    if (!l->in_base || !l->in_head)
        json_object_set_new(o, l->in_base ? "removed" : "added", json_true());
    if (l->in_base && l->base_why)
        json_object_set_new(o, "base_why", json_string(l->base_why));
    if (l->in_head && l->head_why)
        json_object_set_new(o, "head_why", json_string(l->head_why));
    return o;
}

json_t *mk_against_out_json(const mk_against *a, const char *base, bool policies)
{
    json_t *res = json_array();
    for (size_t i = 0; i < a->nlines; i++)
        json_array_append_new(res, line_json(&a->lines[i]));
    json_t *o = json_pack("{s:s, s:o, s:o, s:I, s:o}", "path", base, "monthly", mk_vjson_money(a->base_monthly),
                          "delta", mk_vjson_money(mk_against_delta(a)), "unpriced", (json_int_t)a->base_unpriced,
                          "resources", res);
    if (policies)
        json_object_set_new(o, "policies", a->policies ? json_incref(a->policies) : json_array());
    return o;
}
