/* render — a plan's records (middle/plan.h, note [plan model]) as text and
 * markdown, for a plan just made (a change's after is its instance's
 * values) and a saved one (its after is the file's JSON) alike: one
 * renderer, whose only fork is where an attribute's value comes from. It
 * writes as it goes into a buffer that may stream to stdout, so nothing it
 * writes is taken back. Not the place for the plan file's JSON
 * (back/planfile.c) or policy results (back/policy_out.c). */
#include "compiler/back/render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler/back/md.h"
#include "compiler/base/money.h"
#include "compiler/front/program.h"
#include "compiler/front/vjson.h"

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

static void quoted(mk_buf *out, const char *s, size_t n)
{
    mk_buf_putc(out, '"');
    mk_buf_escape(out, s, n);
    mk_buf_putc(out, '"');
}

/* A map key: bare when it is an identifier. */
static void map_key(mk_buf *out, const char *k)
{
    if (is_ident(k))
        mk_buf_puts(out, k);
    else
        quoted(out, k, strlen(k));
    mk_buf_puts(out, " = ");
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
    const char *k;
    json_t *x;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_NULL: mk_buf_puts(out, "null"); break;
    case JSON_TRUE: mk_buf_puts(out, "true"); break;
    case JSON_FALSE: mk_buf_puts(out, "false"); break;
    case JSON_INTEGER: mk_buf_printf(out, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: mk_buf_printf(out, "%.15g", json_real_value(v)); break;
    case JSON_STRING: quoted(out, json_string_value(v), json_string_length(v)); break;
    case JSON_ARRAY:
        mk_buf_putc(out, '[');
        json_array_foreach(v, i, x) {
            if (i)
                mk_buf_puts(out, ", ");
            mk_render_value(x, out);
        }
        mk_buf_putc(out, ']');
        break;
    case JSON_OBJECT:
        if (json_object_size(v) == 0) {
            mk_buf_puts(out, "{}");
            break;
        }
        mk_buf_puts(out, "{ ");
        i = 0;
        json_object_foreach(v, k, x) {
            mk_buf_puts(out, i++ ? ", " : "");
            map_key(out, k);
            mk_render_value(x, out);
        }
        mk_buf_puts(out, " }");
        break;
    }
}

/* ---- a made plan's values, shown as mk_render_value shows their JSON ----
 *
 * What mk_vjson_from makes of a value (note [value text] in front/vjson.c),
 * shown without making it: a secret is (sensitive), and so is a list or
 * map secret as a whole, unless it still holds unknowns (then each scalar
 * in it is); a reference is its address; a size, duration or money its
 * literal in quotes; an unknown null, a template its parts. What jansson
 * makes no value of is not shown. test_render holds the two together. */

static bool shown_secret(const mk_value *v, bool all_secret)
{
    return (all_secret || (v->flags & MK_VF_SECRET)) && v->kind != MK_V_LIST && v->kind != MK_V_MAP &&
           v->kind != MK_V_UNKNOWN && v->kind != MK_V_NULL;
}

/* Would the JSON leave v out (a string not UTF-8, a number not finite)? */
static bool left_out(const mk_value *v, bool all_secret)
{
    if (shown_secret(v, all_secret))
        return false;
    if (v->kind == MK_V_STRING)
        return !mk_vjson_text_ok(v->u.s, v->n);
    if (v->kind == MK_V_NUMBER)
        return !isfinite(v->u.d);
    if (v->kind == MK_V_RESOURCE) {
        const char *a = ((const mk_instance *)v->u.res)->address;
        return !mk_vjson_text_ok(a, strlen(a));
    }
    return false;
}

/* Is its JSON null? */
static bool null_json(const mk_value *v)
{
    return v->kind == MK_V_NULL || v->kind == MK_V_ERROR || v->kind == MK_V_ANY || (v->kind == MK_V_UNKNOWN && !v->u.res);
}

static void show_value(const mk_value *v, bool all_secret, mk_buf *out);

static void show_template(const mk_deferred *d, mk_buf *out)
{
    mk_buf_puts(out, "{ \"$template\" = [");
    bool first = true;
    for (uint32_t i = 0; i < d->n; i++) {
        const mk_defpart *p = &d->parts[i];
        if (!mk_vjson_part_ok(p))
            continue;
        mk_buf_puts(out, first ? "" : ", ");
        first = false;
        if (p->text) {
            quoted(out, p->text, p->len);
            continue;
        }
        mk_buf_puts(out, "{ \"$ref\" = ");
        quoted(out, p->address, strlen(p->address));
        mk_buf_puts(out, ", attr = ");
        quoted(out, p->attr, strlen(p->attr));
        mk_buf_puts(out, " }");
    }
    mk_buf_puts(out, "] }");
}

static void show_list(const mk_value *v, bool all_secret, mk_buf *out)
{
    bool first = true;
    mk_buf_putc(out, '[');
    for (uint32_t i = 0; i < v->n; i++) {
        if (left_out(v->u.items[i], all_secret))
            continue;
        mk_buf_puts(out, first ? "" : ", ");
        first = false;
        show_value(v->u.items[i], all_secret, out);
    }
    mk_buf_putc(out, ']');
}

static bool entry_kept(const mk_value *v, uint32_t i, bool all_secret)
{
    const char *k = v->u.map.keys[i];
    return !left_out(v->u.map.vals[i], all_secret) && mk_vjson_text_ok(k, strlen(k));
}

static void show_map(const mk_value *v, bool all_secret, mk_buf *out)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < v->n; i++)
        kept += entry_kept(v, i, all_secret);
    if (kept == 0) {
        mk_buf_puts(out, "{}");
        return;
    }
    mk_buf_puts(out, "{ ");
    bool first = true;
    for (uint32_t i = 0; i < v->n; i++) {
        if (!entry_kept(v, i, all_secret))
            continue;
        mk_buf_puts(out, first ? "" : ", ");
        first = false;
        map_key(out, v->u.map.keys[i]);
        show_value(v->u.map.vals[i], all_secret, out);
    }
    mk_buf_puts(out, " }");
}

static void show_value(const mk_value *v, bool all_secret, mk_buf *out)
{
    bool container = v->kind == MK_V_LIST || v->kind == MK_V_MAP;
    if (shown_secret(v, all_secret)) {
        mk_buf_puts(out, "(sensitive)");
        return;
    }
    if (container && !all_secret && (v->flags & MK_VF_SECRET)) { /* note [secret containers] in vjson.c */
        if (mk_v_is_known(v))
            mk_buf_puts(out, "(sensitive)");
        else
            show_value(v, true, out);
        return;
    }
    switch (v->kind) {
    case MK_V_BOOL: mk_buf_puts(out, v->u.b ? "true" : "false"); break;
    case MK_V_INT: mk_buf_printf(out, "%lld", (long long)v->u.i); break;
    case MK_V_NUMBER: mk_buf_printf(out, "%.15g", v->u.d); break;
    case MK_V_STRING: quoted(out, v->u.s, v->n); break;
    case MK_V_SIZE: case MK_V_DURATION: case MK_V_MONEY: /* the literal, with nothing to escape */
        mk_buf_putc(out, '"');
        mk_v_show(v, out, true);
        mk_buf_putc(out, '"');
        break;
    case MK_V_LIST: show_list(v, all_secret, out); break;
    case MK_V_MAP: show_map(v, all_secret, out); break;
    case MK_V_RESOURCE: mk_buf_puts(out, ((const mk_instance *)v->u.res)->address); break;
    case MK_V_UNKNOWN:
        if (v->u.res) {
            show_template(v->u.res, out);
            break;
        }
        mk_buf_puts(out, "null");
        break;
    default: mk_buf_puts(out, "null"); break;
    }
}

/* ---- a change's attributes ---- */

static bool listed(const mk_names *l, const char *name)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i] == name || (l->v[i][0] == name[0] && strcmp(l->v[i], name) == 0))
            return true;
    return false;
}

/* A made plan's value of the attribute name, or NULL when its after has
 * none (no such field, or one its JSON leaves out). */
static const mk_value *made_value(const mk_instance *in, const char *name)
{
    const mk_type *ty = in->res->schema;
    for (uint32_t k = 0; ty && k < ty->nfields; k++)
        if (ty->fields[k].name == name || strcmp(ty->fields[k].name, name) == 0)
            return left_out(in->attrs->u.map.vals[k], false) ? NULL : in->attrs->u.map.vals[k];
    return NULL;
}

/* An attribute of a change's after, where it is known already: a made
 * plan's value or a loaded plan's JSON (a create walks them in order). */
typedef struct after_attr {
    const char *name;
    size_t len;
    const mk_value *v;
    json_t *j;
} after_attr;

/* One side of an attribute: what apply will learn, a secret, or the value
 * (the after's found by name unless a is given). */
static void attr_value(const mk_change *c, bool after, const char *name, const after_attr *a, mk_buf *out)
{
    if (after && listed(&c->unknown, name)) {
        mk_buf_puts(out, "(known after apply)");
        return;
    }
    if (listed(&c->sensitive, name)) {
        mk_buf_puts(out, "(sensitive)");
        return;
    }
    if (after && c->in) {
        const mk_value *v = a ? a->v : made_value(c->in, name);
        if (v)
            show_value(v, false, out);
        else
            mk_buf_puts(out, "null");
        return;
    }
    json_t *v = a && after ? a->j : json_object_get(after ? c->after : c->before, name);
    mk_render_value(v ? v : json_null(), out);
}

/* The attributes a create shows, in order: every one set or known only
 * after apply, from a made plan's fields or a loaded plan's after. */
typedef struct shown_attrs {
    const mk_change *c;
    uint32_t k;
    void *iter;
    after_attr at;
} shown_attrs;

static shown_attrs first_shown(const mk_change *c)
{
    return (shown_attrs){c, 0, c->in ? NULL : json_object_iter(c->after), {0}};
}

static bool next_shown(shown_attrs *s)
{
    const mk_change *c = s->c;
    if (c->in) {
        const mk_type *ty = c->in->res->schema;
        while (ty && s->k < ty->nfields) {
            const mk_value *v = c->in->attrs->u.map.vals[s->k];
            const char *name = ty->fields[s->k++].name;
            if (!left_out(v, false) && (!null_json(v) || listed(&c->unknown, name))) {
                s->at = (after_attr){name, strlen(name), v, NULL};
                return true;
            }
        }
        return false;
    }
    for (; s->iter; s->iter = json_object_iter_next(c->after, s->iter)) {
        const char *name = json_object_iter_key(s->iter);
        json_t *v = json_object_iter_value(s->iter);
        if (!json_is_null(v) || listed(&c->unknown, name)) {
            s->at = (after_attr){name, strlen(name), NULL, v};
            s->iter = json_object_iter_next(c->after, s->iter);
            return true;
        }
    }
    return false;
}

/* `        name   = before → after`, padded to w; a create's after is a. */
static void attr_line(const mk_change *c, const char *n, size_t len, size_t w, const after_attr *a, mk_buf *out,
                      const pal *p)
{
    static const char pad[] = "                                                                ";
    size_t gap = w > len ? w - len : 0;
    mk_buf_put(out, pad, 8);
    mk_buf_put(out, n, len);
    while (gap > 0) {
        size_t k = gap < sizeof pad - 1 ? gap : sizeof pad - 1;
        mk_buf_put(out, pad, k);
        gap -= k;
    }
    mk_buf_put(out, " = ", 3);
    if (!a) {
        attr_value(c, false, n, NULL, out);
        mk_buf_puts(out, " → ");
    }
    attr_value(c, true, n, a, out);
    if (listed(&c->forces, n)) {
        mk_buf_puts(out, "  ");
        mk_buf_puts(out, p->rep);
        mk_buf_puts(out, "# forces replacement");
        mk_buf_puts(out, p->off);
    }
    mk_buf_putc(out, '\n');
}

/* The attribute lines: a create's every shown attribute, else the changed
 * ones; walked twice, for the width and to print. */
static void attr_lines(const mk_change *c, mk_buf *out, const pal *p)
{
    size_t w = 0;
    if (c->action == MK_ACT_CREATE || (c->action == MK_ACT_IMPORT && !c->before)) {
        shown_attrs s = first_shown(c);
        while (next_shown(&s))
            w = s.at.len > w ? s.at.len : w;
        s = first_shown(c);
        while (next_shown(&s))
            attr_line(c, s.at.name, s.at.len, w, &s.at, out, p);
        return;
    }
    for (uint32_t i = 0; i < c->changed.n; i++)
        w = strlen(c->changed.v[i]) > w ? strlen(c->changed.v[i]) : w;
    for (uint32_t i = 0; i < c->changed.n; i++)
        attr_line(c, c->changed.v[i], strlen(c->changed.v[i]), w, NULL, out, p);
}

/* ---- changes ---- */

/* Where a change lands: the cost model's choice (one provider, one region,
 * the offering) or, for a delete, where the state has it. False when
 * nothing was chosen: local files, a group no candidate could take (its
 * placement is the block as written, without an offering). */
static bool landing(const mk_change *c, const char **cloud, const char **region, const char **offering)
{
    if (c->cloud && c->region) {
        *cloud = c->cloud, *region = c->region, *offering = c->placed_offering;
        return true;
    }
    json_t *pl = c->placement;
    *cloud = json_string_value(json_object_get(pl, "cloud"));
    *region = json_string_value(json_object_get(pl, "region"));
    *offering = json_string_value(json_object_get(pl, "offering"));
    if (!*cloud && json_object_get(pl, "offering")) {
        *cloud = json_string_value(json_array_get(json_object_get(pl, "providers"), 0));
        *region = json_string_value(json_array_get(json_object_get(pl, "regions"), 0));
    }
    return *cloud != NULL;
}

/* "aws/us-east-1 c6a.large" after before, and "via s3 store" for a bucket a
 * store keeps; false (and nothing written) when unplaced. */
static bool landing_text(const mk_change *c, const char *before, mk_buf *out)
{
    const char *cloud, *region, *offering;
    if (!landing(c, &cloud, &region, &offering))
        return false;
    mk_buf_puts(out, before);
    mk_buf_puts(out, cloud);
    if (region) {
        mk_buf_putc(out, '/');
        mk_buf_puts(out, region);
    }
    if (offering) {
        mk_buf_putc(out, ' ');
        mk_buf_puts(out, offering);
    }
    if (c->via && c->provider) /* a bucket kept on a real server: by which block */
        mk_buf_printf(out, " via %s %s", c->via, c->provider);
    return true;
}

static void dim(mk_buf *out, const pal *p, const char *text)
{
    mk_buf_puts(out, "  ");
    mk_buf_puts(out, p->dim);
    mk_buf_puts(out, text);
    mk_buf_puts(out, p->off);
}

/* What an import or a move says after the address. */
static void relocation_text(const mk_change *c, mk_buf *out, const pal *p)
{
    if (c->action == MK_ACT_IMPORT)
        mk_buf_printf(out, " will be imported %s(id %s)%s%s", p->dim, c->import_id, c->before ? "" : ": attributes unknown until read",
                      p->off);
    else if (c->action == MK_ACT_MOVE)
        mk_buf_printf(out, " %s(moved, nothing changes)%s", p->dim, p->off);
    else if (c->moved_from)
        mk_buf_printf(out, " %s(moved)%s", p->dim, p->off);
}

static void change_head(const mk_change *c, mk_buf *out, const pal *p)
{
    static const char *const SYM[] = {"    +", "    +", "    ~", "  -/+", "    -", "   <=", "   ->"};
    const char *col[] = {p->add, p->add, p->chg, p->rep, p->del, p->add, p->chg};
    mk_buf_puts(out, col[c->action]);
    mk_buf_puts(out, SYM[c->action]);
    mk_buf_puts(out, p->off);
    mk_buf_putc(out, ' ');
    mk_buf_puts(out, p->bold);
    if (c->moved_from)
        mk_buf_printf(out, "%s → ", c->moved_from);
    mk_buf_puts(out, c->address);
    mk_buf_puts(out, p->off);
    relocation_text(c, out, p);
    if (c->deposed)
        mk_buf_printf(out, " %s(deposed object %s, set aside by create_before_destroy; an earlier apply did not delete "
                      "it: it stopped, or a dependent was held)%s", p->dim, c->deposed, p->off);
    else if (c->action == MK_ACT_REPLACE && c->create_before_destroy)
        mk_buf_printf(out, " %s(create before destroy)%s", p->dim, p->off);
    if (!landing_text(c, "  on ", out) && c->via && c->provider)
        mk_buf_printf(out, "  via %s %s", c->via, c->provider);
    if (c->drift != MK_DRIFT_NONE)
        mk_buf_printf(out, "  %s(%s)%s", p->dim, c->drift == MK_DRIFT_GONE ? "gone outside moksha" : "corrects drift", p->off);
    if (c->risk != MK_RISK_LOW)
        mk_buf_printf(out, "  %s(risk: %s)%s", p->dim, mk_plan_risk_name(c->risk), p->off);
    if (c->irreversible)
        mk_buf_printf(out, "  %s(irreversible: what it holds is lost)%s", p->del, p->off);
    char m[MK_MONEY_TEXT + 8];
    if (c->priced && c->monthly > 0)
        dim(out, p, strcat(mk_money_show(c->monthly, m), "/month"));
    else if (c->costed && c->delta < 0)
        dim(out, p, strcat(mk_money_show(c->delta, m), "/month"));
    else if (c->unpriced_because) /* never a bare "unpriced": the reason, per resource */
        mk_buf_printf(out, "  %s(unpriced: %s)%s", p->dim, c->unpriced_because, p->off);
    else if (c->self_hosted)
        mk_buf_printf(out, "  %s(self-hosted on connection %s: $0.00, not a cloud's price)%s", p->dim, c->self_hosted, p->off);
    mk_buf_putc(out, '\n');
}

/* The unpriced resources without a change, each with its reason (a change
 * says its own); md: a list, its untrusted text made safe. */
static void unpriced_unchanged(const mk_plan *plan, mk_buf *out, bool md)
{
    for (size_t i = 0; i < plan->nunpriced_unchanged; i++) {
        const mk_unpriced *u = &plan->unpriced_unchanged[i];
        if (!md) {
            mk_buf_printf(out, "    %s (no change) is unpriced: %s\n", u->address, u->why);
            continue;
        }
        mk_buf_puts(out, i ? "- " : "\n- ");
        mk_md_code(out, u->address, false);
        mk_buf_puts(out, " (no change) is unpriced: ");
        mk_md_text(out, u->why);
        mk_buf_putc(out, '\n');
    }
}

static void render_cost(const mk_plan *plan, mk_buf *out, bool md)
{
    if (!plan->costed)
        return;
    char mt[MK_MONEY_TEXT], dt[MK_MONEY_TEXT];
    mk_buf_printf(out, "Cost: %s a month (%s)", mk_money_show(plan->monthly, mt), mk_money_signed(plan->delta, dt));
    if (plan->unpriced)
        mk_buf_printf(out, "; %lld resource%s unpriced", (long long)plan->unpriced, plan->unpriced == 1 ? "" : "s");
    if (plan->self_hosted) /* note [off cloud] in middle/cost.h: counted apart, never as unpriced */
        mk_buf_printf(out, "; %lld self-hosted (not a cloud's price)", (long long)plan->self_hosted);
    mk_buf_puts(out, ".\n");
    unpriced_unchanged(plan, out, md);
}

/* ---- observations and drift (docs/drift.md, "Plans show drift") ---- */

/* Seconds since the epoch of an RFC 3339 UTC time ("2026-12-01T20:00:00Z"), or -1. */
static long long epoch_of(const char *at)
{
    struct tm tm = {0};
    const char *end = at ? strptime(at, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    return end ? (long long)timegm(&tm) : -1;
}

/* Now, or SOURCE_DATE_EPOCH when set: the reproducible-builds convention,
 * which the golden tests use to fix an observation's age. */
static long long now_s(void)
{
    const char *fixed = getenv("SOURCE_DATE_EPOCH");
    return fixed && *fixed ? strtoll(fixed, NULL, 10) : (long long)time(NULL);
}

void mk_render_age(long long seconds, mk_buf *out)
{
    if (seconds < 0)
        seconds = 0;
    if (seconds < 60)
        mk_buf_printf(out, "%lld s", seconds);
    else if (seconds < 3600)
        mk_buf_printf(out, "%lld min", seconds / 60);
    else if (seconds < 86400)
        mk_buf_printf(out, "%lld h", seconds / 3600);
    else
        mk_buf_printf(out, "%lld d", seconds / 86400);
}

/* The first line of a plan: how old the observations are, or that there
 * are none. A stack never applied (serial 0) says neither: there is
 * nothing in the world of it yet. */
static void observed_line(const mk_plan *plan, mk_buf *out)
{
    if (plan->revert_to > 0)
        mk_buf_printf(out, "Reverts the stack to state serial %lld: the desired resources are that serial's, not the "
                           "spec's.\n", (long long)plan->revert_to);
    if (!plan->observed) {
        if (plan->serial > 0)
            mk_buf_puts(out, "Never refreshed: these changes are against the state as last applied (moksha plan "
                             "--refresh reads the world first).\n");
        return;
    }
    long long at = epoch_of(plan->observed_at), age = at < 0 ? 0 : now_s() - at;
    mk_buf_puts(out, "Read from the providers ");
    if (at < 0)
        mk_buf_puts(out, "at an unknown time");
    else if (age < 0) /* "0 s ago" would hide that a clock is wrong */
        mk_render_age(-age, out), mk_buf_puts(out, " in the future (clock skew: this machine's clock, or the one of the "
                                                   "machine that refreshed, is off)");
    else
        mk_render_age(age, out), mk_buf_puts(out, " ago");
    mk_buf_puts(out, ".\n");
    for (uint32_t i = 0; i < plan->unreadable.n; i++)
        mk_buf_printf(out, "%s could not be read: planned from the state as recorded.\n", plan->unreadable.v[i]);
}

static bool secret_json(json_t *v) { return json_is_object(v) && json_object_get(v, "$secret"); }

/* One side of a drifted attribute: its value, or "(sensitive)" for an
 * attribute the entry lists as sensitive or a side that is sealed (a loaded
 * plan's drift holds a sensitive one only sealed or as a marker). */
static void drift_value(const mk_drift *d, const char *k, json_t *v, mk_buf *out)
{
    bool hidden = listed(&d->sensitive, k) || secret_json(json_object_get(d->recorded, k)) ||
                  secret_json(json_object_get(d->observed, k));
    if (hidden)
        mk_buf_puts(out, "(sensitive)");
    else
        mk_render_value(v ? v : json_null(), out);
}

/* "compute.web[1] changed outside moksha: size "small" → "large"", or
 * "bucket.logs was deleted outside moksha". */
static void drift_text(const mk_drift *d, mk_buf *out, const pal *p)
{
    bool gone = d->status == MK_DRIFT_GONE;
    mk_buf_printf(out, "%s%s%s%s", p->bold, d->address, p->off, gone ? " was deleted outside moksha" : " changed outside moksha:");
    for (uint32_t i = 0; !gone && i < d->attributes.n; i++) {
        const char *k = d->attributes.v[i];
        mk_buf_printf(out, "%s %s ", i ? "," : "", k);
        drift_value(d, k, json_object_get(d->recorded, k), out);
        mk_buf_puts(out, " → ");
        drift_value(d, k, json_object_get(d->observed, k), out);
    }
    if (strcmp(d->mode, "report") == 0)
        mk_buf_printf(out, "  %s(drift = \"report\": not corrected)%s", p->dim, p->off);
}

static void drift_line(const mk_drift *d, mk_buf *out, const pal *p)
{
    bool gone = d->status == MK_DRIFT_GONE;
    mk_buf_printf(out, "    %s%s%s ", gone ? p->del : p->chg, gone ? "-" : "~", p->off);
    drift_text(d, out, p);
    mk_buf_putc(out, '\n');
}

static void drift_section(const mk_plan *plan, mk_buf *out, const pal *p)
{
    if (!plan->ndrift)
        return;
    mk_buf_puts(out, "\nChanged outside moksha since the last apply:\n\n");
    for (size_t i = 0; i < plan->ndrift; i++)
        drift_line(&plan->drift[i], out, p);
}

/* "Reads outputs of network/prod at serial 7." for each other stack read
 * (docs/language.md, "Reading another stack's outputs"). */
static void reads_lines(const mk_plan *plan, mk_buf *out)
{
    size_t i;
    json_t *r;
    json_array_foreach(plan->reads, i, r) {
        const char *env = json_string_value(json_object_get(r, "env"));
        mk_buf_printf(out, "Reads outputs of %s%s%s at serial %lld.\n", json_string_value(json_object_get(r, "stack")) ?: "?",
                      env ? "/" : "", env ? env : "", (long long)json_integer_value(json_object_get(r, "serial")));
    }
}

/* One output's value as the plan text shows it: null is known only after
 * the apply, a secret is never shown. */
static void output_value(json_t *v, mk_buf *out)
{
    if (json_is_null(v))
        mk_buf_puts(out, "(known after apply)");
    else
        mk_render_value(v, out);
}

/* "~ vpc_id: "vpc-1" → "vpc-2"", "+ name = …", "- name"; a plan read back
 * has no state beside it, so only the value it records. */
static void output_text(const mk_plan *plan, const char *k, mk_buf *out, const pal *p)
{
    json_t *after = json_object_get(plan->outputs, k), *before = json_object_get(plan->outputs_before, k);
    if (!after) {
        mk_buf_printf(out, "%s-%s %s", p->del, p->off, k);
        return;
    }
    bool added = plan->outputs_before && !before;
    mk_buf_printf(out, "%s%s%s %s", added ? p->add : p->chg, added ? "+" : "~", p->off, k);
    if (before) {
        mk_buf_puts(out, ": ");
        output_value(before, out);
        mk_buf_puts(out, " → ");
    } else
        mk_buf_puts(out, " = ");
    output_value(after, out);
}

static void outputs_section(const mk_plan *plan, mk_buf *out, const pal *p)
{
    if (!plan->outputs_changed.n)
        return;
    mk_buf_puts(out, "Changes to outputs:\n\n");
    for (uint32_t i = 0; i < plan->outputs_changed.n; i++) {
        mk_buf_puts(out, "    ");
        output_text(plan, plan->outputs_changed.v[i], out, p);
        mk_buf_putc(out, '\n');
    }
    mk_buf_putc(out, '\n');
}

void mk_render_summary(const mk_plan *plan, mk_buf *out)
{
    const mk_plan_totals *t = &plan->totals;
    mk_buf_printf(out, "Plan: %d to create, %d to update, %d to replace, %d to delete", t->create, t->update,
                  t->replace, t->remove);
    if (t->import) /* only when there are: a plan without says what it always said */
        mk_buf_printf(out, ", %d to import", t->import);
    if (t->move)
        mk_buf_printf(out, ", %d to move", t->move);
    size_t irreversible = 0;
    for (size_t i = 0; i < plan->nchanges; i++)
        irreversible += plan->changes[i].irreversible;
    if (irreversible) /* deletes and replaces whose objects' data cannot come back */
        mk_buf_printf(out, "; %zu irreversible", irreversible);
    mk_buf_putc(out, '.');
}

void mk_render_text(const mk_plan *plan, mk_buf *out, bool color)
{
    const pal *p = color ? &ANSI : &PLAIN;
    observed_line(plan, out);
    reads_lines(plan, out);
    drift_section(plan, out, p);
    if (plan->observed || plan->serial > 0 || plan->ndrift || plan->reads)
        mk_buf_putc(out, '\n');
    if (plan->nchanges == 0 && !plan->outputs_changed.n && plan->env) {
        mk_buf_printf(out, "No changes in environment %s: the infrastructure matches the spec.\n", plan->env);
    } else if (plan->nchanges == 0 && !plan->outputs_changed.n) {
        mk_buf_puts(out, "No changes: the infrastructure matches the spec.\n");
    } else if (plan->nchanges) {
        mk_buf_printf(out, "moksha will make these changes to stack %s%s%s:\n\n", plan->stack,
                      plan->env ? ", environment " : "", plan->env ? plan->env : "");
        for (size_t i = 0; i < plan->nchanges; i++) {
            const mk_change *c = &plan->changes[i];
            change_head(c, out, p);
            if (c->action != MK_ACT_DELETE)
                attr_lines(c, out, p);
            mk_buf_putc(out, '\n');
        }
    }
    outputs_section(plan, out, p);
    mk_buf_puts(out, p->bold);
    mk_render_summary(plan, out);
    mk_buf_puts(out, p->off);
    mk_buf_putc(out, '\n');
    render_cost(plan, out, false);
}

static void markdown_row(const mk_change *c, mk_buf *out)
{
    static const char *const SYM[] = {"🗑️", "➕", "✏️", "♻️", "🗑️", "📥", "🚚"};
    mk_buf_printf(out, "| %s | ", SYM[c->action]);
    if (c->moved_from) {
        mk_md_code(out, c->moved_from, true);
        mk_buf_puts(out, " → ");
    }
    mk_md_code(out, c->address, true);
    if (c->import_id) {
        mk_buf_puts(out, " (id ");
        mk_md_code(out, c->import_id, true);
        mk_buf_puts(out, c->before ? ")" : "; attributes unknown until read)");
    }
    mk_buf_puts(out, " | ");
    mk_md_text(out, mk_plan_action_name(c->action));
    mk_buf_puts(out, " | ");
    mk_md_text(out, mk_plan_risk_name(c->risk));
    if (c->irreversible)
        mk_buf_puts(out, ", **irreversible**");
    mk_buf_puts(out, " | ");
    mk_buf where = {0}; /* a delete's placement comes from the state: text like any other */
    if (!landing_text(c, "", &where) && c->via && c->provider)
        mk_buf_printf(&where, "via %s %s", c->via, c->provider);
    if (where.len)
        mk_md_text(out, mk_buf_cstr(&where));
    else
        mk_buf_puts(out, "–");
    mk_buf_free(&where);
    mk_buf_puts(out, " | ");
    char mt[MK_MONEY_TEXT];
    if (c->priced && c->self_hosted) {
        mk_buf_printf(out, "%s (self-hosted on connection ", mk_money_show(c->monthly, mt));
        mk_md_text(out, c->self_hosted);
        mk_buf_puts(out, ") | ");
    } else if (c->priced) {
        mk_buf_printf(out, "%s | ", mk_money_show(c->monthly, mt));
    } else if (c->unpriced_because) {
        mk_buf_puts(out, "unpriced: ");
        mk_md_text(out, c->unpriced_because);
        mk_buf_puts(out, " | ");
    } else {
        mk_buf_puts(out, "– | ");
    }
    for (uint32_t k = 0; k < c->changed.n; k++) {
        mk_buf_puts(out, k ? ", " : "");
        mk_md_code(out, c->changed.v[k], true);
        mk_buf_puts(out, listed(&c->forces, c->changed.v[k]) ? " (forces replacement)" : "");
    }
    mk_buf_puts(out, " |\n");
}

/* The age line and the drift list, as text does, in markdown: the text's
 * own lines, each made safe (addresses and values are the spec's). */
/* The age line and the drift list, as text has them, in markdown (each
 * made safe: addresses and values are the spec's). */
static void markdown_observed(const mk_plan *plan, mk_buf *out)
{
    mk_buf line = {0};
    observed_line(plan, &line);
    while (line.len && line.data[line.len - 1] == '\n')
        line.data[--line.len] = 0;
    if (line.len)
        mk_md_text(out, mk_buf_cstr(&line)), mk_buf_puts(out, "\n\n");
    for (size_t i = 0; i < plan->ndrift; i++) {
        line.len = 0;
        drift_text(&plan->drift[i], &line, &PLAIN);
        mk_buf_puts(out, i ? "- " : "**Changed outside moksha since the last apply:**\n\n- ");
        mk_md_text(out, mk_buf_cstr(&line));
        mk_buf_putc(out, '\n');
    }
    if (plan->ndrift)
        mk_buf_putc(out, '\n');
    mk_buf_free(&line);
}

/* The reads and the outputs' changes, as text has them, in markdown. */
static void markdown_outputs(const mk_plan *plan, mk_buf *out)
{
    mk_buf line = {0};
    reads_lines(plan, &line);
    if (line.len)
        mk_md_text(out, mk_buf_cstr(&line)), mk_buf_putc(out, '\n');
    for (uint32_t i = 0; i < plan->outputs_changed.n; i++) {
        line.len = 0;
        output_text(plan, plan->outputs_changed.v[i], &line, &PLAIN);
        mk_buf_puts(out, i ? "- " : "**Changes to outputs:**\n\n- ");
        mk_md_text(out, mk_buf_cstr(&line));
        mk_buf_putc(out, '\n');
    }
    if (plan->outputs_changed.n)
        mk_buf_putc(out, '\n');
    mk_buf_free(&line);
}

void mk_render_markdown(const mk_plan *plan, mk_buf *out)
{
    mk_buf_puts(out, "### moksha plan for ");
    mk_md_code(out, plan->stack, false);
    if (plan->env)
        mk_buf_puts(out, ", environment "), mk_md_code(out, plan->env, false);
    mk_buf_puts(out, "\n\n");
    markdown_observed(plan, out);
    mk_buf_puts(out, "**");
    mk_render_summary(plan, out);
    mk_buf_puts(out, "**\n\n");
    render_cost(plan, out, true);
    if (plan->costed)
        mk_buf_putc(out, '\n');
    markdown_outputs(plan, out);
    if (plan->nchanges == 0) {
        if (!plan->outputs_changed.n)
            mk_buf_puts(out, "No changes: the infrastructure matches the spec.\n");
        return;
    }
    mk_buf_puts(out, "| | resource | action | risk | placement | monthly | changed attributes |\n"
                     "|---|---|---|---|---|---:|---|\n");
    for (size_t i = 0; i < plan->nchanges; i++)
        markdown_row(&plan->changes[i], out);
}
