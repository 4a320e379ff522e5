/* against — the cost and policy delta of a stack against its base (the
 * target branch's version of it): which resources the change adds, removes
 * or prices differently, and which policy verdicts it turns. It compares
 * two reports made elsewhere and is not a differ of attributes (plan.c is). */
#include "compiler/middle/against.h"

#include <stdlib.h>
#include <string.h>

#include "compiler/base/mem.h"

/* The report's items in address order (bytewise). */
static int by_address(const void *a, const void *b)
{
    const mk_place_item *x = *(const mk_place_item *const *)a, *y = *(const mk_place_item *const *)b;
    return strcmp(x->in->address, y->in->address);
}

static const mk_place_item **sorted(const mk_place_report *r)
{
    const mk_place_item **ix = mk_mem_calloc(r->nitems + 1, sizeof *ix);
    for (size_t i = 0; i < r->nitems; i++)
        ix[i] = &r->items[i];
    qsort(ix, r->nitems, sizeof *ix, by_address);
    return ix;
}

static void side(const mk_place_item *it, bool *in, bool *priced, mk_money *m, const char **why)
{
    *in = true;
    *priced = it->q.status == MK_COST_PRICED;
    *m = *priced ? it->q.monthly : 0;
    *why = *priced ? NULL : it->q.why ? it->q.why : "no price";
}

/* Whether the change moves the line's figure (or whether it is priced). */
static bool differs(const mk_against_line *l)
{
    if (l->in_base != l->in_head || l->base_priced != l->head_priced)
        return true;
    if (l->base_priced)
        return l->base != l->head;
    return strcmp(l->base_why, l->head_why) != 0;
}

static void keep(mk_against *a, size_t *cap, const mk_against_line *l)
{
    if (!differs(l))
        return;
    if (a->nlines == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        a->lines = mk_mem_realloc(a->lines, *cap * sizeof *a->lines);
    }
    a->lines[a->nlines++] = *l;
}

mk_against *mk_against_costs(const mk_place_report *base, const mk_place_report *head)
{
    mk_against *a = mk_mem_calloc(1, sizeof *a);
    a->base_monthly = base->monthly, a->head_monthly = head->monthly;
    a->base_unpriced = base->nunpriced, a->head_unpriced = head->nunpriced;
    const mk_place_item **bi = sorted(base), **hi = sorted(head);
    size_t i = 0, j = 0, cap = 0;
    while (i < base->nitems || j < head->nitems) {
        const mk_place_item *b = i < base->nitems ? bi[i] : NULL, *h = j < head->nitems ? hi[j] : NULL;
        int c = !b ? 1 : !h ? -1 : strcmp(b->in->address, h->in->address);
        mk_against_line l = {.address = c <= 0 ? b->in->address : h->in->address};
        if (c <= 0)
            side(b, &l.in_base, &l.base_priced, &l.base, &l.base_why), i++;
        if (c >= 0)
            side(h, &l.in_head, &l.head_priced, &l.head, &l.head_why), j++;
        keep(a, &cap, &l);
    }
    mk_mem_free(bi);
    mk_mem_free(hi);
    return a;
}

/* ---- policies ---- */

/* A violation's identity: its address and its message. */
static char *violation_key(json_t *v)
{
    const char *addr = json_string_value(json_object_get(v, "address")) ?: "";
    const char *msg = json_string_value(json_object_get(v, "message")) ?: "";
    size_t na = strlen(addr), nm = strlen(msg);
    char *k = mk_mem_alloc(na + nm + 2);
    memcpy(k, addr, na);
    k[na] = '\n';
    memcpy(k + na + 1, msg, nm + 1);
    return k;
}

static json_t *violation_set(json_t *result)
{
    json_t *set = json_object(), *v;
    size_t i;
    json_array_foreach(json_object_get(result, "violations"), i, v) {
        char *k = violation_key(v);
        json_object_set_new(set, k, json_true());
        mk_mem_free(k);
    }
    return set;
}

/* The violations of result that set does not hold. */
static json_t *missing_from(json_t *result, json_t *set)
{
    json_t *out = json_array(), *v;
    size_t i;
    json_array_foreach(json_object_get(result, "violations"), i, v) {
        char *k = violation_key(v);
        if (!json_object_get(set, k))
            json_array_append(out, v);
        mk_mem_free(k);
    }
    return out;
}

static json_t *status_of(json_t *result)
{
    json_t *s = json_object_get(result, "status");
    return s ? json_incref(s) : json_null();
}

/* One policy's delta (either result may be NULL), or NULL when the change
 * turns nothing of it. */
static json_t *policy_delta(const char *name, json_t *b, json_t *h)
{
    json_t *bs = violation_set(b), *hs = violation_set(h);
    json_t *fresh = missing_from(h, bs), *fixed = missing_from(b, hs);
    json_t *sb = status_of(b), *sh = status_of(h);
    bool same = json_equal(sb, sh) && !json_array_size(fresh) && !json_array_size(fixed);
    json_decref(bs), json_decref(hs);
    if (same) {
        json_decref(fresh), json_decref(fixed), json_decref(sb), json_decref(sh);
        return NULL;
    }
    return json_pack("{s:s, s:o, s:o, s:o, s:o}", "name", name, "base", sb, "head", sh, "new", fresh, "fixed", fixed);
}

static json_t *by_name(json_t *results)
{
    json_t *m = json_object(), *r;
    size_t i;
    json_array_foreach(results, i, r) {
        const char *name = json_string_value(json_object_get(r, "name"));
        if (name)
            json_object_set(m, name, r);
    }
    return m;
}

static int name_order(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void mk_against_policies(mk_against *a, json_t *base, json_t *head)
{
    json_t *bm = by_name(base), *hm = by_name(head), *all = json_object(), *r;
    json_object_update(all, bm), json_object_update(all, hm);
    size_t n = json_object_size(all), k = 0;
    const char **names = mk_mem_calloc(n + 1, sizeof *names), *name;
    json_object_foreach(all, name, r)
        names[k++] = name;
    qsort(names, n, sizeof *names, name_order);
    json_decref(a->policies);
    a->policies = json_array();
    for (k = 0; k < n; k++) {
        json_t *d = policy_delta(names[k], json_object_get(bm, names[k]), json_object_get(hm, names[k]));
        if (d)
            json_array_append_new(a->policies, d);
    }
    mk_mem_free(names);
    json_decref(all), json_decref(bm), json_decref(hm);
}

mk_money mk_against_delta(const mk_against *a)
{
    /* both totals are in [0, the range of money]: the difference fits */
    return a->head_monthly - a->base_monthly;
}

void mk_against_free(mk_against *a)
{
    if (!a)
        return;
    mk_mem_free(a->lines);
    json_decref(a->policies);
    mk_mem_free(a);
}
