/* render — text and markdown renderings of a plan document. */
#include "compiler/back/render.h"

#include <string.h>

#include "compiler/back/md.h"
#include "compiler/base/money.h"

typedef struct pal {
    const char *add, *chg, *del, *rep, *dim, *bold, *off;
} pal;

static const pal PLAIN = {"", "", "", "", "", "", ""};
static const pal ANSI = {"\033[32m", "\033[33m", "\033[31m", "\033[35m", "\033[2m", "\033[1m", "\033[0m"};

static bool is_ident(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

void mk_render_value(json_t *v, mk_buf *out)
{
    if (json_is_object(v) && json_object_get(v, "$secret")) {
        mk_buf_puts(out, "(sensitive)");
        return;
    }
    if (json_is_object(v) && json_is_string(json_object_get(v, "$ref")) && !json_object_get(v, "attr")) { /* and its id, in state */
        mk_buf_puts(out, json_string_value(json_object_get(v, "$ref")));
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL: mk_buf_puts(out, "null"); break;
    case JSON_TRUE: mk_buf_puts(out, "true"); break;
    case JSON_FALSE: mk_buf_puts(out, "false"); break;
    case JSON_INTEGER: mk_buf_printf(out, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: mk_buf_printf(out, "%.15g", json_real_value(v)); break;
    case JSON_STRING:
        mk_buf_putc(out, '"');
        mk_buf_escape(out, json_string_value(v), json_string_length(v));
        mk_buf_putc(out, '"');
        break;
    case JSON_ARRAY: {
        mk_buf_putc(out, '[');
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            if (i)
                mk_buf_puts(out, ", ");
            mk_render_value(x, out);
        }
        mk_buf_putc(out, ']');
        break;
    }
    case JSON_OBJECT: {
        if (json_object_size(v) == 0) {
            mk_buf_puts(out, "{}");
            break;
        }
        mk_buf_puts(out, "{ ");
        const char *k;
        json_t *x;
        bool first = true;
        json_object_foreach(v, k, x) {
            mk_buf_puts(out, first ? "" : ", ");
            first = false;
            if (is_ident(k))
                mk_buf_puts(out, k);
            else {
                mk_buf_putc(out, '"');
                mk_buf_escape(out, k, strlen(k));
                mk_buf_putc(out, '"');
            }
            mk_buf_puts(out, " = ");
            mk_render_value(x, out);
        }
        mk_buf_puts(out, " }");
        break;
    }
    }
}

/* Money in a plan: a decimal string of dollars, "55.85" (docs/formats.md);
 * a number in a plan written before money was a string. */
static bool money_of(json_t *v, mk_money *out)
{
    if (json_is_number(v))
        return mk_money_from_usd(json_number_value(v), out);
    return json_is_string(v) && mk_money_parse(json_string_value(v), json_string_length(v), out);
}

static bool in_list(json_t *list, const char *name)
{
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
        if (json_is_string(x) && strcmp(json_string_value(x), name) == 0)
            return true;
    return false;
}

static void attr_value(json_t *c, const char *side, const char *name, mk_buf *out)
{
    json_t *obj = json_object_get(c, side);
    if (strcmp(side, "after") == 0 && in_list(json_object_get(c, "after_unknown"), name)) {
        mk_buf_puts(out, "(known after apply)");
        return;
    }
    if (in_list(json_object_get(c, "sensitive"), name)) {
        mk_buf_puts(out, "(sensitive)");
        return;
    }
    json_t *v = json_object_get(obj, name);
    mk_render_value(v ? v : json_null(), out);
}

/* An attribute shown for a change: for a create, every one set or known
 * only after apply; otherwise the changed ones (which the caller walks). */
static bool shown(json_t *c, const char *k, json_t *v)
{
    return !json_is_null(v) || in_list(json_object_get(c, "after_unknown"), k);
}

static void attr_line(json_t *c, const char *n, int w, bool create, mk_buf *out, const pal *p)
{
    static const char pad[] = "                                                                ";
    size_t len = strlen(n), gap = (size_t)w > len ? (size_t)w - len : 0;
    mk_buf_put(out, pad, 8);
    mk_buf_put(out, n, len);
    while (gap > 0) {
        size_t k = gap < sizeof pad - 1 ? gap : sizeof pad - 1;
        mk_buf_put(out, pad, k);
        gap -= k;
    }
    mk_buf_put(out, " = ", 3);
    if (!create) {
        attr_value(c, "before", n, out);
        mk_buf_puts(out, " → ");
    }
    attr_value(c, "after", n, out);
    if (in_list(json_object_get(c, "replace_because"), n))
        mk_buf_printf(out, "  %s# forces replacement%s", p->rep, p->off);
    mk_buf_putc(out, '\n');
}

/* Where a change lands: the cost model's choice (one provider, one region,
 * the offering: compiler/pipeline.c) or, for a delete, where the state has it. False
 * when nothing was chosen: local files, a group no candidate could take
 * (its placement is the block as written, without an offering). */
static bool landing(json_t *c, const char **cloud, const char **region, const char **offering)
{
    json_t *pl = json_object_get(c, "placement");
    *cloud = json_string_value(json_object_get(pl, "cloud"));
    *region = json_string_value(json_object_get(pl, "region"));
    *offering = json_string_value(json_object_get(pl, "offering"));
    if (!*cloud && json_object_get(pl, "offering")) {
        *cloud = json_string_value(json_array_get(json_object_get(pl, "providers"), 0));
        *region = json_string_value(json_array_get(json_object_get(pl, "regions"), 0));
    }
    return *cloud != NULL;
}

/* "aws/us-east-1 c6a.large"; false (and nothing written) when unplaced. */
static bool landing_text(json_t *c, const char *before, mk_buf *out)
{
    const char *cloud, *region, *offering;
    if (!landing(c, &cloud, &region, &offering))
        return false;
    mk_buf_printf(out, "%s%s%s%s%s%s", before, cloud, region ? "/" : "", region ? region : "", offering ? " " : "",
                  offering ? offering : "");
    return true;
}

static void render_change(json_t *c, mk_buf *out, const pal *p)
{
    const char *action = json_string_value(json_object_get(c, "action"));
    const char *addr = json_string_value(json_object_get(c, "address"));
    const char *sym = "+", *col = p->add;
    if (!strcmp(action, "update")) sym = "~", col = p->chg;
    else if (!strcmp(action, "replace")) sym = "-/+", col = p->rep;
    else if (!strcmp(action, "delete")) sym = "-", col = p->del;
    mk_buf_printf(out, "%s%5s%s %s%s%s", col, sym, p->off, p->bold, addr, p->off);
    const char *deposed = json_string_value(json_object_get(c, "deposed"));
    if (deposed)
        mk_buf_printf(out, " %s(deposed object %s, set aside by create_before_destroy; an earlier apply did not delete "
                      "it: it stopped, or a dependent was held)%s", p->dim, deposed, p->off);
    else if (!strcmp(action, "replace") &&
             json_is_true(json_object_get(json_object_get(c, "lifecycle"), "create_before_destroy")))
        mk_buf_printf(out, " %s(create before destroy)%s", p->dim, p->off);
    landing_text(c, "  on ", out);
    const char *risk = json_string_value(json_object_get(c, "risk"));
    if (risk && strcmp(risk, "low") != 0)
        mk_buf_printf(out, "  %s(risk: %s)%s", p->dim, risk, p->off);
    json_t *cost = json_object_get(c, "cost");
    mk_money monthly, delta;
    char m[MK_MONEY_TEXT];
    if (money_of(json_object_get(cost, "monthly"), &monthly) && monthly > 0)
        mk_buf_printf(out, "  %s%s/month%s", p->dim, mk_money_show(monthly, m), p->off);
    else if (money_of(json_object_get(cost, "delta"), &delta) && delta < 0)
        mk_buf_printf(out, "  %s%s/month%s", p->dim, mk_money_show(delta, m), p->off);
    else if (json_is_string(json_object_get(cost, "unpriced_because")))
        mk_buf_printf(out, "  %s(unpriced)%s", p->dim, p->off);
    mk_buf_putc(out, '\n');
    if (!strcmp(action, "delete"))
        return;
    /* walked twice, for the width and to print: nothing is allocated per change */
    bool create = strcmp(action, "create") == 0;
    json_t *after = json_object_get(c, "after"), *changed = json_object_get(c, "changed"), *v;
    const char *k;
    size_t w = 0, i;
    if (create) {
        json_object_foreach(after, k, v)
            if (shown(c, k, v) && strlen(k) > w)
                w = strlen(k);
        json_object_foreach(after, k, v)
            if (shown(c, k, v))
                attr_line(c, k, (int)w, true, out, p);
    } else {
        json_array_foreach(changed, i, v)
            if (json_string_length(v) > w)
                w = json_string_length(v);
        json_array_foreach(changed, i, v)
            attr_line(c, json_string_value(v), (int)w, false, out, p);
    }
}

static void render_cost(json_t *plan, mk_buf *out)
{
    json_t *cost = json_object_get(plan, "cost");
    if (!json_is_object(cost))
        return;
    mk_money m = 0, d = 0;
    money_of(json_object_get(cost, "monthly"), &m);
    money_of(json_object_get(cost, "delta"), &d);
    json_int_t unpriced = json_integer_value(json_object_get(cost, "unpriced"));
    char mt[MK_MONEY_TEXT], dt[MK_MONEY_TEXT];
    mk_buf_printf(out, "Cost: %s a month (%s)", mk_money_show(m, mt), mk_money_signed(d, dt));
    if (unpriced)
        mk_buf_printf(out, "; %lld resource%s unpriced", (long long)unpriced, unpriced == 1 ? "" : "s");
    mk_buf_puts(out, ".\n");
}

void mk_render_summary(json_t *plan, mk_buf *out)
{
    json_t *t = json_object_get(plan, "totals");
    mk_buf_printf(out, "Plan: %lld to create, %lld to update, %lld to replace, %lld to delete.",
                  (long long)json_integer_value(json_object_get(t, "create")),
                  (long long)json_integer_value(json_object_get(t, "update")),
                  (long long)json_integer_value(json_object_get(t, "replace")),
                  (long long)json_integer_value(json_object_get(t, "delete")));
}

void mk_render_text(json_t *plan, mk_buf *out, bool color)
{
    const pal *p = color ? &ANSI : &PLAIN;
    json_t *changes = json_object_get(plan, "changes");
    if (json_array_size(changes) == 0) {
        mk_buf_puts(out, "No changes: the infrastructure matches the spec.\n");
    } else {
        mk_buf_printf(out, "moksha will make these changes to stack %s:\n\n",
                      json_string_value(json_object_get(plan, "stack")));
        size_t i;
        json_t *c;
        json_array_foreach(changes, i, c) {
            render_change(c, out, p);
            mk_buf_putc(out, '\n');
        }
    }
    mk_buf_puts(out, p->bold);
    mk_render_summary(plan, out);
    mk_buf_puts(out, p->off);
    mk_buf_putc(out, '\n');
    render_cost(plan, out);
}

void mk_render_markdown(json_t *plan, mk_buf *out)
{
    json_t *changes = json_object_get(plan, "changes");
    mk_buf_puts(out, "### moksha plan for ");
    mk_md_code(out, json_string_value(json_object_get(plan, "stack")), false);
    mk_buf_puts(out, "\n\n**");
    mk_render_summary(plan, out);
    mk_buf_puts(out, "**\n\n");
    render_cost(plan, out);
    if (json_is_object(json_object_get(plan, "cost")))
        mk_buf_putc(out, '\n');
    if (json_array_size(changes) == 0) {
        mk_buf_puts(out, "No changes: the infrastructure matches the spec.\n");
        return;
    }
    mk_buf_puts(out, "| | resource | action | risk | placement | monthly | changed attributes |\n"
                     "|---|---|---|---|---|---:|---|\n");
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c) {
        const char *action = json_string_value(json_object_get(c, "action"));
        const char *sym = !strcmp(action, "create") ? "➕" : !strcmp(action, "update") ? "✏️"
                        : !strcmp(action, "replace") ? "♻️" : "🗑️";
        mk_buf_printf(out, "| %s | ", sym);
        mk_md_code(out, json_string_value(json_object_get(c, "address")), true);
        mk_buf_puts(out, " | ");
        mk_md_text(out, action);
        mk_buf_puts(out, " | ");
        mk_md_text(out, json_string_value(json_object_get(c, "risk")));
        mk_buf_puts(out, " | ");
        mk_buf where = {0}; /* a delete's placement comes from the state: text like any other */
        if (landing_text(c, "", &where))
            mk_md_text(out, mk_buf_cstr(&where));
        else
            mk_buf_puts(out, "–");
        mk_buf_free(&where);
        mk_buf_puts(out, " | ");
        mk_money m;
        char mt[MK_MONEY_TEXT];
        if (money_of(json_object_get(json_object_get(c, "cost"), "monthly"), &m))
            mk_buf_printf(out, "%s | ", mk_money_show(m, mt));
        else
            mk_buf_puts(out, "– | ");
        size_t k;
        json_t *n;
        json_array_foreach(json_object_get(c, "changed"), k, n) {
            bool forces = in_list(json_object_get(c, "replace_because"), json_string_value(n));
            mk_buf_puts(out, k ? ", " : "");
            mk_md_code(out, json_string_value(n), true);
            mk_buf_puts(out, forces ? " (forces replacement)" : "");
        }
        mk_buf_puts(out, " |\n");
    }
}
