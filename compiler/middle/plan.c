/* plan — the differ, risk and edges, into the plan's records (plan.h,
 * note [plan model]); back/ writes them as the plan file.
 *
 * note [plan order]: changes are numbered in the evaluator's instance order,
 * where a resource comes after everything it refers to, then deletes. A
 * change's depends_on lists the ids it must wait for: the creates and
 * updates of what it refers to; for a delete, the changes of everything that
 * referred to the deleted resource when it was applied (so references are
 * removed before their target, in reverse dependency order). */
#include "compiler/middle/plan.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/base/jalloc.h"
#include "compiler/base/mem.h"
#include "compiler/base/symtab.h"
#include "compiler/front/vjson.h"
#include "compiler/middle/moves.h"

static const char *const ACTIONS[] = {"noop", "create", "update", "replace", "delete", "import", "move"};

const char *mk_plan_action_name(mk_action a) { return a <= MK_ACT_MOVE ? ACTIONS[a] : "noop"; }

const char *mk_plan_risk_name(mk_risk r)
{
    static const char *const RISKS[] = {"low", "medium", "high"};
    return r <= MK_RISK_HIGH ? RISKS[r] : "high";
}

static bool access_type(const char *type)
{
    return !strcmp(type, "network") || !strcmp(type, "firewall") || !strcmp(type, "load_balancer") ||
           !strcmp(type, "dns_record");
}

/* DESIGN.md §4: low (create, no-op, tag-only update), medium (in-place
 * update), high (delete or replace of stateful types, network or access changes). */
mk_risk mk_plan_risk(mk_action action, const char *type, bool stateful, mk_names changed)
{
    if (action == MK_ACT_CREATE || action == MK_ACT_NOOP || action == MK_ACT_MOVE)
        return MK_RISK_LOW;
    if (action == MK_ACT_IMPORT) /* docs/drift.md: adopting an object is always reviewed */
        return MK_RISK_HIGH;
    if (action == MK_ACT_UPDATE) {
        bool tags_only = changed.n > 0;
        for (uint32_t i = 0; i < changed.n; i++)
            tags_only &= strcmp(changed.v[i], "tags") == 0;
        if (tags_only)
            return MK_RISK_LOW;
        return access_type(type) ? MK_RISK_HIGH : MK_RISK_MEDIUM;
    }
    return stateful || access_type(type) ? MK_RISK_HIGH : MK_RISK_MEDIUM;
}

bool mk_plan_irreversible(mk_action action, bool stateful)
{
    return stateful && (action == MK_ACT_DELETE || action == MK_ACT_REPLACE);
}


static bool ignored(const mk_instance *in, const char *name)
{
    const mk_value *ic = in->ignore_changes;
    for (uint32_t i = 0; ic && i < ic->n; i++)
        if (ic->u.items[i]->kind == MK_V_STRING && strcmp(ic->u.items[i]->u.s, name) == 0)
            return true;
    return false;
}

/* note [shared values]: most changes of a big plan repeat the same small
 * lists — a type's unknown attributes, an empty list of changed ones — and
 * a list no one changes once in the plan is made once and shared by every
 * change that has it: a 100,000-change plan has a few. Keyed by the type and
 * the list's kind, then compared by its bits. */
typedef struct names_memo {
    const bool *bits;
    mk_names names;
    struct names_memo *next;
} names_memo;

static const char KINDS[5] = {'u', 's', 'c', 'f', 'k'};

/* The list of the fields of ty whose bit is set in `on`, shared. */
static mk_names shared_names(mk_arena *a, mk_symtab *memo, const mk_type *ty, int kind, const bool *on)
{
    uint32_t nf = ty->nfields, n = 0;
    for (uint32_t k = 0; k < nf; k++)
        n += on[k];
    if (!n)
        return (mk_names){NULL, 0};
    names_memo *head = mk_sym_get(memo, (mk_name)ty, &KINDS[kind]), *m = head;
    while (m && memcmp(m->bits, on, nf * sizeof *on) != 0)
        m = m->next;
    if (m)
        return m->names;
    m = mk_arena_alloc(a, sizeof *m);
    bool *bits = mk_arena_alloc(a, nf * sizeof *bits);
    memcpy(bits, on, nf * sizeof *bits);
    const char **v = mk_arena_alloc(a, n * sizeof *v);
    for (uint32_t k = 0, i = 0; k < nf; k++)
        if (on[k])
            v[i++] = ty->fields[k].name;
    *m = (names_memo){bits, {v, n}, head};
    mk_sym_put(memo, (mk_name)ty, &KINDS[kind], m);
    return m->names;
}

/* The differ's own bookkeeping: the plan it fills, the change each desired
 * instance got (instance → id, none for a no-op), which state entries are
 * desired again, and the growing lists of the deletes' edges. */
typedef struct dlist {
    uint32_t *v;
    uint32_t n, cap;
} dlist;

typedef struct builder {
    mk_program *p;
    mk_state *st;
    const mk_observed *obs; /* NULL: planned from the state alone */
    const char **unreadable; /* addresses, growing (mk_mem) */
    uint32_t nunreadable, capunreadable;
    size_t capdrift;
    const mk_key *key;
    mk_plan *pl;
    size_t cap;
    mk_symtab cid;       /* mk_instance* → its change's id */
    bool *seen;          /* per state entry: desired again */
    dlist *edges;        /* per change, a delete's depends_on while it grows */
    mk_symtab names;     /* note [shared values] */
    mk_moves *mv;        /* `moved` and `import` blocks against the state (middle/moves.c) */
    bool listing;        /* diff_attrs: make the lists even when nothing changes (a move) */
    mk_names held;       /* the instance being diffed: drifted attributes its drift mode leaves as they are */
} builder;

/* Whether the type a state entry names is @stateful: a delete has no
 * instance, only the state's type name (one the stdlib no longer declares
 * is not). */
static bool stateful_named(builder *b, const char *type)
{
    if (!type)
        return false;
    const mk_type *ty = mk_type_lookup(b->p->types, mk_intern_s(b->p->ast.names, type));
    return ty && ty->is_stateful;
}

static mk_change *new_change(builder *b)
{
    mk_plan *pl = b->pl;
    if (pl->nchanges == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        pl->changes = mk_mem_realloc(pl->changes, cap * sizeof *pl->changes); /* (an arena would keep every old copy) */
        b->edges = mk_mem_realloc(b->edges, cap * sizeof *b->edges);
        memset(b->edges + b->cap, 0, (cap - b->cap) * sizeof *b->edges);
        b->cap = cap;
    }
    mk_change *c = &pl->changes[pl->nchanges++];
    memset(c, 0, sizeof *c);
    c->id = (uint32_t)pl->nchanges;
    return c;
}

static void edge_add(builder *b, uint32_t of, uint32_t id)
{
    dlist *d = &b->edges[of - 1];
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 4;
        d->v = mk_mem_realloc(d->v, d->cap * sizeof *d->v);
    }
    d->v[d->n++] = id;
}

static uint32_t change_of(builder *b, const mk_instance *in)
{
    return (uint32_t)(uintptr_t)mk_sym_get(&b->cid, (mk_name)in, NULL);
}

/* A reference by address, {"$ref": ADDRESS} ({"$ref", "id"} in the state,
 * where the executor records the id it gave the provider); not a template's
 * part, which has "attr". */
static const char *ref_address(json_t *v)
{
    return json_is_object(v) && !json_object_get(v, "attr") ? json_string_value(json_object_get(v, "$ref")) : NULL;
}

/* Does a reference in v, at any depth, name a dependency of in that this
 * plan replaces? */
static bool refers_to_replaced(builder *b, const mk_instance *in, json_t *v, int depth)
{
    const char *addr = ref_address(v);
    if (addr) {
        for (uint32_t i = 0; i < in->ndeps; i++) {
            uint32_t id = change_of(b, in->deps[i]);
            if (id && strcmp(in->deps[i]->address, addr) == 0)
                return b->pl->changes[id - 1].action == MK_ACT_REPLACE;
        }
        return false;
    }
    size_t i;
    const char *k;
    json_t *x;
    if (depth > 64)
        return false;
    if (json_is_array(v))
        json_array_foreach(v, i, x) if (refers_to_replaced(b, in, x, depth + 1)) return true;
    if (json_is_object(v))
        json_object_foreach(v, k, x) if (refers_to_replaced(b, in, x, depth + 1)) return true;
    return false;
}

/* Does a reference the state records, at any depth, carry an id that is
 * no longer its target's (an apply stopped between a replace and the
 * update of what refers to it)? */
static bool refers_to_old_id(const mk_state *st, json_t *v, int depth)
{
    const char *addr = ref_address(v);
    if (addr) {
        const char *had = json_string_value(json_object_get(v, "id"));
        const char *now = json_string_value(json_object_get(json_object_get(mk_state_find(st, addr, NULL), "attributes"), "id"));
        return had && now && strcmp(had, now) != 0;
    }
    size_t i;
    const char *k;
    json_t *x;
    if (depth > 64)
        return false;
    if (json_is_array(v))
        json_array_foreach(v, i, x) if (refers_to_old_id(st, x, depth + 1)) return true;
    if (json_is_object(v))
        json_object_foreach(v, k, x) if (refers_to_old_id(st, x, depth + 1)) return true;
    return false;
}

static bool names_have(mk_names l, const char *name)
{
    for (uint32_t i = 0; i < l.n; i++)
        if (strcmp(l.v[i], name) == 0)
            return true;
    return false;
}

/* Is field `name` one whose after is before's (note [kept])? */
static bool kept_field(const builder *b, const mk_instance *in, json_t *before, const char *name)
{
    return before && json_object_get(before, name) && (ignored(in, name) || names_have(b->held, name));
}

/* Whether field k of in, as JSON j, changes from the state's before; *ref
 * set when it does by a reference to a replaced or re-made target. */
static bool field_changes(builder *b, mk_instance *in, json_t *before, uint32_t k, json_t *j, bool unknown, bool *ref)
{
    const mk_field *f = &in->res->schema->fields[k];
    if (!before || (f->flags & MK_ANN_COMPUTED) || ignored(in, f->name) || names_have(b->held, f->name))
        return false;
    json_t *old = json_object_get(before, f->name);
    if (in->ndeps && old && (refers_to_replaced(b, in, j, 0) || refers_to_old_id(b->st, old, 0)))
        return *ref = true;
    if (!unknown && old && mk_vjson_same(j, old))
        return false;
    if (!unknown && old && b->mv && mk_moves_same(b->mv, j, old, 0))
        return false;
    return unknown || old || !json_is_null(j);
}

/* Per field of in (bits[k], bits[nf + k], …) whether it is unknown,
 * sensitive, changed, and changed with force_new. The desired attributes
 * are made as JSON in scratch memory (note [scratch json]) only to be
 * compared with the state's and dropped: the plan's `after` is in->attrs.
 * note [references by address]: an attribute that refers by address to a
 * resource this plan replaces changes (to the new object's id, known after
 * apply, which the executor gives the provider), though its text does not. */
static void diff_values(builder *b, mk_instance *in, json_t *before, bool *bits)
{
    const mk_type *ty = in->res->schema;
    uint32_t nf = ty ? ty->nfields : 0;
    bool *unk = bits, *sens = bits + nf, *chg = bits + 2 * nf, *frc = bits + 3 * nf, *kept = bits + 4 * nf;
    for (uint32_t k = 0; k < nf; k++) {
        mk_value *v = in->attrs->u.map.vals[k];
        bool unknown = false, ref = false;
        mk_vjson_at at = {in->address, ty->fields[k].name};
        /* only compared (by fingerprint) and dropped: nothing to seal */
        json_t *j = mk_vjson_from(v, b->key, false, &at, &unknown);
        unk[k] = unknown;
        sens[k] = mk_v_is_secret(v);
        chg[k] = field_changes(b, in, before, k, j, unknown, &ref);
        unk[k] |= ref;
        frc[k] = chg[k] && !ref && (ty->fields[k].flags & MK_ANN_FORCE_NEW) != 0;
        kept[k] = kept_field(b, in, before, ty->fields[k].name);
        if (kept[k]) { /* before's value, known, sealed as the state has it */
            unk[k] = false;
            sens[k] |= json_object_get(json_object_get(before, ty->fields[k].name), "$secret") != NULL;
        }
        json_decref(j); /* (frees only without the arenas) */
    }
}

/* How the desired attributes differ from the state's, into c's lists;
 * false for a resource that does not change, which leaves nothing behind
 * (its scratch is gone), as for most resources of a re-plan. */
static bool diff_attrs(builder *b, mk_instance *in, json_t *before, mk_change *c)
{
    const mk_type *ty = in->res->schema;
    uint32_t nf = ty ? ty->nfields : 0;
    bool *bits = mk_mem_calloc(5 * (size_t)nf + 1, sizeof *bits);
    mk_jalloc_scratch(true);
    diff_values(b, in, before, bits);
    mk_jalloc_scratch(false);
    bool changes = !before;
    for (uint32_t k = 0; k < nf && !changes; k++)
        changes = bits[2 * nf + k];
    mk_names *lists[5] = {&c->unknown, &c->sensitive, &c->changed, &c->forces, &c->kept};
    for (int l = 0; l < 5 && (changes || b->listing) && ty; l++)
        *lists[l] = shared_names(b->pl->arena, &b->names, ty, l, bits + (size_t)l * nf);
    mk_mem_free(bits);
    return changes;
}

/* ---- drift: the observations in the differ (docs/drift.md, "Plans show
 * drift"). Kept apart from the diff: a state entry with a current
 * observation gets its `before` (the observed object), its status and the
 * drift record here; the diff above then plans from that `before` as from
 * any other. ---- */

static bool ignored_by(const mk_instance *in, json_t *lifecycle, const char *name)
{
    if (in)
        return ignored(in, name);
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(lifecycle, "ignore_changes"), i, x)
        if (json_is_string(x) && strcmp(json_string_value(x), name) == 0)
            return true;
    return false;
}

static void note_unreadable(builder *b, const char *address)
{
    if (b->nunreadable == b->capunreadable) {
        b->capunreadable = b->capunreadable ? b->capunreadable * 2 : 8;
        b->unreadable = mk_mem_realloc(b->unreadable, b->capunreadable * sizeof *b->unreadable);
    }
    b->unreadable[b->nunreadable++] = address;
}

/* The drifted attributes an observation lists, minus those ignored. */
static mk_names drifted_names(builder *b, json_t *obs, const mk_instance *in, json_t *lifecycle)
{
    json_t *list = json_object_get(obs, "drift");
    const char **v = json_array_size(list) ? mk_arena_alloc(b->pl->arena, json_array_size(list) * sizeof *v) : NULL;
    uint32_t n = 0;
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
        if (json_is_string(x) && !ignored_by(in, lifecycle, json_string_value(x)))
            v[n++] = json_string_value(x);
    return (mk_names){v, n};
}

/* What the current observation of state entry sr says; in (NULL for a
 * delete) and the entry's lifecycle say which attributes are ignored. The
 * observations' digest is taken only here, for an entry that has one. */
static mk_drift_status drift_of(builder *b, json_t *sr, const mk_instance *in, mk_names *attrs, json_t **obs)
{
    *attrs = (mk_names){NULL, 0};
    *obs = b->obs && b->obs->resources ? mk_observed_of(b->obs, sr) : NULL;
    const char *status = json_string_value(json_object_get(*obs, "status"));
    if (!status)
        return MK_DRIFT_NONE;
    if (strcmp(status, "unreadable") == 0) {
        note_unreadable(b, json_string_value(json_object_get(sr, "address")));
        return MK_DRIFT_NONE;
    }
    if (strcmp(status, "gone") == 0)
        return MK_DRIFT_GONE;
    *attrs = drifted_names(b, *obs, in, json_object_get(sr, "lifecycle"));
    return attrs->n ? MK_DRIFT_CHANGED : MK_DRIFT_NONE;
}

/* The names' values in attrs as an object (an attribute not there: null),
 * for a drift record: a sensitive one only as sealed JSON, else as the
 * marker {"$secret": {"sensitive": true}} (docs/drift.md). */
static json_t *drift_values(json_t *attrs, mk_names names, mk_names sensitive)
{
    json_t *o = json_object();
    for (uint32_t i = 0; i < names.n; i++) {
        json_t *v = json_object_get(attrs, names.v[i]);
        bool sealed = json_is_object(v) && json_object_get(v, "$secret");
        if (names_have(sensitive, names.v[i]) && !sealed)
            json_object_set_new(o, names.v[i], json_pack("{s:{s:b}}", "$secret", "sensitive", 1));
        else
            json_object_set_new(o, names.v[i], v ? json_incref(v) : json_null());
    }
    return o;
}

static void observed_attr(json_t *before, json_t *seen, const char *name)
{
    json_t *v = json_object_get(seen, name);
    json_object_set_new(before, name, v ? json_incref(v) : json_null());
}

/* The state's attributes with the drifted ones as observed, and those of
 * in's ignore_changes the state records (note [kept]): the `before` a
 * change is planned from, whatever the drift mode. The plan holds it. */
static json_t *observed_before(builder *b, json_t *sr, json_t *obs, mk_names attrs, const mk_instance *in)
{
    json_t *recorded = json_object_get(sr, "attributes"), *seen = json_object_get(obs, "attributes");
    json_t *before = json_copy(recorded);
    for (uint32_t i = 0; i < attrs.n; i++)
        observed_attr(before, seen, attrs.v[i]);
    const mk_value *ic = in ? in->ignore_changes : NULL;
    for (uint32_t i = 0; seen && ic && i < ic->n; i++)
        if (ic->u.items[i]->kind == MK_V_STRING && json_object_get(recorded, ic->u.items[i]->u.s))
            observed_attr(before, seen, ic->u.items[i]->u.s);
    json_array_append_new(b->pl->made, before);
    return before;
}

/* note [observed secrets]: the executor reads a secret back as sealed JSON
 * or a {"$secret": …} marker, never plaintext. Should an observation hold
 * a plain value where the state records a secret (a provider that leaks),
 * the attribute is taken as a secret that differs, and a warning says so:
 * no plan, text or drift record carries it. */
static bool leaks(json_t *recorded, json_t *seen, int depth)
{
    if (!seen || depth > 64)
        return false;
    if (json_is_object(recorded) && json_object_get(recorded, "$secret"))
        return !json_is_object(seen) || !json_object_get(seen, "$secret");
    size_t i;
    const char *k;
    json_t *x;
    if (json_is_array(recorded))
        json_array_foreach(recorded, i, x) if (leaks(x, json_array_get(seen, i), depth + 1)) return true;
    if (json_is_object(recorded))
        json_object_foreach(recorded, k, x) if (leaks(x, json_object_get(seen, k), depth + 1)) return true;
    return false;
}

/* obs, or a copy of it (the plan holds it) with each leaking attribute of
 * sr masked (note [observed secrets]). */
static json_t *masked_obs(builder *b, json_t *sr, json_t *obs)
{
    json_t *seen = json_object_get(obs, "attributes"), *recorded = json_object_get(sr, "attributes"), *copy = NULL;
    const char *k;
    json_t *v;
    json_object_foreach(seen, k, v) {
        if (!leaks(json_object_get(recorded, k), v, 0))
            continue;
        if (!copy) {
            copy = json_copy(obs);
            json_object_set_new(copy, "attributes", json_copy(seen));
            json_array_append_new(b->pl->made, copy);
        }
        json_object_set_new(json_object_get(copy, "attributes"), k, json_pack("{s:{s:b}}", "$secret", "differs", 1));
        mk_diag_warn(b->p->diag, "W0003", MK_NOSPAN,
                     "the observation of %s holds a plain value for `%s`, which the state records as a secret: "
                     "taken as a secret that differs, not shown",
                     json_string_value(json_object_get(sr, "address")) ?: "?", k);
    }
    return copy ? copy : obs;
}

static const char *const *strings_of(mk_arena *a, json_t *arr, uint32_t *n);

static void add_drift(builder *b, json_t *sr, mk_drift_status st, mk_names attrs, json_t *obs, const char *mode,
                      uint32_t change)
{
    mk_plan *pl = b->pl;
    if (pl->ndrift == b->capdrift) {
        b->capdrift = b->capdrift ? b->capdrift * 2 : 8;
        pl->drift = mk_mem_realloc(pl->drift, b->capdrift * sizeof *pl->drift);
    }
    bool changed = st == MK_DRIFT_CHANGED;
    mk_names sensitive = {0};
    sensitive.v = strings_of(pl->arena, json_object_get(sr, "sensitive"), &sensitive.n);
    pl->drift[pl->ndrift++] = (mk_drift){
        json_string_value(json_object_get(sr, "address")), json_string_value(json_object_get(sr, "type")), st, attrs,
        changed ? drift_values(json_object_get(sr, "attributes"), attrs, sensitive) : NULL,
        changed ? drift_values(json_object_get(obs, "attributes"), attrs, sensitive) : NULL, mode ? mode : "correct",
        change, sensitive};
}

/* A resource's lifecycle.drift: the spec's for a desired one, else the
 * state's as recorded; NULL for "correct". */
static const char *drift_mode(const mk_instance *in, json_t *sr)
{
    const char *m = in ? in->drift : json_string_value(json_object_get(json_object_get(sr, "lifecycle"), "drift"));
    return m && strcmp(m, "correct") != 0 ? m : NULL;
}

/* What the differ plans a state entry from (docs/drift.md): *before the
 * state's attributes, or the observed object for a correction, or NULL
 * for a correction of a gone object (created again). *d says what drifted;
 * it is NONE when nothing did or the resource ignores drift. */
typedef struct drift_seen {
    mk_drift_status status;
    mk_names attrs;
    json_t *obs;
    const char *mode;
    bool correct;
} drift_seen;

/* Whatever the mode, a drifted object's before is as observed (the guard
 * compares the world with it); a mode other than correct holds the
 * drifted attributes as they are (note [kept]). */
static json_t *drift_before(builder *b, json_t *sr, const mk_instance *in, drift_seen *d)
{
    json_t *before = json_object_get(sr, "attributes");
    d->status = drift_of(b, sr, in, &d->attrs, &d->obs);
    if (json_object_get(d->obs, "attributes"))
        d->obs = masked_obs(b, sr, d->obs);
    d->mode = drift_mode(in, sr);
    d->correct = d->status != MK_DRIFT_NONE && !d->mode;
    b->held = d->status == MK_DRIFT_CHANGED && d->mode ? d->attrs : (mk_names){NULL, 0};
    if (d->mode && strcmp(d->mode, "ignore") == 0)
        d->status = MK_DRIFT_NONE;
    if (d->correct && d->status == MK_DRIFT_GONE && in)
        return NULL;
    if (json_object_get(d->obs, "attributes") && (b->held.n || d->correct || (in && in->ignore_changes)))
        return observed_before(b, sr, d->obs, d->attrs, in);
    return before;
}

/* The drift record of an entry, and its change's drift when the change
 * corrects it (c NULL: nothing planned). A gone object's delete is marked
 * whatever the mode: the executor only forgets it. */
static void settle_drift(builder *b, json_t *sr, const drift_seen *d, mk_change *c)
{
    if (d->status == MK_DRIFT_NONE)
        return;
    bool corrects = c && (d->correct || (d->status == MK_DRIFT_GONE && c->action == MK_ACT_DELETE));
    if (corrects)
        c->drift = d->status, c->drift_attrs = d->attrs;
    add_drift(b, sr, d->status, d->attrs, d->obs, d->mode, corrects ? c->id : 0);
}

/* A desired change's lifecycle.ignore_changes and drift, as the plan
 * records them for the executor to keep in the state. */
static void desired_lifecycle(builder *b, const mk_instance *in, mk_change *c)
{
    const mk_value *ic = in->ignore_changes;
    const char **v = ic && ic->n ? mk_arena_alloc(b->pl->arena, ic->n * sizeof *v) : NULL;
    uint32_t n = 0;
    for (uint32_t i = 0; ic && i < ic->n; i++)
        if (ic->u.items[i]->kind == MK_V_STRING && !((ic->u.items[i]->flags | ic->flags) & MK_VF_SECRET))
            v[n++] = ic->u.items[i]->u.s;
    c->ignore_changes = (mk_names){v, n};
    c->drift_mode = drift_mode(in, NULL);
}

/* The observations' part of the plan: when they were read, what could not be. */
static void settle_observed(builder *b)
{
    mk_plan *pl = b->pl;
    if (!b->obs || !b->obs->root) {
        mk_mem_free(b->unreadable);
        return;
    }
    pl->observed = true, pl->observed_at = b->obs->at, pl->observed_serial = b->obs->serial;
    const char **v = b->nunreadable ? mk_arena_alloc(pl->arena, b->nunreadable * sizeof *v) : NULL;
    if (v)
        memcpy(v, b->unreadable, b->nunreadable * sizeof *v);
    pl->unreadable = (mk_names){v, b->nunreadable};
    mk_mem_free(b->unreadable);
}

/* `resource TYPE NAME`, up to its `{`; no place for a resource the spec no longer has. */
static mk_span head_span(mk_program *p, mk_instance *in)
{
    mk_span at = MK_NOSPAN;
    if (in) { /* `resource TYPE NAME`, up to its `{` */
        at = in->res->decl->span;
        const char *text = mk_src_get(&p->src, at.file)->text;
        uint32_t end = at.start;
        while (end < at.end && text[end] != '{')
            end++;
        while (end > at.start && text[end - 1] == ' ')
            end--;
        at.end = end;
    }
    return at;
}

static void prevent_destroy_error(mk_program *p, mk_instance *in, const char *address, const char *verb)
{
    mk_diag_item *it = mk_diag_error(p->diag, "E0301", head_span(p, in),
                                     "%s would be %s, but its lifecycle has prevent_destroy = true", address, verb);
    mk_diag_help(it, "if this is intended, set prevent_destroy = false and plan again");
}

/* note [deletion protection]: `deletion_protection = true` (database, and
 * any type that has the attribute) makes the cloud refuse to delete the
 * object — the sim provider too. A delete, or a replace (which deletes the
 * applied object), of an object applied with it on is refused here, where
 * the fix can be said: turn it off in one apply, delete in the next. What
 * counts is the applied object's value, not the desired one. */
static void deletion_protection_check(mk_program *p, mk_instance *in, json_t *applied, const char *address,
                                      const char *verb)
{
    if (!json_is_true(json_object_get(applied, "deletion_protection")))
        return;
    mk_diag_item *it = mk_diag_error(p->diag, "E0304", head_span(p, in),
                                     "%s would be %s, but it was applied with deletion_protection = true", address, verb);
    mk_diag_help(it, "the cloud refuses to delete it: set deletion_protection = false and apply first, then %s it",
                 strcmp(verb, "deleted") == 0 ? "delete" : "replace");
}

/* The ids of the changes of what in refers to, and their addresses. */
static void desired_edges(builder *b, mk_instance *in, mk_change *c)
{
    mk_arena *a = b->pl->arena;
    uint32_t *deps = in->ndeps ? mk_arena_alloc(a, in->ndeps * sizeof *deps) : NULL;
    const char **refs = in->ndeps ? mk_arena_alloc(a, in->ndeps * sizeof *refs) : NULL;
    for (uint32_t i = 0; i < in->ndeps; i++) {
        uint32_t id = change_of(b, in->deps[i]);
        if (id && id != c->id)
            deps[c->ndepends++] = id;
        refs[i] = in->deps[i]->address;
    }
    c->depends_on = deps, c->refs = refs, c->nrefs = in->ndeps;
}

/* A desired instance's state entry: its own, or the one a `moved` block
 * gives it; an `import` block's id and observed object go into hit. */
static json_t *entry_of(builder *b, mk_instance *in, size_t *idx, mk_moves_hit *hit)
{
    json_t *sr = mk_state_find(b->st, in->address, idx);
    if (sr || !mk_moves_find(b->mv, in->address, hit))
        return sr;
    *idx = hit->index;
    return hit->entry;
}

/* An object gone (before NULL) is created again, moved or not. */
static mk_action action_of(const mk_moves_hit *hit, const json_t *before, const mk_change *c)
{
    if (hit->import_id)
        return MK_ACT_IMPORT;
    if (!before)
        return MK_ACT_CREATE;
    if (c->forces.n)
        return MK_ACT_REPLACE;
    return hit->moved_from && !c->changed.n ? MK_ACT_MOVE : MK_ACT_UPDATE;
}

static void add_desired(builder *b, mk_instance *in)
{
    size_t idx = 0;
    mk_moves_hit hit = {0};
    json_t *sr = entry_of(b, in, &idx, &hit);
    drift_seen d = {0};
    b->held = (mk_names){NULL, 0};
    json_t *before = sr ? drift_before(b, sr, in, &d) : hit.observed;
    if (sr)
        b->seen[idx] = true, b->pl->like[idx] = in;
    mk_change scratch = {0};
    b->listing = hit.moved_from || hit.import_id;
    if (!diff_attrs(b, in, before, &scratch) && !b->listing) {
        b->pl->totals.noop++;
        settle_drift(b, sr, &d, NULL);
        return;
    }
    mk_action action = action_of(&hit, before, &scratch);
    if (action == MK_ACT_REPLACE && in->prevent_destroy)
        prevent_destroy_error(b->p, in, in->address, "replaced");
    if (action == MK_ACT_REPLACE)
        deletion_protection_check(b->p, in, before, in->address, "replaced");
    mk_change *c = new_change(b);
    uint32_t id = c->id;
    *c = scratch;
    c->id = id;
    c->action = action;
    bool stateful = in->res->schema && in->res->schema->is_stateful;
    c->risk = mk_plan_risk(action, in->res->type, stateful, c->changed);
    c->irreversible = mk_plan_irreversible(action, stateful);
    if (d.correct && d.status == MK_DRIFT_GONE && stateful)
        c->risk = MK_RISK_HIGH; /* it comes back empty */
    c->address = in->address, c->type = in->res->type, c->name = in->res->name, c->provider = in->provider;
    c->in = in;
    c->before = before;
    c->import_id = hit.import_id, c->moved_from = before ? hit.moved_from : NULL;
    c->prevent_destroy = in->prevent_destroy, c->create_before_destroy = in->create_before_destroy;
    if (in->placement) {
        bool unk = false;
        c->placement = mk_vjson_from(in->placement, NULL, false, NULL, &unk);
    }
    mk_sym_put(&b->cid, (mk_name)in, NULL, (void *)(uintptr_t)id);
    desired_edges(b, in, c);
    desired_lifecycle(b, in, c);
    if (sr)
        settle_drift(b, sr, &d, c);
    if (action == MK_ACT_CREATE) b->pl->totals.create++;
    else if (action == MK_ACT_UPDATE) b->pl->totals.update++;
    else if (action == MK_ACT_IMPORT) b->pl->totals.import++;
    else if (action == MK_ACT_MOVE) b->pl->totals.move++;
    else b->pl->totals.replace++;
}

/* An instance of the resource a deleted state entry was (count went down),
 * for a place to point at; NULL when the spec no longer has it. */
static mk_instance *delete_decl(builder *b, json_t *sr)
{
    const char *ty = json_string_value(json_object_get(sr, "type")) ?: "";
    const char *name = json_string_value(json_object_get(sr, "name")) ?: "";
    for (size_t i = 0; i < b->p->ninstances; i++)
        if (strcmp(b->p->instances[i]->res->type, ty) == 0 && strcmp(b->p->instances[i]->res->name, name) == 0)
            return b->p->instances[i];
    return NULL;
}

/* The strings of a JSON array (the state's), in the plan's arena. */
static const char *const *strings_of(mk_arena *a, json_t *arr, uint32_t *n)
{
    size_t len = json_array_size(arr);
    const char **v = len ? mk_arena_alloc(a, len * sizeof *v) : NULL;
    *n = 0;
    for (size_t i = 0; i < len; i++)
        if (json_is_string(json_array_get(arr, i)))
            v[(*n)++] = json_string_value(json_array_get(arr, i));
    return v;
}

/* What a delete and a deposed object's delete share: the state's entry. */
static mk_change *state_change(builder *b, json_t *sr, json_t *before, json_t *placement)
{
    mk_change *c = new_change(b);
    c->action = MK_ACT_DELETE;
    c->address = json_string_value(json_object_get(sr, "address"));
    c->type = json_string_value(json_object_get(sr, "type"));
    c->name = json_string_value(json_object_get(sr, "name"));
    c->provider = json_string_value(json_object_get(sr, "provider"));
    bool stateful = stateful_named(b, c->type);
    c->risk = mk_plan_risk(MK_ACT_DELETE, c->type ?: "", stateful, (mk_names){NULL, 0});
    c->irreversible = mk_plan_irreversible(MK_ACT_DELETE, stateful);
    c->before = before;
    c->sensitive.v = strings_of(b->pl->arena, json_object_get(sr, "sensitive"), &c->sensitive.n);
    c->lifecycle = json_object_get(sr, "lifecycle");
    c->prevent_destroy = json_is_true(json_object_get(c->lifecycle, "prevent_destroy"));
    c->create_before_destroy = json_is_true(json_object_get(c->lifecycle, "create_before_destroy"));
    c->placement = json_incref(placement);
    b->pl->totals.remove++;
    return c;
}

/* A resource of the state that the spec no longer has. */
static void add_delete(builder *b, json_t *sr)
{
    const char *addr = json_string_value(json_object_get(sr, "address"));
    json_t *attrs = json_object_get(sr, "attributes");
    if (json_is_true(json_object_get(json_object_get(sr, "lifecycle"), "prevent_destroy")))
        prevent_destroy_error(b->p, delete_decl(b, sr), addr, "deleted");
    if (json_is_true(json_object_get(attrs, "deletion_protection")))
        deletion_protection_check(b->p, delete_decl(b, sr), attrs, addr, "deleted");
    drift_seen d = {0};
    json_t *before = drift_before(b, sr, NULL, &d);
    mk_change *c = state_change(b, sr, before, json_object_get(sr, "placement"));
    c->refs = strings_of(b->pl->arena, json_object_get(sr, "depends_on"), &c->nrefs);
    settle_drift(b, sr, &d, c);
}

/* An object a create_before_destroy replace set aside and an apply that
 * died did not delete (docs/executor.md): deleted now, by its id. */
static void add_deposed(builder *b, json_t *sr, json_t *dep)
{
    mk_change *c = state_change(b, sr, json_object_get(dep, "attributes"), json_object_get(dep, "placement"));
    c->deposed = json_string_value(json_object_get(dep, "id"));
    /* note [create_before_destroy]: after what refers to the resource has moved on */
    for (size_t i = 0; c->address && i + 1 < b->pl->nchanges; i++) {
        const mk_change *o = &b->pl->changes[i];
        for (uint32_t k = 0; k < o->nrefs; k++)
            if (strcmp(o->refs[k], c->address) == 0) {
                edge_add(b, c->id, o->id);
                break;
            }
    }
}

/* See note [plan order]: a delete waits for the changes of what referred to it. */
static void delete_edges(builder *b)
{
    if (b->pl->totals.remove == 0)
        return;
    mk_symtab by_addr = {0};
    mk_intern *names = b->p->ast.names;
    for (size_t i = 0; i < b->pl->nchanges; i++)
        if (b->pl->changes[i].address)
            mk_sym_put(&by_addr, mk_intern_s(names, b->pl->changes[i].address), NULL, &b->pl->changes[i]);
    for (size_t k = 0; k < b->st->nres; k++) {
        json_t *sr = b->st->res[k], *deps = json_object_get(sr, "depends_on");
        const char *at = json_string_value(json_object_get(sr, "address"));
        if (!json_is_array(deps) || json_array_size(deps) == 0 || !at)
            continue;
        mk_change *me = mk_sym_get(&by_addr, mk_intern_s(names, at), NULL);
        size_t d;
        json_t *dep;
        json_array_foreach(deps, d, dep) {
            mk_change *target = me && json_is_string(dep) ? mk_sym_get(&by_addr, mk_intern_s(names, json_string_value(dep)), NULL) : NULL;
            if (target && target->action == MK_ACT_DELETE)
                edge_add(b, target->id, me->id);
        }
    }
    mk_sym_free(&by_addr);
}

/* The deletes' edges, grown while the plan was made, into the arena. */
static void settle_edges(builder *b)
{
    for (size_t i = 0; i < b->pl->nchanges; i++) {
        dlist *d = &b->edges[i];
        if (!d->n)
            continue;
        uint32_t *v = mk_arena_alloc(b->pl->arena, d->n * sizeof *v);
        memcpy(v, d->v, d->n * sizeof *v);
        b->pl->changes[i].depends_on = v, b->pl->changes[i].ndepends = d->n;
        mk_mem_free(d->v);
    }
    mk_mem_free(b->edges);
}

static json_t *outputs_json(mk_program *p, const mk_key *key)
{
    json_t *o = json_object();
    for (uint32_t i = 0; p->root && i < p->root->noutputs; i++) {
        mk_output *out = &p->root->outputs[i];
        bool unknown = false;
        mk_vjson_at at = {"outputs", out->decl->name}; /* where it stands in the plan: docs/trust.md */
        json_t *v = out->value ? mk_vjson_from(out->value, key, true, &at, &unknown) : json_null();
        json_object_set_new(o, out->decl->name, unknown ? json_null() : v);
        if (unknown)
            json_decref(v);
    }
    return o;
}

/* Which outputs differ from the ones the state recorded at its last apply:
 * secrets by fingerprint (mk_vjson_same), an output gone from the stack as
 * much as a new one. A state without "outputs" recorded none. */
static void outputs_changed(mk_plan *pl, json_t *before)
{
    size_t cap = json_object_size(pl->outputs) + json_object_size(before), n = 0;
    const char **v = mk_arena_alloc(pl->arena, (cap + 1) * sizeof *v);
    const char *k;
    json_t *x;
    json_object_foreach(pl->outputs, k, x) {
        json_t *b = json_object_get(before, k);
        if (!b || !mk_vjson_same(b, x))
            v[n++] = k;
    }
    json_object_foreach(before, k, x)
        if (!json_object_get(pl->outputs, k))
            v[n++] = k;
    pl->outputs_changed = (mk_names){v, (uint32_t)n};
    pl->outputs_before = before ? json_incref(before) : json_object(); /* none recorded: every output is new */
}

/* SHA-256 over every source file read (stdlib included), the variables and
 * the other stacks' outputs read. */
static void inputs_digest(mk_program *p, const mk_key *key, char out[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (uint32_t i = 0; i < p->nfile_ids; i++) {
        mk_source *f = mk_src_get(&p->src, p->file_ids[i]);
        EVP_DigestUpdate(md, f->name, strlen(f->name) + 1); /* the shown name: the same in every checkout */
        EVP_DigestUpdate(md, f->text, f->len);
    }
    for (uint32_t i = 0; p->root && i < p->root->nvars; i++) {
        mk_var *v = p->root->var_order[i];
        bool unk = false;
        json_t *j = v->value ? mk_vjson_from(v->value, key, false, NULL, &unk) : json_null();
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        EVP_DigestUpdate(md, v->decl->name, strlen(v->decl->name) + 1);
        if (s)
            EVP_DigestUpdate(md, s, strlen(s));
        mk_jalloc_free_text(s);
        json_decref(j);
    }
    if (p->env) /* (only then: a plan without one digests as before) */
        EVP_DigestUpdate(md, "\0env\0", 5), EVP_DigestUpdate(md, p->env, strlen(p->env));
    for (uint32_t i = 0; i < p->nreads; i++) { /* other stacks' outputs are inputs too (none: as before) */
        char *s = p->reads[i].got ? json_dumps(p->reads[i].got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        EVP_DigestUpdate(md, p->reads[i].name, strlen(p->reads[i].name) + 1);
        if (s)
            EVP_DigestUpdate(md, s, strlen(s));
        mk_jalloc_free_text(s);
    }
    unsigned char d[32];
    unsigned int n = 32;
    EVP_DigestFinal_ex(md, d, &n);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

const char *mk_plan_via(const json_t *providers, const char *type, const char *provider)
{
    const char *kind = provider ? json_string_value(json_object_get(json_object_get(providers, provider), "type")) : NULL;
    bool store = kind && (strcmp(kind, "s3") == 0 || strcmp(kind, "azure_blob") == 0);
    return store && type && strcmp(type, "bucket") == 0 ? kind : NULL;
}

static json_t *providers_json(mk_program *p)
{
    bool unk = false;
    mk_value *pv = p->root ? p->root->provider_values : NULL;
    return pv ? mk_vjson_from(pv, NULL, false, NULL, &unk) : json_object();
}

static void add_deletes(builder *b)
{
    mk_state *st = b->st;
    for (size_t i = 0; i < st->nres; i++)
        if (!b->seen[i])
            add_delete(b, st->res[i]);
    delete_edges(b);
    for (size_t i = 0; i < st->nres; i++) {
        size_t k;
        json_t *dep;
        json_array_foreach(json_object_get(st->res[i], "deposed"), k, dep)
            if (json_is_string(json_object_get(dep, "id")))
                add_deposed(b, st->res[i], dep);
    }
    settle_edges(b);
}

mk_plan *mk_plan_build(mk_program *p, mk_state *st, const mk_key *key, bool destroy)
{
    return mk_plan_build_observed(p, st, NULL, key, destroy);
}

mk_plan *mk_plan_build_observed(mk_program *p, mk_state *st, const mk_observed *obs, const mk_key *key, bool destroy)
{
    mk_plan *pl = mk_mem_calloc(1, sizeof *pl);
    pl->arena = mk_arena_new();
    pl->destroy = destroy;
    pl->made = json_array();
    pl->like = mk_arena_alloc(pl->arena, (st->nres + 1) * sizeof *pl->like);
    builder b = {.p = p, .st = st, .obs = obs, .key = key, .pl = pl, .seen = mk_mem_calloc(st->nres + 1, sizeof *b.seen)};
    mk_sym_reserve(&b.cid, (uint32_t)(destroy ? 0 : p->ninstances));
    b.mv = destroy ? NULL : mk_moves_new(p, st, obs && obs->root ? json_object_get(obs->root, "imports") : NULL);
    for (size_t i = 0; i < p->ninstances && !destroy; i++)
        add_desired(&b, p->instances[i]);
    mk_moves_free(b.mv);
    add_deletes(&b);
    settle_observed(&b);
    mk_mem_free(b.seen);
    mk_sym_free(&b.cid);
    mk_sym_free(&b.names);
    inputs_digest(p, key, pl->inputs_digest);
    if (mk_vjson_overflowed()) {
        mk_diag_item *it = mk_diag_error(p->diag, "E0303", MK_NOSPAN, "a value is too large for a plan (over 4,000,000 elements)");
        mk_diag_help(it, "a list or map that repeats itself grows with every level; build it with fewer levels");
    }
    pl->stack = p->root && p->root->stack_name ? p->root->stack_name : "stack";
    pl->env = p->env;
    /* the stack id binds the plan to this stack (note [stack id] in docs/executor.md) */
    pl->stack_id = key->stack_id[0] ? mk_arena_strndup(pl->arena, key->stack_id, strlen(key->stack_id)) : NULL;
    pl->lineage = st->lineage, pl->serial = st->serial;
    pl->providers = providers_json(p);
    for (size_t i = 0; i < pl->nchanges; i++)
        pl->changes[i].via = mk_plan_via(pl->providers, pl->changes[i].type, pl->changes[i].provider);
    pl->outputs = outputs_json(p, key);
    if (!destroy)
        outputs_changed(pl, json_object_get(st->root, "outputs"));
    return pl;
}

void mk_plan_free(mk_plan *pl)
{
    if (!pl)
        return;
    for (size_t i = 0; i < pl->nchanges; i++) {
        json_decref(pl->changes[i].placement);
        json_decref(pl->changes[i].after);
    }
    for (size_t i = 0; i < pl->ndrift; i++) {
        json_decref(pl->drift[i].recorded);
        json_decref(pl->drift[i].observed);
    }
    mk_mem_free(pl->drift);
    json_decref(pl->made);
    json_decref(pl->providers);
    json_decref(pl->outputs);
    json_decref(pl->reads);
    json_decref(pl->outputs_before);
    json_decref(pl->policies);
    json_decref(pl->policy_packs);
    json_decref(pl->waivers);
    mk_mem_free(pl->changes);
    mk_arena_free(pl->arena);
    mk_mem_free(pl);
}
