/* pin — the check of pinned offerings (a compute's `instance_type`, a
 * volume's or root disk's `disk_type`) against
 * the catalogs, once per stack before placement: a name no cloud sells is an
 * error with the nearest name, and a pin whose cpu or memory are not the
 * offering's own is an error whose hint gives the right values (the type's
 * cpu and memory stay required, so a stack reads the same pinned or not).
 * Pricing a pin, and keeping placement to the clouds that sell it, is
 * cost.c's (pick_offer); this module only reports.
 */
#include "compiler/middle/pin.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/middle/offername.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

/* The instance_type of a compute's attributes. Every compute of a plan is
 * looked at, so a key is compared by its first letter before strcmp. */
static const mk_value *pin_of(const mk_value *attrs)
{
    for (uint32_t i = 0; attrs && attrs->kind == MK_V_MAP && i < attrs->n; i++)
        if (attrs->u.map.keys[i][0] == 'i' && strcmp(attrs->u.map.keys[i], "instance_type") == 0)
            return attrs->u.map.vals[i];
    return NULL;
}

/* Where a pin is written: its attribute (instance_type, disk_type) in the
 * resource's block. */
static mk_span attr_at(const mk_instance *in, const char *name)
{
    mk_ast *decl = in->res->decl;
    for (uint32_t i = 0; decl && i < decl->kids.n; i++)
        if (decl->kids.v[i]->kind == MK_AST_ATTR && strcmp(decl->kids.v[i]->name, name) == 0)
            return decl->kids.v[i]->a ? decl->kids.v[i]->a->span : decl->kids.v[i]->span;
    return decl ? decl->span : MK_NOSPAN;
}

static mk_span pin_at(const mk_instance *in) { return attr_at(in, "instance_type"); }

/* A volume's or a compute's root disk_type no cloud sells (E0403, the
 * nearest name it sells). */
static void unknown_disk(mk_cost_catalog *cat, mk_diag *diag, const mk_instance *in)
{
    const mk_value *v = mk_v_get_text(in->attrs, "disk_type");
    const char *near;
    char want[128];
    if (!v || v->kind != MK_V_STRING || mk_offername_bad_bytes(diag, in, "disk_type", v, attr_at(in, "disk_type")))
        return;
    snprintf(want, sizeof want, "%.*s", (int)v->n, v->u.s);
    if (mk_cost_sells_disk(cat, want, &near))
        return;
    mk_diag_item *d = mk_diag_error(diag, "E0403", attr_at(in, "disk_type"), "%s: no cloud's catalog sells disk_type `%s`", in->address, want);
    if (near)
        mk_diag_label(d, "did you mean `%s`?", near);
    mk_diag_help(d, "the names are the clouds' own (gp3, pd-balanced, Premium_LRS), as in stdlib/pricing/*.json");
}

static void unknown(mk_cost_catalog *cat, mk_diag *diag, const mk_instance *in, const mk_value *pin)
{
    size_t n = 0, k = 0;
    for (int ci = 0; ci < MK_COST_NCLOUDS; ci++)
        n += mk_cost_noffers(cat, ci);
    const char **names = mk_mem_alloc((n + 1) * sizeof *names);
    for (int ci = 0; ci < MK_COST_NCLOUDS; ci++)
        for (size_t oi = 0; oi < mk_cost_noffers(cat, ci); oi++)
            names[k++] = mk_cost_offer_name(cat, ci, oi);
    char want[128];
    snprintf(want, sizeof want, "%.*s", (int)pin->n, pin->u.s);
    const char *near = mk_diag_suggest(want, names, n);
    int ci = mk_cost_cloud_index(mk_offername_cloud("instance_type", pin->u.s, pin->n) ?: "");
    mk_diag_item *d;
    if (ci >= 0) { /* note [pin shapes] */
        d = mk_diag_warn(diag, "W0004", pin_at(in), "%s: the %s catalog has no price for instance_type `%s`; it is unpriced",
                         in->address, mk_cost_cloud(ci), want);
        if (near)
            mk_diag_label(d, "did you mean `%s`?", near);
        mk_diag_help(d, "the %s sizes priced are in stdlib/pricing/%s.json (docs/cost.md, \"Sources and dates\")", mk_cost_cloud(ci),
                     mk_cost_cloud(ci));
    } else {
        d = mk_diag_error(diag, "E0403", pin_at(in), "%s: no cloud's catalog sells instance_type `%s`", in->address, want);
        if (near)
            mk_diag_label(d, "did you mean `%s`?", near);
        mk_diag_help(d, "the names are the clouds' own (m5.large, n2-standard-4, Standard_D2s_v4), as in stdlib/pricing/*.json");
    }
    mk_mem_free(names);
}

/* A size in the words a stack writes it: 8GiB, 1740MiB. */
static void size_words(double gib, char *buf, size_t n)
{
    if (fabs(gib - round(gib)) < 1e-9)
        snprintf(buf, n, "%.0fGiB", gib);
    else
        snprintf(buf, n, "%.0fMiB", round(gib * 1024));
}

/* The pin's cpu and memory must be the offering's own (the first cloud that
 * sells the name: the clouds' names do not overlap). */
static void check_shape(mk_diag *diag, const mk_instance *in, const mk_value *pin, int vcpu, double gib)
{
    const mk_value *cpu = mk_v_get_text(in->attrs, "cpu"), *mem = mk_v_get_text(in->attrs, "memory");
    if (!cpu || cpu->kind != MK_V_INT || !mem || mem->kind != MK_V_SIZE)
        return; /* not known yet: nothing to compare */
    bool cpu_ok = cpu->u.i == vcpu, mem_ok = fabs((double)mem->u.i / GIB - gib) < 1e-3;
    if (cpu_ok && mem_ok)
        return;
    char want[32], have[32];
    size_words(gib, want, sizeof want);
    size_words((double)mem->u.i / GIB, have, sizeof have);
    mk_diag_item *d = mk_diag_error(diag, "E0404", pin_at(in), "%s: instance_type `%.*s` has %d vCPU and %s, not %lld vCPU and %s",
                                    in->address, (int)pin->n, pin->u.s, vcpu, want, (long long)cpu->u.i, have);
    mk_diag_help(d, "write cpu = %d and memory = %s (a pinned compute's size is its type's)", vcpu, want);
}

bool mk_pin_check(mk_cost_catalog *cat, const mk_program *p)
{
    int before = mk_diag_errors(p->diag);
    for (size_t i = 0; i < p->ninstances; i++) {
        const mk_instance *in = p->instances[i];
        if (!in->failed && strcmp(in->res->type, "volume") == 0)
            unknown_disk(cat, p->diag, in);
        if (in->failed || strcmp(in->res->type, "compute") != 0)
            continue;
        unknown_disk(cat, p->diag, in);
        const mk_value *pin = pin_of(in->attrs);
        if (!pin || pin->kind != MK_V_STRING || mk_offername_bad_bytes(p->diag, in, "instance_type", pin, pin_at(in)))
            continue;
        int vcpu = 0, ci = 0;
        double gib = 0;
        while (ci < MK_COST_NCLOUDS && mk_cost_offer_named(cat, ci, pin->u.s, pin->n, &vcpu, &gib) < 0)
            ci++;
        if (ci == MK_COST_NCLOUDS)
            unknown(cat, p->diag, in, pin);
        else
            check_shape(p->diag, in, pin, vcpu, gib);
    }
    return mk_diag_errors(p->diag) == before;
}
