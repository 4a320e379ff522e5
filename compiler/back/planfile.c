/* planfile — the plan as a file, and the one place its shape is decided:
 * a plan's records (middle/plan.h, note [plan model]) written straight into
 * the canonical text (compact, fields in a fixed order, defaults left out)
 * and hashed as they are written, the signature over the statement of that
 * digest; a plan document read back into records (a saved plan, for show);
 * verifying a plan file from its bytes, which paths `plan -o` may write, and
 * the atomic write. It is not the differ (middle/plan.c) nor the executor's
 * loader (runtime/planfile.c), which keeps its own copy of the field lists. */
#include "compiler/back/planfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/atomic.h"
#include "compiler/base/jalloc.h"
#include "compiler/base/mem.h"
#include "compiler/base/sign.h"
#include "compiler/front/program.h"
#include "compiler/front/vjson.h"

/* ---- reading a plan document into records ---- */

typedef struct reader {
    mk_plan *p;
    char *why;
    size_t whylen;
    bool bad;
    size_t at; /* the change being read, 1-based; 0 for the plan's own fields */
} reader;

static bool same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

static void refuse(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(reader *r, const char *fmt, ...)
{
    if (r->bad)
        return;
    r->bad = true;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->at)
        snprintf(r->why, r->whylen, "change %zu of the plan: %s", r->at, msg);
    else
        snprintf(r->why, r->whylen, "the plan: %s", msg);
}

/* A string field: NULL when absent or null (and then refused if required). */
static const char *str_of(reader *r, json_t *o, const char *k, bool required)
{
    json_t *v = json_object_get(o, k);
    if (json_is_string(v))
        return json_string_value(v);
    if (v && !json_is_null(v))
        refuse(r, "`%s` is not a string", k);
    else if (required)
        refuse(r, "`%s` is missing", k);
    return NULL;
}

static int64_t int_of(reader *r, json_t *o, const char *k, bool required)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) && (v || required))
        refuse(r, "`%s` is not an integer", k);
    return json_integer_value(v);
}

static bool bool_of(reader *r, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (v && !json_is_boolean(v))
        refuse(r, "`%s` is not true or false", k);
    return json_is_true(v);
}

/* Any JSON but null: NULL for absent or null. */
static json_t *json_of(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_null(v) ? NULL : v;
}

/* A list of names (absent: none), borrowed from the document. */
static mk_names names_of(reader *r, json_t *o, const char *k)
{
    json_t *a = json_object_get(o, k);
    mk_names n = {0};
    if (!a)
        return n;
    if (!json_is_array(a)) {
        refuse(r, "`%s` is not a list", k);
        return n;
    }
    const char **v = mk_arena_alloc(r->p->arena, (json_array_size(a) + 1) * sizeof *v);
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x)
        if (!(v[n.n++] = json_string_value(x)))
            refuse(r, "`%s` holds something other than names", k);
    n.v = v;
    return n;
}

/* Money as plans write it, "55.85" (docs/formats.md, "Money"), exactly. */
static mk_money money_of(reader *r, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    mk_money m = 0;
    if (!json_is_string(v) || !mk_money_parse(json_string_value(v), json_string_length(v), &m))
        refuse(r, "`%s` is not an amount of money", k);
    return m;
}

static void read_cost(reader *r, mk_change *c, json_t *cost)
{
    if (!cost)
        return;
    if (!json_is_object(cost)) {
        refuse(r, "`cost` is not an object");
        return;
    }
    c->costed = true;
    c->priced = json_object_get(cost, "monthly") && !json_is_null(json_object_get(cost, "monthly"));
    c->monthly = c->priced ? money_of(r, cost, "monthly") : 0;
    /* absent: the monthly cost (note [plan defaults]); with none, required */
    c->delta = c->priced && !json_object_get(cost, "delta") ? c->monthly : money_of(r, cost, "delta");
    c->offering = str_of(r, cost, "offering", false);
    c->unpriced_because = str_of(r, cost, "unpriced_because", false);
    c->self_hosted = str_of(r, cost, "self_hosted", false);
}

/* The cost model's placement, {"providers":[C],"regions":[R]} and an
 * `offering` when it is not the cost's (note [plan defaults]), or as older
 * plans wrote it, {…,"offering":O,"optimize":"cost"}, and nothing else, is
 * where the change was placed: the writer makes the text again from cloud,
 * region and offering. Any other placement — a block as written, which
 * always has its `optimize`, the state's for a delete — is kept as it is. */
static void read_placement(mk_change *c, json_t *pl)
{
    c->placement = json_incref(pl); /* (a reference the plan holds) */
    json_t *prov = json_object_get(pl, "providers"), *reg = json_object_get(pl, "regions");
    json_t *off = json_object_get(pl, "offering"), *opt = json_object_get(pl, "optimize");
    static const char *const KEYS[] = {"providers", "regions", "offering", "optimize"};
    size_t n = 0;
    bool in_order = true;
    const char *key;
    json_t *v;
    json_object_foreach(pl, key, v)
        in_order = in_order && n < 4 && strcmp(key, KEYS[n++]) == 0;
    bool placed = in_order && n >= 2 && (!opt || (off && strcmp(json_string_value(opt) ?: "", "cost") == 0)) &&
                  json_array_size(prov) == 1 && json_array_size(reg) == 1 && json_is_string(json_array_get(prov, 0)) &&
                  json_is_string(json_array_get(reg, 0)) && (!off || json_is_string(off) || json_is_null(off));
    if (!placed)
        return;
    c->cloud = json_string_value(json_array_get(prov, 0));
    c->region = json_string_value(json_array_get(reg, 0));
    c->placed_offering = off ? json_string_value(off) : c->offering;
}

static mk_action action_of(reader *r, const char *s)
{
    for (mk_action a = MK_ACT_NOOP; a <= MK_ACT_MOVE; a++)
        if (s && strcmp(s, mk_plan_action_name(a)) == 0)
            return a;
    refuse(r, "`action` is not create, update, replace, delete, import or move");
    return MK_ACT_NOOP;
}

static mk_risk risk_of(reader *r, const char *s)
{
    for (mk_risk k = MK_RISK_LOW; k <= MK_RISK_HIGH; k++)
        if (s && strcmp(s, mk_plan_risk_name(k)) == 0)
            return k;
    refuse(r, "`risk` is not low, medium or high");
    return MK_RISK_LOW;
}

static void read_ids(reader *r, mk_change *c, json_t *a)
{
    if (a && !json_is_array(a))
        refuse(r, "`depends_on` is not a list");
    uint32_t *ids = mk_arena_alloc(r->p->arena, (json_array_size(a) + 1) * sizeof *ids);
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x) {
        if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > UINT32_MAX)
            refuse(r, "`depends_on` holds something other than change ids");
        ids[c->ndepends++] = (uint32_t)json_integer_value(x);
    }
    c->depends_on = ids;
}

/* note [plan defaults]: `after` with the null of each unknown attribute it
 * leaves out put back where the writer took it from — at the end, in
 * after_unknown's (schema) order — so that show and the writer see it
 * whole: a copy when one is missing (the document is not changed), else
 * the document's; a reference the plan holds either way. */
static json_t *after_of(json_t *after, mk_names unknown)
{
    json_t *whole = NULL;
    for (uint32_t i = 0; json_is_object(after) && i < unknown.n; i++)
        if (unknown.v[i] && !json_object_get(after, unknown.v[i])) {
            if (!whole)
                whole = json_copy(after);
            json_object_set_new(whole, unknown.v[i], json_null());
        }
    return whole ? whole : json_incref(after);
}

static mk_drift_status drift_status_of(reader *r, const char *s)
{
    if (s && strcmp(s, "changed") == 0)
        return MK_DRIFT_CHANGED;
    if (s && strcmp(s, "gone") == 0)
        return MK_DRIFT_GONE;
    refuse(r, "a drift `status` is not \"changed\" or \"gone\"");
    return MK_DRIFT_NONE;
}

/* A change's `drift` (absent: none). */
static void read_change_drift(reader *r, mk_change *c, json_t *d)
{
    if (!d)
        return;
    if (!json_is_object(d))
        refuse(r, "`drift` is not an object");
    c->drift = drift_status_of(r, str_of(r, d, "status", true));
    c->drift_attrs = names_of(r, d, "attributes");
}

/* An import's `"import": {"id"}` and a moved resource's `moved_from`;
 * an import without its id cannot be applied. */
static void read_relocation(reader *r, mk_change *c, json_t *o)
{
    json_t *imp = json_object_get(o, "import");
    if (imp && !json_is_string(json_object_get(imp, "id")))
        refuse(r, "`import` has no `id`");
    c->import_id = json_string_value(json_object_get(imp, "id"));
    if (c->action == MK_ACT_IMPORT && !c->import_id)
        refuse(r, "an import has no `import`");
    c->moved_from = str_of(r, o, "moved_from", false);
    if (c->action == MK_ACT_MOVE && !c->moved_from)
        refuse(r, "a move has no `moved_from`");
}

static void read_change(reader *r, mk_change *c, json_t *o)
{
    if (!json_is_object(o)) {
        refuse(r, "not an object");
        return;
    }
    /* absent: its place in the list, from 1; risk low (note [plan defaults]) */
    int64_t id = json_object_get(o, "id") ? int_of(r, o, "id", true) : (int64_t)r->at;
    c->id = id >= 1 && id <= UINT32_MAX ? (uint32_t)id : 0;
    c->action = action_of(r, str_of(r, o, "action", true));
    const char *risk = str_of(r, o, "risk", false);
    c->risk = json_object_get(o, "risk") ? risk_of(r, risk) : MK_RISK_LOW;
    c->irreversible = bool_of(r, o, "irreversible");
    c->address = str_of(r, o, "address", true);
    c->type = str_of(r, o, "type", true);
    c->name = str_of(r, o, "name", false);
    c->provider = str_of(r, o, "provider", false);
    c->via = mk_plan_via(r->p->providers, c->type, c->provider); /* what the providers say, never the field alone */
    if (!same_str(str_of(r, o, "via", false), c->via))
        refuse(r, "`via` is not the kind of the change's provider block");
    c->deposed = str_of(r, o, "deposed", false);
    read_relocation(r, c, o);
    c->before = json_of(o, "before");
    c->unknown = names_of(r, o, "after_unknown");
    c->after = after_of(json_of(o, "after"), c->unknown);
    c->sensitive = names_of(r, o, "sensitive");
    c->changed = names_of(r, o, "changed");
    c->forces = names_of(r, o, "replace_because");
    read_ids(r, c, json_object_get(o, "depends_on"));
    mk_names refs = names_of(r, o, "refs");
    c->refs = refs.v, c->nrefs = refs.n;
    json_t *lc = json_object_get(o, "lifecycle");
    if (c->action == MK_ACT_DELETE)
        c->lifecycle = lc; /* a delete's is the state's as it was recorded */
    c->prevent_destroy = bool_of(r, lc, "prevent_destroy");
    c->create_before_destroy = bool_of(r, lc, "create_before_destroy");
    if (c->action != MK_ACT_DELETE) {
        c->ignore_changes = names_of(r, lc, "ignore_changes");
        c->drift_mode = str_of(r, lc, "drift", false);
    }
    read_change_drift(r, c, json_object_get(o, "drift"));
    if (!json_object_get(o, "cost"))
        refuse(r, "`cost` is missing");
    read_cost(r, c, json_of(o, "cost"));
    read_placement(c, json_of(o, "placement"));
    c->risk_raised_by = str_of(r, o, "risk_raised_by", false);
    if (c->irreversible && c->action != MK_ACT_DELETE && c->action != MK_ACT_REPLACE)
        refuse(r, "only a delete or a replace is `irreversible`");
    if (!c->id)
        refuse(r, "`id` is not a change id");
}

static void read_gates(reader *r, json_t *a)
{
    mk_plan *p = r->p;
    if (a && !json_is_array(a))
        refuse(r, "`gates` is not a list");
    p->gates = mk_arena_alloc(p->arena, (json_array_size(a) + 1) * sizeof *p->gates);
    size_t i;
    json_t *g;
    json_array_foreach(a, i, g) {
        mk_gate *x = &p->gates[p->ngates++];
        x->id = (uint32_t)int_of(r, g, "id", true);
        x->policy = str_of(r, g, "policy", true);
        x->group = str_of(r, g, "group", true);
        x->message = str_of(r, g, "message", false);
        x->address = str_of(r, g, "address", false);
        json_t *c = json_object_get(g, "change");
        if (c && !json_is_null(c) && !json_is_integer(c))
            refuse(r, "a gate's `change` is not a change id");
        x->change = (uint32_t)json_integer_value(c);
        json_t *n = json_object_get(g, "count");
        if (n && (!json_is_integer(n) || json_integer_value(n) < 2 || json_integer_value(n) > 16))
            refuse(r, "a gate's `count` is not a whole number from 2 to 16 (1 is written by leaving it out)");
        x->count = n ? (uint32_t)json_integer_value(n) : 1;
    }
}

static void read_totals(reader *r, json_t *t)
{
    mk_plan_totals *x = &r->p->totals;
    x->create = (int)int_of(r, t, "create", true);
    x->update = (int)int_of(r, t, "update", true);
    x->replace = (int)int_of(r, t, "replace", true);
    x->remove = (int)int_of(r, t, "delete", true);
    x->noop = (int)int_of(r, t, "noop", true);
    x->import = (int)int_of(r, t, "import", false);
    x->move = (int)int_of(r, t, "move", false);
}

static void read_plan_cost(reader *r, json_t *cost)
{
    mk_plan *p = r->p;
    if (!cost)
        return;
    p->costed = true;
    p->monthly = money_of(r, cost, "monthly");
    p->applied = money_of(r, cost, "applied");
    p->delta = money_of(r, cost, "delta");
    p->unpriced = int_of(r, cost, "unpriced", true);
    p->self_hosted = int_of(r, cost, "self_hosted", false);
    json_t *list = json_object_get(cost, "unpriced_unchanged"), *u;
    if (list && !json_is_array(list))
        refuse(r, "`unpriced_unchanged` is not a list");
    p->unpriced_unchanged = mk_arena_alloc(p->arena, (json_array_size(list) + 1) * sizeof *p->unpriced_unchanged);
    size_t i;
    json_array_foreach(list, i, u)
        p->unpriced_unchanged[p->nunpriced_unchanged++] = (mk_unpriced){str_of(r, u, "address", true), str_of(r, u, "why", true)};
}

/* A field the plan keeps a reference to as it is (absent: NULL): the
 * objects inside are not checked field by field (docs/formats.md). */
static json_t *kept(json_t *doc, const char *k)
{
    json_t *v = json_object_get(doc, k);
    return v ? json_incref(v) : NULL;
}

static bool known_fields(json_t *plan, char *why, size_t whylen);

/* `policy_packs`: [{"name": TEXT, "digest": 64 hex}] (note [policy packs]). */
static void read_packs(reader *r, json_t *a)
{
    size_t i;
    json_t *x;
    if (a && !json_is_array(a))
        refuse(r, "`policy_packs` is not a list");
    json_array_foreach(a, i, x) {
        const char *d = json_string_value(json_object_get(x, "digest"));
        bool hex = d && strlen(d) == 64 && strspn(d, "0123456789abcdef") == 64;
        if (!json_is_object(x) || json_object_size(x) != 2 || !json_is_string(json_object_get(x, "name")) || !hex)
            refuse(r, "a `policy_packs` entry is not {\"name\", \"digest\": 64 hex digits}");
    }
}

/* The plan's `observed` (absent: never refreshed) and `drift` list. */
static void read_observed(reader *r, json_t *doc)
{
    mk_plan *p = r->p;
    json_t *o = json_object_get(doc, "observed"), *list = json_object_get(doc, "drift");
    if (o) {
        p->observed = true;
        p->observed_at = str_of(r, o, "at", false);
        p->observed_serial = int_of(r, o, "serial", false);
        p->unreadable = names_of(r, o, "unreadable");
    }
    if (list && !json_is_array(list))
        refuse(r, "`drift` is not a list");
    p->drift = mk_mem_calloc(json_array_size(list) + 1, sizeof *p->drift);
    size_t i;
    json_t *d;
    json_array_foreach(list, i, d) {
        mk_drift *x = &p->drift[p->ndrift++];
        x->address = str_of(r, d, "address", true);
        x->type = str_of(r, d, "type", false);
        x->status = drift_status_of(r, str_of(r, d, "status", true));
        x->attributes = names_of(r, d, "attributes");
        x->recorded = kept(d, "recorded"), x->observed = kept(d, "observed");
        x->mode = str_of(r, d, "mode", false) ?: "correct";
        int64_t ch = json_is_integer(json_object_get(d, "change")) ? json_integer_value(json_object_get(d, "change")) : 0;
        x->change = ch > 0 && ch <= UINT32_MAX ? (uint32_t)ch : 0;
    }
}

/* note [plan backend]: {"kind", "stack", "env"}, stack and env null for none. */
static void read_backend(reader *r, json_t *b)
{
    if (!b)
        return;
    if (!json_is_object(b)) {
        refuse(r, "`backend` is not an object");
        return;
    }
    r->p->backend_kind = str_of(r, b, "kind", true);
    json_t *st = json_object_get(b, "stack"), *env = json_object_get(b, "env");
    if ((st && !json_is_null(st) && !json_is_string(st)) || (env && !json_is_null(env) && !json_is_string(env)))
        refuse(r, "`backend`'s stack and env are strings or null");
    r->p->backend_stack = json_string_value(st);
    r->p->backend_env = json_string_value(env);
}

static void read_plan(reader *r, json_t *doc)
{
    mk_plan *p = r->p;
    json_t *st = json_object_get(doc, "state"), *changes = json_object_get(doc, "changes");
    p->stack = str_of(r, doc, "stack", true);
    p->env = str_of(r, doc, "env", false);
    const char *digest = str_of(r, doc, "inputs_digest", true);
    if (digest && strlen(digest) >= sizeof p->inputs_digest)
        refuse(r, "`inputs_digest` is not a digest");
    else if (digest)
        strcpy(p->inputs_digest, digest);
    p->destroy = bool_of(r, doc, "destroy");
    p->revert_to = json_object_get(doc, "revert_to") ? int_of(r, doc, "revert_to", true) : 0;
    if (!json_is_object(st))
        refuse(r, "`state` is missing");
    p->stack_id = str_of(r, st, "stack_id", false);
    p->lineage = str_of(r, st, "lineage", true);
    p->serial = int_of(r, st, "serial", true);
    read_backend(r, json_object_get(doc, "backend"));
    p->providers = kept(doc, "providers");
    p->outputs = kept(doc, "outputs");
    p->outputs_changed = names_of(r, doc, "outputs_changed");
    p->outputs_before = kept(doc, "outputs_before");
    if (p->outputs_changed.n && !p->outputs_before) /* none recorded: every one is new */
        p->outputs_before = json_object();
    else if (p->outputs_before && !json_is_object(p->outputs_before))
        refuse(r, "`outputs_before` is not an object");
    p->reads = kept(doc, "reads");
    if (p->reads && !json_is_array(p->reads))
        refuse(r, "`reads` is not a list");
    p->policies = kept(doc, "policies");
    p->policy_packs = kept(doc, "policy_packs");
    read_packs(r, p->policy_packs);
    p->waivers = kept(doc, "waivers");
    if (p->waivers && !json_is_array(p->waivers))
        refuse(r, "`waivers` is not a list");
    read_observed(r, doc);
    read_gates(r, json_object_get(doc, "gates"));
    read_totals(r, json_object_get(doc, "totals"));
    read_plan_cost(r, json_of(doc, "cost"));
    if (!json_is_array(changes))
        refuse(r, "`changes` is not a list");
    p->changes = mk_mem_calloc(json_array_size(changes) + 1, sizeof *p->changes);
    for (size_t i = 0; i < json_array_size(changes) && !r->bad; i++) {
        r->at = i + 1;
        read_change(r, &p->changes[p->nchanges++], json_array_get(changes, i));
    }
}

mk_plan *mk_planfile_read(json_t *doc, char *why, size_t whylen)
{
    if (!json_is_object(doc) || strcmp(json_string_value(json_object_get(doc, "format")) ?: "", "moksha.plan/v1")) {
        snprintf(why, whylen, "not a moksha.plan/v1 document");
        return NULL;
    }
    if (!known_fields(doc, why, whylen))
        return NULL;
    mk_plan *p = mk_mem_calloc(1, sizeof *p); /* (as mk_plan_build makes one: mk_plan_free frees either) */
    p->arena = mk_arena_new();
    reader r = {p, why, whylen, false, 0};
    read_plan(&r, doc);
    if (!r.bad)
        return p;
    mk_plan_free(p);
    return NULL;
}

/* ---- writing the records as the plan file's text ----
 *
 * note [plan text]: the body is one compact JSON object written straight
 * from the records, with no document tree: plan fields in the order
 * below, a change's fields in its kind's order (CHANGE_ORDER), a value as
 * jansson's compact dump writes it (note [value text] in front/vjson.c).
 * The SHA-256 of the body is computed over the same bytes in blocks as
 * they are written (the golden plan/json.out, and test_planfile's round
 * trip, which reads a written plan back and writes it again).
 *
 * note [plan defaults]: a field whose value is its default is not written;
 * every reader takes an absent field as that default, and a field written
 * with its default value means the same (docs/formats.md, "Defaults"):
 * `destroy` false; `providers`, `outputs` {}; `gates`, `policies` []; the
 * state's `stack_id`, a change's `provider`, `before`, `after`,
 * `placement` and its cost's `offering` and `unpriced_because` null; a
 * change's lists empty; a lifecycle of two false flags; a change's `id` its
 * place in the list, from 1; its `risk` low; its cost's `delta` the
 * monthly cost (when there is one). Two are defaults inside a value:
 * - the unknown attributes `after` ends with (after_unknown, in schema
 *   order, names them) are written as nothing rather than null: a reader
 *   puts each null back at the end of `after`, in after_unknown's order,
 *   which is where it was. One before a known attribute stays written, so
 *   no reader needs the schema to put it back in its place.
 * - a placement the cost model chose is {"providers":[C],"regions":[R]},
 *   without its `optimize` (always "cost") and with its `offering` only
 *   when that is not the cost's (an unpriced change's). A block as written
 *   always has its `optimize`, so the two never read alike.
 * These are what most of a big plan's changes hold: with them left out, a
 * 100,000-change plan is 19% smaller. docs/plan.schema.json has the same
 * `default`s; the executor's side is runtime/planfile.c. */

typedef struct emitter {
    mk_buf *out;
    void *sink;        /* out's FILE, detached while writing: what is hashed is written, then flushed */
    size_t hashed;
    EVP_MD_CTX *md;
    const mk_key *key; /* seals a made plan's secrets */
} emitter;

#define HASH_BLOCK ((size_t)1 << 16)

/* Hash what was written since the last time; with a sink, hand it over. */
static void spill(emitter *e, bool all)
{
    mk_buf *b = e->out;
    if (!all && b->len - e->hashed < HASH_BLOCK)
        return;
    EVP_DigestUpdate(e->md, b->data + e->hashed, b->len - e->hashed);
    e->hashed = b->len;
    if (e->sink && b->len) {
        fwrite(b->data, 1, b->len, e->sink);
        b->len = e->hashed = 0;
    }
}

/* A literal, without measuring it. */
#define lit(e, s) mk_buf_put((e)->out, (s), sizeof(s) - 1)

static void put_str(emitter *e, const char *s)
{
    if (s)
        mk_vjson_put_string(e->out, s, strlen(s));
    else
        lit(e, "null");
}

static void put_int(emitter *e, int64_t i) { mk_vjson_put_int(e->out, i); }

static void put_money(emitter *e, mk_money m)
{
    char t[MK_MONEY_TEXT];
    put_str(e, mk_money_decimal(m, t));
}

/* `,"k":` (ck), or `"k":` for an object's first field. */
static void key(emitter *e, bool *first, const char *ck)
{
    mk_buf_puts(e->out, ck + *first);
    *first = false;
}

static void put_names(emitter *e, const char *const *v, uint32_t n)
{
    lit(e, "[");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            lit(e, ",");
        put_str(e, v[i]);
    }
    lit(e, "]");
}

/* Is name the next of c's unknown attributes, *u of them passed? `after`
 * and after_unknown are both in schema order. */
static bool next_unknown(const mk_change *c, uint32_t *u, const char *name)
{
    bool is = *u < c->unknown.n && strcmp(c->unknown.v[*u], name) == 0;
    *u += is;
    return is;
}

/* The run of unknown nulls `after` ends with (note [plan defaults]), taken
 * back: trail is where its first field began, or SIZE_MAX for none. */
static void drop_trail(emitter *e, size_t trail)
{
    if (trail != SIZE_MAX)
        e->out->len = trail, e->out->data[trail] = 0;
}

/* Does the field written from `at` to the end hold an unknown's null, and so
 * join the trail that began at mark, or end it? */
static void trail_on(emitter *e, size_t *trail, size_t mark, size_t at, bool unknown)
{
    bool null = unknown && e->out->len - at == 4 && memcmp(e->out->data + at, "null", 4) == 0;
    if (!null)
        *trail = SIZE_MAX;
    else if (*trail == SIZE_MAX)
        *trail = mark;
}

/* Is name one of c's kept attributes (note [kept] in middle/plan.h)? */
static bool is_kept(const mk_change *c, const char *name)
{
    for (uint32_t i = 0; i < c->kept.n; i++)
        if (c->kept.v[i] == name || strcmp(c->kept.v[i], name) == 0)
            return true;
    return false;
}

/* Field k of a made plan's after: before's value for a kept attribute,
 * else the instance's, sealed; false for one jansson would leave out. */
static bool put_after_field(emitter *e, const mk_change *c, uint32_t k, bool *unknown)
{
    const mk_type *ty = c->in->res->schema;
    json_t *was = is_kept(c, ty->fields[k].name) ? json_object_get(c->before, ty->fields[k].name) : NULL;
    if (was) {
        mk_vjson_put(e->out, was);
        return true;
    }
    mk_vjson_at where = {c->address, ty->fields[k].name};
    return mk_vjson_write(e->out, c->in->attrs->u.map.vals[k], e->key, true, &where, unknown);
}

/* A made plan's after: its instance's values (before's for those kept),
 * field by field in schema order, secrets sealed; a field jansson would
 * leave out is left out, and so are the unknown nulls it ends with. */
static void put_after(emitter *e, const mk_change *c)
{
    const mk_type *ty = c->in->res->schema;
    lit(e, "{");
    uint32_t written = 0, u = 0;
    size_t trail = SIZE_MAX;
    for (uint32_t k = 0; ty && k < ty->nfields; k++) {
        size_t mark = e->out->len;
        bool unknown = false;
        if (written)
            lit(e, ",");
        put_str(e, ty->fields[k].name);
        lit(e, ":");
        size_t at = e->out->len;
        if (put_after_field(e, c, k, &unknown)) {
            written++;
            trail_on(e, &trail, mark, at, next_unknown(c, &u, ty->fields[k].name));
        } else
            e->out->len = mark, e->out->data[mark] = 0;
    }
    drop_trail(e, trail);
    lit(e, "}");
}

/* A loaded plan's after, as read (its unknown nulls put back), written as
 * a made one is: without the unknown nulls it ends with. */
static void put_after_json(emitter *e, const mk_change *c)
{
    if (!json_is_object(c->after)) {
        mk_vjson_put(e->out, c->after);
        return;
    }
    lit(e, "{");
    uint32_t u = 0;
    size_t trail = SIZE_MAX, i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(c->after, k, v) {
        size_t mark = e->out->len;
        if (i++)
            lit(e, ",");
        mk_vjson_put_string(e->out, k, strlen(k));
        lit(e, ":");
        size_t at = e->out->len;
        mk_vjson_put(e->out, v);
        trail_on(e, &trail, mark, at, next_unknown(c, &u, k));
    }
    drop_trail(e, trail);
    lit(e, "}");
}

static void put_cost(emitter *e, const mk_change *c)
{
    if (!c->costed) {
        lit(e, "null");
        return;
    }
    lit(e, "{\"monthly\":");
    if (c->priced)
        put_money(e, c->monthly);
    else
        lit(e, "null");
    if (!c->priced || c->delta != c->monthly)
        lit(e, ",\"delta\":"), put_money(e, c->delta);
    if (c->offering)
        lit(e, ",\"offering\":"), put_str(e, c->offering);
    if (c->unpriced_because)
        lit(e, ",\"unpriced_because\":"), put_str(e, c->unpriced_because);
    if (c->self_hosted) /* note [off cloud] in middle/cost.h: $0.00 is no cloud's price */
        lit(e, ",\"self_hosted\":"), put_str(e, c->self_hosted);
    lit(e, "}");
}


/* Where the cost model placed the change, {"providers":[C],"regions":[R]}
 * and its offering when that is not the cost's (note [plan defaults]); else
 * its placement as written (or the state's, for a delete). */
static void put_placement(emitter *e, const mk_change *c)
{
    if (!c->cloud || !c->region) {
        mk_vjson_put(e->out, c->placement);
        return;
    }
    lit(e, "{\"providers\":[");
    put_str(e, c->cloud);
    lit(e, "],\"regions\":[");
    put_str(e, c->region);
    lit(e, "]");
    if (!same_str(c->placed_offering, c->offering))
        lit(e, ",\"offering\":"), put_str(e, c->placed_offering);
    lit(e, "}");
}

/* A change's fields, in the order its kind has them (note [plan text]):
 * a desired change's lifecycle comes before its placement, a delete's
 * after; a deposed object's id follows the address, its provider the
 * action. */
enum { F_ID, F_ADDRESS, F_DEPOSED, F_TYPE, F_NAME, F_PROVIDER, F_VIA, F_ACTION, F_BEFORE, F_AFTER, F_UNKNOWN, F_SENSITIVE,
       F_CHANGED, F_FORCES, F_DEPENDS, F_RISK, F_COST, F_LIFECYCLE, F_PLACEMENT, F_REFS, F_RAISED, F_DRIFT, F_IMPORT,
       F_MOVED, F_IRREVERSIBLE, F_END };
static const unsigned char CHANGE_ORDER[3][F_END + 1] = {
    {F_ID, F_ADDRESS, F_TYPE, F_NAME, F_PROVIDER, F_VIA, F_ACTION, F_IMPORT, F_MOVED, F_BEFORE, F_AFTER, F_UNKNOWN, F_SENSITIVE,
     F_CHANGED, F_FORCES, F_DEPENDS, F_RISK, F_IRREVERSIBLE, F_COST, F_LIFECYCLE, F_PLACEMENT, F_REFS, F_RAISED, F_DRIFT, F_END},
    {F_ID, F_ADDRESS, F_TYPE, F_NAME, F_PROVIDER, F_VIA, F_ACTION, F_IMPORT, F_MOVED, F_BEFORE, F_AFTER, F_UNKNOWN, F_SENSITIVE,
     F_CHANGED, F_FORCES, F_DEPENDS, F_RISK, F_IRREVERSIBLE, F_COST, F_PLACEMENT, F_LIFECYCLE, F_REFS, F_RAISED, F_DRIFT, F_END},
    {F_ID, F_ADDRESS, F_DEPOSED, F_TYPE, F_NAME, F_ACTION, F_PROVIDER, F_VIA, F_BEFORE, F_AFTER, F_UNKNOWN, F_SENSITIVE,
     F_CHANGED, F_FORCES, F_DEPENDS, F_RISK, F_IRREVERSIBLE, F_COST, F_PLACEMENT, F_LIFECYCLE, F_REFS, F_RAISED, F_DRIFT, F_END},
};

static const char *const DRIFT_STATUS[] = {"none", "changed", "gone"};

/* A lifecycle of nothing but false flags is the default: a delete's as the
 * state recorded it (an empty object too, but not a null), else the two
 * flags. */
static bool default_lifecycle(const mk_change *c)
{
    if (!c->lifecycle)
        return !c->prevent_destroy && !c->create_before_destroy && !c->ignore_changes.n && !c->drift_mode;
    const char *k;
    json_t *v;
    json_object_foreach(c->lifecycle, k, v)
        if (!json_is_false(v))
            return false;
    return json_is_object(c->lifecycle);
}

/* A desired change's lifecycle: the two flags, then ignore_changes and
 * drift when they are not their defaults (the executor records the whole
 * in the state). */
static void put_lifecycle(emitter *e, const mk_change *c)
{
    mk_buf_puts(e->out, c->prevent_destroy ? "{\"prevent_destroy\":true" : "{\"prevent_destroy\":false");
    mk_buf_puts(e->out, c->create_before_destroy ? ",\"create_before_destroy\":true" : ",\"create_before_destroy\":false");
    if (c->ignore_changes.n)
        lit(e, ",\"ignore_changes\":"), put_names(e, c->ignore_changes.v, c->ignore_changes.n);
    if (c->drift_mode)
        lit(e, ",\"drift\":"), put_str(e, c->drift_mode);
    lit(e, "}");
}

/* {"status": "changed"|"gone", "attributes": […]}: the drift a change corrects. */
static void put_change_drift(emitter *e, const mk_change *c)
{
    lit(e, "{\"status\":");
    put_str(e, DRIFT_STATUS[c->drift]);
    lit(e, ",\"attributes\":");
    put_names(e, c->drift_attrs.v, c->drift_attrs.n);
    lit(e, "}");
}

static bool null_or_absent(json_t *v) { return !v || json_is_null(v); }

/* One field of a change, or nothing when it holds its default. */
static void put_field(emitter *e, bool *first, const mk_change *c, size_t at, int f)
{
    static const char *const NAMES[] = {",\"id\":", ",\"address\":", ",\"deposed\":", ",\"type\":", ",\"name\":",
        ",\"provider\":", ",\"via\":", ",\"action\":", ",\"before\":", ",\"after\":", ",\"after_unknown\":", ",\"sensitive\":",
        ",\"changed\":", ",\"replace_because\":", ",\"depends_on\":", ",\"risk\":", ",\"cost\":", ",\"lifecycle\":",
        ",\"placement\":", ",\"refs\":", ",\"risk_raised_by\":", ",\"drift\":", ",\"import\":{\"id\":",
        ",\"moved_from\":", ",\"irreversible\":true"};
    const mk_names *lists[] = {[F_UNKNOWN] = &c->unknown, [F_SENSITIVE] = &c->sensitive, [F_CHANGED] = &c->changed,
                               [F_FORCES] = &c->forces};
    bool absent = (f == F_ID && c->id == at + 1) || (f == F_DEPOSED && !c->deposed) ||
                  (f == F_PROVIDER && !c->provider) || (f == F_VIA && !c->via) || (f == F_BEFORE && !c->before) ||
                  (f == F_AFTER && !c->in && !c->after) || (f >= F_UNKNOWN && f <= F_FORCES && lists[f]->n == 0) ||
                  (f == F_DEPENDS && !c->ndepends) || (f == F_RISK && c->risk == MK_RISK_LOW) ||
                  (f == F_LIFECYCLE && default_lifecycle(c)) ||
                  (f == F_PLACEMENT && !(c->cloud && c->region) && null_or_absent(c->placement)) ||
                  (f == F_REFS && !c->nrefs) || (f == F_RAISED && !c->risk_raised_by) ||
                  (f == F_DRIFT && c->drift == MK_DRIFT_NONE) || (f == F_IMPORT && !c->import_id) ||
                  (f == F_MOVED && !c->moved_from) || (f == F_IRREVERSIBLE && !c->irreversible);
    if (absent)
        return;
    key(e, first, NAMES[f]);
    switch (f) {
    case F_ID: put_int(e, c->id); break;
    case F_ADDRESS: put_str(e, c->address); break;
    case F_DEPOSED: put_str(e, c->deposed); break;
    case F_TYPE: put_str(e, c->type); break;
    case F_NAME: put_str(e, c->name); break;
    case F_PROVIDER: put_str(e, c->provider); break;
    case F_VIA: put_str(e, c->via); break;
    case F_ACTION: put_str(e, mk_plan_action_name(c->action)); break;
    case F_BEFORE: mk_vjson_put(e->out, c->before); break;
    case F_AFTER:
        if (c->in)
            put_after(e, c);
        else
            put_after_json(e, c);
        break;
    case F_UNKNOWN: case F_SENSITIVE: case F_CHANGED: case F_FORCES: put_names(e, lists[f]->v, lists[f]->n); break;
    case F_DEPENDS:
        lit(e, "[");
        for (uint32_t i = 0; i < c->ndepends; i++) {
            if (i)
                lit(e, ",");
            put_int(e, c->depends_on[i]);
        }
        lit(e, "]");
        break;
    case F_RISK: put_str(e, mk_plan_risk_name(c->risk)); break;
    case F_COST: put_cost(e, c); break;
    case F_LIFECYCLE:
        if (c->lifecycle) {
            mk_vjson_put(e->out, c->lifecycle);
            break;
        }
        put_lifecycle(e, c);
        break;
    case F_PLACEMENT: put_placement(e, c); break;
    case F_REFS: put_names(e, c->refs, c->nrefs); break;
    case F_RAISED: put_str(e, c->risk_raised_by); break;
    case F_DRIFT: put_change_drift(e, c); break;
    case F_IMPORT: put_str(e, c->import_id), lit(e, "}"); break;
    case F_MOVED: put_str(e, c->moved_from); break;
    case F_IRREVERSIBLE: break; /* the name holds the value: only true is written */
    }
}

/* The change at index at of the plan. */
static void put_change(emitter *e, const mk_change *c, size_t at)
{
    const unsigned char *order = CHANGE_ORDER[c->deposed ? 2 : c->action == MK_ACT_DELETE ? 1 : 0];
    bool first = true;
    lit(e, "{");
    for (; *order != F_END; order++)
        put_field(e, &first, c, at, *order);
    lit(e, "}");
}

static void put_gates(emitter *e, const mk_plan *p)
{
    lit(e, ",\"gates\":[");
    for (size_t i = 0; i < p->ngates; i++) {
        const mk_gate *g = &p->gates[i];
        mk_buf_puts(e->out, i ? ",{\"id\":" : "{\"id\":");
        put_int(e, g->id);
        lit(e, ",\"policy\":"), put_str(e, g->policy);
        lit(e, ",\"group\":"), put_str(e, g->group);
        lit(e, ",\"message\":"), put_str(e, g->message);
        lit(e, ",\"address\":"), put_str(e, g->address);
        lit(e, ",\"change\":");
        if (g->change)
            put_int(e, g->change);
        else
            lit(e, "null");
        if (g->count > 1) /* note [plan defaults]: 1 is unsaid */
            lit(e, ",\"count\":"), put_int(e, g->count);
        lit(e, "}");
    }
    lit(e, "]");
}

static bool empty(json_t *v)
{
    return !v || (json_is_array(v) && json_array_size(v) == 0) || (json_is_object(v) && json_object_size(v) == 0);
}

/* `,"k":v` unless v is empty (its default). */
static void put_kept(emitter *e, const char *k, json_t *v)
{
    if (empty(v))
        return;
    lit(e, ",\"");
    mk_buf_puts(e->out, k);
    lit(e, "\":");
    mk_vjson_put(e->out, v);
}

/* `"observed": {"at", "serial", "unreadable"}` when the plan was made
 * from observations (docs/drift.md); nothing when never refreshed. */
static void put_observed(emitter *e, const mk_plan *p)
{
    if (!p->observed)
        return;
    lit(e, ",\"observed\":{\"at\":");
    if (p->observed_at)
        put_str(e, p->observed_at);
    else
        lit(e, "null");
    lit(e, ",\"serial\":");
    put_int(e, p->observed_serial);
    lit(e, ",\"unreadable\":");
    put_names(e, p->unreadable.v, p->unreadable.n);
    lit(e, "}");
}

/* `"drift": [...]`, every drifted resource (absent when none). */
static void put_drift(emitter *e, const mk_plan *p)
{
    if (!p->ndrift)
        return;
    lit(e, ",\"drift\":[");
    for (size_t i = 0; i < p->ndrift; i++) {
        const mk_drift *d = &p->drift[i];
        mk_buf_puts(e->out, i ? ",{\"address\":" : "{\"address\":");
        put_str(e, d->address);
        lit(e, ",\"type\":"), put_str(e, d->type);
        lit(e, ",\"status\":"), put_str(e, DRIFT_STATUS[d->status]);
        lit(e, ",\"attributes\":"), put_names(e, d->attributes.v, d->attributes.n);
        if (d->recorded)
            lit(e, ",\"recorded\":"), mk_vjson_put(e->out, d->recorded);
        if (d->observed)
            lit(e, ",\"observed\":"), mk_vjson_put(e->out, d->observed);
        lit(e, ",\"mode\":"), put_str(e, d->mode);
        lit(e, ",\"change\":");
        if (d->change)
            put_int(e, d->change);
        else
            lit(e, "null");
        lit(e, "}");
    }
    lit(e, "]");
}

/* A string, or null when it is "" or NULL. */
static void put_str_or_null(emitter *e, const char *s)
{
    if (s && *s)
        put_str(e, s);
    else
        lit(e, "null");
}

static void put_backend(emitter *e, const mk_plan *p)
{
    lit(e, ",\"backend\":{\"kind\":");
    put_str(e, p->backend_kind);
    lit(e, ",\"stack\":");
    put_str_or_null(e, p->backend_stack);
    lit(e, ",\"env\":");
    put_str_or_null(e, p->backend_env);
    lit(e, "}");
}

static void put_head(emitter *e, const mk_plan *p)
{
    lit(e, "{\"format\":\"moksha.plan/v1\",\"stack\":");
    put_str(e, p->stack);
    if (p->env) /* (none: not written, as before environments) */
        lit(e, ",\"env\":"), put_str(e, p->env);
    lit(e, ",\"inputs_digest\":");
    put_str(e, p->inputs_digest);
    if (p->destroy)
        lit(e, ",\"destroy\":true");
    if (p->revert_to > 0)
        lit(e, ",\"revert_to\":"), put_int(e, p->revert_to);
    lit(e, ",\"state\":{");
    if (p->stack_id)
        lit(e, "\"stack_id\":"), put_str(e, p->stack_id), lit(e, ",");
    lit(e, "\"lineage\":");
    put_str(e, p->lineage ? p->lineage : "");
    lit(e, ",\"serial\":");
    put_int(e, p->serial);
    lit(e, "}");
    if (p->backend_kind) /* note [plan backend]: only when it is not plain local files */
        put_backend(e, p);
    put_kept(e, "reads", p->reads);
    put_kept(e, "providers", p->providers);
    put_observed(e, p);
}

/* The values the state recorded for the outputs that change (those it
 * had), so a plan read back shows what they were: absent when none. */
static void put_outputs_before(emitter *e, const mk_plan *p)
{
    bool first = true;
    for (uint32_t i = 0; i < p->outputs_changed.n; i++) {
        json_t *v = json_object_get(p->outputs_before, p->outputs_changed.v[i]);
        if (!v)
            continue;
        if (first)
            lit(e, ",\"outputs_before\":{");
        else
            lit(e, ",");
        put_str(e, p->outputs_changed.v[i]);
        lit(e, ":");
        mk_vjson_put(e->out, v);
        first = false;
    }
    if (!first)
        lit(e, "}");
}

static void put_tail(emitter *e, const mk_plan *p)
{
    if (p->ngates)
        put_gates(e, p);
    put_kept(e, "policies", p->policies);
    put_kept(e, "policy_packs", p->policy_packs); /* absent when none (note [plan defaults]) */
    put_kept(e, "waivers", p->waivers);
    put_kept(e, "outputs", p->outputs);
    if (p->outputs_changed.n) /* absent when none: a plan of a stack without outputs reads as before */
        lit(e, ",\"outputs_changed\":"), put_names(e, p->outputs_changed.v, p->outputs_changed.n);
    put_outputs_before(e, p);
    const mk_plan_totals *t = &p->totals;
    mk_buf_printf(e->out, ",\"totals\":{\"create\":%d,\"update\":%d,\"replace\":%d,\"delete\":%d,\"noop\":%d",
                  t->create, t->update, t->replace, t->remove, t->noop);
    if (t->import) /* absent when 0: plans without imports or moves read as before */
        mk_buf_printf(e->out, ",\"import\":%d", t->import);
    if (t->move)
        mk_buf_printf(e->out, ",\"move\":%d", t->move);
    lit(e, "}");
    if (!p->costed)
        return;
    lit(e, ",\"cost\":{\"currency\":\"USD\",\"monthly\":");
    put_money(e, p->monthly);
    lit(e, ",\"applied\":");
    put_money(e, p->applied);
    lit(e, ",\"delta\":");
    put_money(e, p->delta);
    lit(e, ",\"unpriced\":");
    put_int(e, p->unpriced);
    /* absent when empty: plans whose unpriced resources all change read as before */
    for (size_t i = 0; i < p->nunpriced_unchanged; i++) {
        if (i == 0) /* lit() takes a literal's size: no conditional inside it */
            lit(e, ",\"unpriced_unchanged\":[");
        else
            lit(e, ",");
        lit(e, "{\"address\":");
        put_str(e, p->unpriced_unchanged[i].address);
        lit(e, ",\"why\":");
        put_str(e, p->unpriced_unchanged[i].why);
        lit(e, "}");
    }
    if (p->nunpriced_unchanged)
        lit(e, "]");
    if (p->self_hosted) /* absent when none: plans without read as before */
        lit(e, ",\"self_hosted\":"), put_int(e, p->self_hosted);
    lit(e, "}");
}

/* The body without its closing brace, hashed but for that brace. */
static void put_body(emitter *e, const mk_plan *p)
{
    put_head(e, p);
    lit(e, ",\"changes\":[");
    for (size_t i = 0; i < p->nchanges; i++) {
        if (i)
            lit(e, ",");
        put_change(e, &p->changes[i], i);
        spill(e, false);
    }
    lit(e, "]");
    put_drift(e, p);
    put_tail(e, p);
    spill(e, true);
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++)
        out[2 * i] = hex[b[i] >> 4], out[2 * i + 1] = hex[b[i] & 15];
    out[2 * n] = 0;
}

/* note [plan statement]: what the signature covers, a few hundred bytes:
 * the body's digest and the plan's identity, compact JSON in this key order,
 * an absent stack id and environment left out (docs/formats.md, "The statement"). The
 * executor builds the same text, repeated there for the house rule
 * (runtime/planfile.c). */
static void statement(mk_buf *out, const char *stack_id, const char *env, const char *lineage, int64_t serial,
                      const char *digest)
{
    mk_buf_puts(out, "{\"format\":\"moksha.plan/v1\",\"digest\":");
    mk_vjson_put_string(out, digest, strlen(digest));
    if (stack_id) {
        mk_buf_puts(out, ",\"stack_id\":");
        mk_vjson_put_string(out, stack_id, strlen(stack_id));
    }
    if (env) { /* the environment the plan is bound to (docs/environments.md) */
        mk_buf_puts(out, ",\"environment\":");
        mk_vjson_put_string(out, env, strlen(env));
    }
    mk_buf_puts(out, ",\"lineage\":");
    mk_vjson_put_string(out, lineage ? lineage : "", lineage ? strlen(lineage) : 0);
    mk_buf_printf(out, ",\"serial\":%" PRId64 "}", serial);
}

/* The statement's MAC under key, as hex. */
static void statement_mac(const mk_key *key, const mk_plan *p, const char *digest, char mac[65])
{
    mk_buf st = {0};
    statement(&st, p->stack_id, p->env, p->lineage, p->serial, digest);
    mk_key_sign(key, st.data, st.len, mac);
    mk_buf_free(&st);
}

/* note [planner signature]: with a planner key (key->signer, docs/trust.md
 * "Signing plans") the statement is signed with Ed25519 as a message of
 * type plan, and the signature names its key in full: the executor looks
 * the key up in its trust file, and anyone can check the signature without
 * a shared secret. The statement's bytes are the same either way. */
static void put_ed25519(mk_buf *out, const mk_plan *p, const mk_key *key, const char *digest)
{
    mk_buf st = {0};
    char sig[MK_SIGN_SIG_LEN];
    statement(&st, p->stack_id, p->env, p->lineage, p->serial, digest);
    bool ok = mk_sign_message(key->signer, MK_SIGN_PLAN, st.data, st.len, sig);
    mk_buf_free(&st);
    if (!ok) /* (an Ed25519 signature of a loaded key fails only for want of memory) */
        mk_mem_oom();
    mk_buf_printf(out, ",\"signature\":{\"algorithm\":\"Ed25519\",\"type\":\"plan\",\"key\":\"%s\",\"key_id\":\"%s\","
                  "\"digest\":\"%s\",\"value\":\"%s\"}}", key->signer_pub, key->signer_id, digest, sig);
}

void mk_planfile_emit(const mk_plan *p, const mk_key *key, bool sign, mk_buf *out)
{
    emitter e = {out, out->sink, out->len, EVP_MD_CTX_new(), key};
    if (!e.md || EVP_DigestInit_ex(e.md, EVP_sha256(), NULL) != 1)
        mk_mem_oom();
    out->sink = NULL;
    put_body(&e, p);
    EVP_DigestUpdate(e.md, "}", 1);
    unsigned char d[32];
    char digest[65], mac[65];
    EVP_DigestFinal_ex(e.md, d, NULL);
    EVP_MD_CTX_free(e.md);
    out->sink = e.sink;
    if (!sign) {
        mk_buf_putc(out, '}');
        return;
    }
    to_hex(d, 32, digest);
    if (key->signer) { /* note [planner signature] */
        put_ed25519(out, p, key, digest);
        return;
    }
    statement_mac(key, p, digest, mac);
    /* the signature is the last key: the body's closing brace gives way to it */
    mk_buf_puts(out, ",\"signature\":{\"algorithm\":\"HMAC-SHA256\",\"key_id\":");
    mk_vjson_put_string(out, key->id, strlen(key->id));
    mk_buf_printf(out, ",\"digest\":\"%s\",\"value\":\"%s\"}}", digest, mac);
}

char *mk_planfile_sign(json_t *doc, const mk_key *key)
{
    char why[256];
    mk_plan *p = mk_planfile_read(doc, why, sizeof why);
    if (!p)
        return NULL;
    mk_buf b = {0};
    mk_planfile_emit(p, key, true, &b);
    mk_plan_free(p);
    return mk_buf_take(&b);
}

void mk_planfile_free_text(char *text) { mk_mem_free(text); }

/* note [plan fields]: the fields this moksha knows, by object; any other is
 * refused, so a plan from a newer moksha is never half-read. The executor
 * keeps its own list (runtime/planfile.c). */
static const char *const PLAN_FIELDS[] = {"format", "stack", "env", "inputs_digest", "destroy", "revert_to", "state", "backend", "providers",
    "observed", "changes", "drift", "gates", "policies", "policy_packs", "waivers", "outputs", "outputs_changed", "outputs_before",
    "reads", "totals", "cost", "signature", NULL};
static const char *const CHANGE_FIELDS[] = {"id", "address", "type", "name", "provider", "via", "action", "deposed",
    "before", "after", "after_unknown", "sensitive", "changed", "replace_because", "depends_on", "risk", "irreversible",
    "cost", "lifecycle", "placement", "refs", "risk_raised_by", "drift", "import", "moved_from", NULL};
static const char *const STATE_FIELDS[] = {"stack_id", "lineage", "serial", NULL};
static const char *const BACKEND_FIELDS[] = {"kind", "stack", "env", NULL};
static const char *const SIG_FIELDS[] = {"algorithm", "key_id", "digest", "value", NULL};
static const char *const ED25519_FIELDS[] = {"algorithm", "type", "key", "key_id", "digest", "value", NULL};

/* The first key of o not in names, or NULL. The search goes on from the
 * name the last key was, so keys in the file's order (most of them) are
 * each found at the first or second look. */
static const char *unknown_key(json_t *o, const char *const *names)
{
    size_t n = 0, at = 0;
    while (names[n])
        n++;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        size_t looked = 0;
        for (; looked < n && (names[at][0] != k[0] || strcmp(names[at], k) != 0); looked++)
            at = at + 1 < n ? at + 1 : 0;
        if (looked == n)
            return k;
    }
    return NULL;
}

static bool known_fields(json_t *plan, char *why, size_t whylen)
{
    const char *where = "the plan", *k = unknown_key(plan, PLAN_FIELDS);
    if (!k && (k = unknown_key(json_object_get(plan, "state"), STATE_FIELDS)))
        where = "its state";
    if (!k && (k = unknown_key(json_object_get(plan, "backend"), BACKEND_FIELDS)))
        where = "its backend";
    if (!k && (k = unknown_key(json_object_get(plan, "signature"), mk_planfile_signer(plan) ? ED25519_FIELDS : SIG_FIELDS)))
        where = "its signature";
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(plan, "changes"), i, c)
        if (!k && (k = unknown_key(c, CHANGE_FIELDS)))
            where = "a change";
    if (k)
        snprintf(why, whylen, "%s has a field `%s` this moksha does not know: it was made by a newer moksha; plan it "
                 "again with this one", where, k);
    return k == NULL;
}

/* The whole file at path, in one read of its size; NULL when unreadable. */
static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    char *text = NULL;
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
        text = mk_mem_alloc((size_t)sb.st_size + 1);
        ssize_t r = 0;
        for (*len = 0; *len < (size_t)sb.st_size && (r = read(fd, text + *len, (size_t)sb.st_size - *len)) > 0;)
            *len += (size_t)r;
    }
    if (fd >= 0)
        close(fd);
    return text;
}

/* The file's bytes: a moksha plan is exactly the body then
 * `,"signature":{…}}` and a newline; the body's SHA-256 (closing brace
 * and all) into digest. False when the file is not in that form. */
static bool body_digest(const char *path, json_t *sig, char digest[65])
{
    size_t len = 0;
    char *t = slurp(path, &len), *tail = json_dumps(sig, JSON_COMPACT);
    size_t tn = tail ? strlen(tail) : 0;
    if (len && t[len - 1] == '\n')
        len--;
    bool ok = t && tail && len > tn + 14 && t[len - 1] == '}' && memcmp(t + len - 1 - tn, tail, tn) == 0 &&
              memcmp(t + len - 1 - tn - 13, ",\"signature\":", 13) == 0;
    if (ok) {
        unsigned char d[32];
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        size_t body = len - 1 - tn - 13;
        ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(md, t, body) == 1 &&
             EVP_DigestUpdate(md, "}", 1) == 1 && EVP_DigestFinal_ex(md, d, NULL) == 1;
        EVP_MD_CTX_free(md);
        to_hex(d, 32, digest);
    }
    mk_jalloc_free_text(tail);
    mk_mem_free(t);
    return ok;
}

const char *mk_planfile_signer(json_t *plan)
{
    json_t *sig = json_object_get(plan, "signature");
    if (strcmp(json_string_value(json_object_get(sig, "algorithm")) ?: "", "Ed25519") != 0)
        return NULL;
    return json_string_value(json_object_get(sig, "key")) ?: "";
}

/* The statement of plan (its state and digest), for the signature to cover. */
static void statement_of(json_t *plan, const char *digest, mk_buf *out)
{
    json_t *st = json_object_get(plan, "state");
    statement(out, json_string_value(json_object_get(st, "stack_id")), json_string_value(json_object_get(plan, "env")),
              json_string_value(json_object_get(st, "lineage")), json_integer_value(json_object_get(st, "serial")), digest);
}

/* An Ed25519 plan (note [planner signature]): a signature of type plan, by
 * the key it names, whose id it states, over the statement of the body's
 * bytes. Who that key is, is not known here: the executor's trust file says. */
static bool verify_ed25519(json_t *plan, const char *path, char *why, size_t whylen)
{
    json_t *sig = json_object_get(plan, "signature");
    const char *type = json_string_value(json_object_get(sig, "type")), *pub = mk_planfile_signer(plan);
    const char *kid = json_string_value(json_object_get(sig, "key_id")), *dig = json_string_value(json_object_get(sig, "digest"));
    const char *val = json_string_value(json_object_get(sig, "value"));
    uint8_t raw[32];
    char id[MK_SIGN_ID_LEN], digest[65] = "";
    bool ok = false;
    if (strcmp(type ?: "", "plan") != 0)
        snprintf(why, whylen, "the signature is of type `%s`, not a plan's: it cannot sign a plan", type ?: "(none)");
    else if (!mk_sign_parse_public(pub, raw))
        snprintf(why, whylen, "the signature's key `%s` is not an Ed25519 public key (ed25519:BASE64)", pub);
    else if (mk_sign_id(raw, id), strcmp(kid ?: "", id) != 0)
        snprintf(why, whylen, "the signature's key_id `%s` is not its key's id (%s)", kid ?: "", id);
    else if (!val || !body_digest(path, sig, digest) || !dig || strcmp(dig, digest) != 0)
        snprintf(why, whylen, "the signature does not match: the plan was altered after it was signed");
    else {
        mk_buf st = {0};
        statement_of(plan, digest, &st);
        ok = mk_sign_verify(pub, MK_SIGN_PLAN, st.data, st.len, val);
        mk_buf_free(&st);
        if (!ok)
            snprintf(why, whylen, "the signature does not match: the plan was altered after it was signed");
    }
    return ok && known_fields(plan, why, whylen);
}

bool mk_planfile_verify(json_t *plan, const char *path, const mk_key *key, char *why, size_t whylen)
{
    json_t *sig = json_object_get(plan, "signature");
    const char *val = json_string_value(json_object_get(sig, "value"));
    const char *kid = json_string_value(json_object_get(sig, "key_id"));
    const char *dig = json_string_value(json_object_get(sig, "digest"));
    if (!json_is_object(plan) || strcmp(json_string_value(json_object_get(plan, "format")) ?: "", "moksha.plan/v1")) {
        snprintf(why, whylen, "not a moksha.plan/v1 document");
        return false;
    }
    if (mk_planfile_signer(plan))
        return verify_ed25519(plan, path, why, whylen);
    if (!val || !kid || strlen(val) != 64) {
        snprintf(why, whylen, "the plan is not signed");
        return false;
    }
    if (strcmp(kid, key->id) != 0) {
        snprintf(why, whylen, "the plan was signed with another key (%s; this project's key is %s)", kid, key->id);
        return false;
    }
    char digest[65] = "", mac[65] = "";
    if (body_digest(path, sig, digest) && dig && strcmp(dig, digest) == 0) {
        mk_buf st = {0};
        statement_of(plan, digest, &st);
        mk_key_sign(key, st.data, st.len, mac);
        mk_buf_free(&st);
    }
    if (strlen(mac) != 64 || CRYPTO_memcmp(mac, val, 64) != 0) {
        snprintf(why, whylen, "the signature does not match: the plan was altered after it was signed");
        return false;
    }
    return known_fields(plan, why, whylen);
}

char *mk_planfile_text(const char *path)
{
    size_t len = 0;
    char *t = slurp(path, &len);
    if (t) {
        while (len && t[len - 1] == '\n')
            len--;
        t[len] = 0;
    }
    return t;
}

/* Does text (n bytes) begin a plan: `{"format":"moksha.plan/v1"`, blanks
 * allowed between the tokens? Every plan moksha writes, the file and
 * `--format json` alike, begins with its format (note [plan text]). */
static bool begins_a_plan(const char *text, size_t n)
{
    static const char *const TOKENS[] = {"{", "\"format\"", ":", "\"moksha.plan/v1\""};
    size_t at = 0;
    for (size_t t = 0; t < 4; t++) {
        while (at < n && strchr(" \t\r\n", text[at]))
            at++;
        size_t len = strlen(TOKENS[t]);
        if (n - at < len || memcmp(text + at, TOKENS[t], len) != 0)
            return false;
        at += len;
    }
    return true;
}

/* Is the file at path a plan already (or empty)? Only a plan is replaced by
 * a plan: `-o main.moksha`, `-o README.md` are mistakes. Judged by its
 * first bytes, not parsed: a plan of 100,000 changes is 50 MB. */
static bool holds_a_plan(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat sb;
    char head[256];
    ssize_t n = -1;
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
        n = read(fd, head, sizeof head);
    if (fd >= 0)
        close(fd);
    return n == 0 || (n > 0 && begins_a_plan(head, (size_t)n));
}

/* The resolved directory a path is (or would be) in; malloc'd, or NULL. */
static char *parent_of(const char *path)
{
    size_t n = strlen(path);
    char *copy = mk_mem_alloc(n + 2);
    memcpy(copy, path, n + 1);
    char *slash = strrchr(copy, '/');
    if (!slash)
        strcpy(copy, ".");
    else if (slash == copy)
        copy[1] = 0;
    else
        *slash = 0;
    char *real = realpath(copy, NULL);
    mk_mem_free(copy);
    return real;
}

/* 0: not under a .moksha/; 1: directly in it; 2: deeper. Any directory
 * named .moksha is one — another stack's (`-o ../b/.moksha/state.lock`)
 * is no less a state, a key and an audit log — and so is what this
 * stack's .moksha resolves to, whatever its name. */
static int depth_in_moksha_dir(const char *dir)
{
    char *top = realpath(".moksha", NULL);
    size_t n = top ? strlen(top) : 0;
    int d = !top || strncmp(dir, top, n) != 0 ? 0 : dir[n] == 0 ? 1 : dir[n] == '/' ? 2 : 0;
    free(top);
    for (const char *c = strstr(dir, "/.moksha"); c && !d; c = strstr(c + 1, "/.moksha"))
        d = c[8] == 0 ? 1 : c[8] == '/' ? 2 : 0;
    return d;
}

bool mk_planfile_target_ok(const char *path, char *why, size_t whylen)
{
    struct stat lsb, sb;
    bool exists = lstat(path, &lsb) == 0, link = exists && S_ISLNK(lsb.st_mode);
    char *real = link ? realpath(path, NULL) : NULL; /* a link is judged by what it points to */
    const char *target = real ? real : path;
    const char *name = strrchr(target, '/');
    name = name ? name + 1 : target;
    size_t nlen = strlen(name);
    char *dir = parent_of(target);
    int depth = dir ? depth_in_moksha_dir(dir) : 0;
    const char *via = link ? " (through a link)" : "";
    why[0] = 0;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        snprintf(why, whylen, "`%s` is a directory%s", path, via);
    else if (nlen >= 7 && strcmp(name + nlen - 7, ".moksha") == 0)
        snprintf(why, whylen, "`%s` is a moksha source file%s", path, via);
    else if (depth == 2 || (depth == 1 && !(nlen > 5 && strcmp(name + nlen - 5, ".plan") == 0)))
        snprintf(why, whylen, "`%s` is under .moksha/, which holds the state, the key and the audit log%s: only a "
                 "NAME.plan file directly in it may be written", path, via);
    else if (exists && stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        snprintf(why, whylen, "`%s` is not a regular file%s", path, via);
    else if (exists && stat(path, &sb) == 0 && !holds_a_plan(path))
        snprintf(why, whylen, "`%s` exists and is not a plan file%s: it is not replaced", path, via);
    free(real);
    free(dir);
    return why[0] == 0;
}

bool mk_planfile_write(const char *text, const char *path)
{
    struct iovec parts[] = {{(void *)text, strlen(text)}, {"\n", 1}};
    return mk_atomic_write(path, parts, 2, 0600);
}
