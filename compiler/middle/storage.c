/* storage — disks and buckets priced as lines from one cloud's catalog
 * entries (storage.h). What a disk or a bucket is billed for, and where a
 * figure comes from, is docs/cost.md "Storage" and the catalogs' notes; this
 * file only reads the entries. It is not for placement (place.c) nor for
 * money arithmetic (cost.c rounds each line once, note [money]). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "compiler/middle/storage.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

/* ---- reading figures and values ---- */

/* A figure of a catalog: a number for every region, an array in the order of
 * `regions`, or an object keyed by region (a figure a source gives for some
 * regions only). null or absent: no figure there. */
static bool fig(json_t *f, const mk_storage_where *w, double *out)
{
    json_t *v = json_is_array(f) ? json_array_get(f, (size_t)w->ri) : json_is_object(f) ? json_object_get(f, w->region) : f;
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

static double num_of(json_t *o, const char *key, double def)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

bool mk_storage_number(const mk_value *v, double *out)
{
    if (!v)
        return false;
    switch (v->kind) {
    case MK_V_INT: case MK_V_SIZE: *out = (double)v->u.i; return true;
    case MK_V_NUMBER: *out = v->u.d; return true;
    default: return false;
    }
}


/* usage.NAME in its billing unit (GiB for sizes), 0 when not given */
static double use(const mk_value *u, const char *name, double unit)
{
    double x;
    return mk_storage_number(mk_v_get_text(u, name), &x) ? x / unit : 0;
}

/* A string attribute NUL-terminated in buf (names of classes and disks are
 * short; a longer one matches nothing), NULL when null. Pricing runs for
 * every resource at every candidate place: nothing is allocated here. */
typedef char name_buf[64];

static const char *text(name_buf buf, const mk_value *attrs, const char *name)
{
    const mk_value *v = mk_v_get_text(attrs, name);
    if (!v || v->kind != MK_V_STRING)
        return NULL;
    size_t n = v->n < sizeof(name_buf) - 1 ? v->n : sizeof(name_buf) - 1;
    memcpy(buf, v->u.s, n);
    buf[n] = 0;
    return buf;
}

static const char *jstr(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

static bool same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static void add(mk_storage_bill *b, double unit, double qty)
{
    if (qty == 0 || b->n >= MK_STORAGE_LINES)
        return;
    b->line[b->n++] = (mk_storage_line){unit, qty};
}

/* Set why this cloud cannot sell it here; false, for `return refuse(…)`. */
static bool refuse(const mk_storage_where *w, mk_storage_bill *b, mk_storage_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool refuse(const mk_storage_where *w, mk_storage_bill *b, mk_storage_status st, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    b->status = st;
    b->why = mk_arena_strndup(w->arena, why, strlen(why));
    return false;
}

/* ---- disks ---- */

/* What a volume asks: its size (GiB), and provisioned IOPS and MiB/s (-1: none). */
typedef struct disk_ask {
    const char *disk_type, *cls;
    double gib, iops, mbps;
} disk_ask;

/* Azure bills its disks by size tier: the smallest tier that holds the disk,
 * at the tier's monthly price. A tier no source prices is billed at the
 * entry's per-GiB rate times the tier's size, and the bill says so, unless
 * the entry is billed that way by its cloud (`per_gib_tiers`: Ultra Disk). */
static bool tiered(const mk_storage_where *w, json_t *e, const disk_ask *a, mk_storage_bill *b)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(e, "tiers"), i, t) {
        double gib = json_number_value(json_array_get(t, 0)), p;
        if (gib + 1e-9 < a->gib)
            continue;
        const char *tier = json_string_value(json_array_get(t, 1));
        if (json_is_number(json_array_get(t, 2))) {
            add(b, json_number_value(json_array_get(t, 2)), 1);
        } else if (fig(json_object_get(e, "gb_month"), w, &p)) {
            add(b, p, gib);
            if (!json_is_true(json_object_get(e, "per_gib_tiers")))
                b->why = mk_arena_printf(w->arena, "%s tier %s (%g GiB): no source prices this tier, billed at the entry's $%g a GiB-month",
                                     jstr(e, "disk_type"), tier, gib, p);
        } else {
            return refuse(w, b, MK_STORAGE_NOT_HERE, "no %s price in %s", jstr(e, "disk_type"), w->region);
        }
        return true;
    }
    /* not sold this large here: out of the candidates, never free */
    return refuse(w, b, MK_STORAGE_NOT_HERE, "%g GiB is larger than the largest %s tier", a->gib, jstr(e, "disk_type"));
}

/* Provisioned performance (IOPS or MiB/s) beyond what the disk includes.
 * The entry's spec: `free` included, `per_gb` included per GiB, `max`, and
 * `month` the price of each unit above what is included (absent: none sold). */
static bool perf(const mk_storage_where *w, json_t *e, const char *key, double want, double gib, mk_storage_bill *b)
{
    json_t *s = json_object_get(e, key);
    double price, max, included;
    const char *what = strcmp(key, "iops") == 0 ? "IOPS" : "MiB/s of throughput";
    if (want < 0)
        return true;
    if (!s)
        return refuse(w, b, MK_STORAGE_NOT_HERE, "%s does not sell provisioned %s", jstr(e, "disk_type"), what);
    included = num_of(s, "free", 0);
    if (num_of(s, "per_gb", 0) * gib > included)
        included = num_of(s, "per_gb", 0) * gib;
    max = num_of(s, "max", 1e18);
    if (want > max)
        return refuse(w, b, MK_STORAGE_NOT_HERE, "%s gives at most %g %s, %g asked", jstr(e, "disk_type"), max, what, want);
    if (want <= included)
        return true;
    if (!json_object_get(s, "month"))
        return refuse(w, b, MK_STORAGE_NOT_HERE, "%s of %g GiB gives %g %s, %g asked", jstr(e, "disk_type"), gib, included, what, want);
    if (!fig(json_object_get(s, "month"), w, &price))
        return refuse(w, b, MK_STORAGE_NOT_HERE, "no price for %s %s in %s (no source for this region)", jstr(e, "disk_type"), what, w->region);
    add(b, price, want - included);
    return true;
}

/* One disk entry's lines for what is asked; false (b says why) when it
 * cannot serve it here. */
static bool disk_lines(const mk_storage_where *w, json_t *e, const disk_ask *a, mk_storage_bill *b)
{
    double p;
    b->offering = jstr(e, "offering");
    if (json_object_get(e, "tiers")) {
        if (!tiered(w, e, a, b))
            return false;
    } else if (fig(json_object_get(e, "gb_month"), w, &p)) {
        add(b, p, a->gib);
    } else {
        return refuse(w, b, MK_STORAGE_NOT_HERE, "no source prices %s in %s (%s)", jstr(e, "disk_type") ?: b->offering, w->region,
                      jstr(w->doc, "storage_regions") ?: jstr(e, "note") ?: "none");
    }
    return perf(w, e, "iops", a->iops, a->gib, b) && perf(w, e, "throughput", a->mbps, a->gib, b);
}

static double total(const mk_storage_bill *b)
{
    double t = 0;
    for (int i = 0; i < b->n; i++)
        t += b->line[i].unit * b->line[i].qty;
    return t;
}

static json_t *entry_for(json_t *list, const char *disk_type)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
        if (same(jstr(e, "disk_type"), disk_type))
            return e;
    return NULL;
}

/* The pinned disk, or the cheapest disk of the class that serves the ask
 * (ties to the entry listed first). */
static mk_storage_bill disk(const mk_storage_where *w, const disk_ask *a)
{
    json_t *list = json_object_get(w->doc, "volume"), *e;
    mk_storage_bill best = {MK_STORAGE_NOT_HERE, NULL, NULL, {{0, 0}}, 0}, b;
    size_t i;
    if (a->disk_type) {
        if (!(e = entry_for(list, a->disk_type))) {
            refuse(w, &best, MK_STORAGE_NOT_HERE, "%s sells no disk_type %s", w->cloud, a->disk_type);
            return best;
        }
        best.status = MK_STORAGE_PRICED;
        disk_lines(w, e, a, &best);
        return best;
    }
    best.why = mk_arena_printf(w->arena, "no %s disk in %s", a->cls, w->region);
    json_array_foreach(list, i, e) {
        b = (mk_storage_bill){MK_STORAGE_PRICED, NULL, NULL, {{0, 0}}, 0};
        if (!same(jstr(e, "class"), a->cls) || !disk_lines(w, e, a, &b))
            continue;
        if (best.status != MK_STORAGE_PRICED || total(&b) < total(&best))
            best = b;
    }
    return best;
}

mk_storage_bill mk_storage_volume(const mk_storage_where *w, const mk_value *attrs, const mk_value *usage)
{
    name_buf dt, cl;
    disk_ask a = {text(dt, attrs, "disk_type"), text(cl, attrs, "class") ?: "ssd", 0, -1, -1};
    mk_storage_bill b = {MK_STORAGE_UNPRICED, NULL, "size is not known", {{0, 0}}, 0};
    double snaps = use(usage, "snapshots", GIB), p;
    if (!mk_storage_number(mk_v_get_text(attrs, "size"), &a.gib))
        return b;
    a.gib /= GIB;
    mk_storage_number(mk_v_get_text(attrs, "iops"), &a.iops);
    mk_storage_number(mk_v_get_text(attrs, "throughput"), &a.mbps);
    b = disk(w, &a);
    if (b.status != MK_STORAGE_PRICED || snaps <= 0)
        return b;
    if (!fig(json_object_get(w->doc, "snapshot_gb_month"), w, &p)) {
        refuse(w, &b, MK_STORAGE_NOT_HERE, "no snapshot price for %s in %s (no source for this region)", w->cloud, w->region);
        return b;
    }
    add(&b, p, snaps);
    return b;
}

/* note [root disk elsewhere]: where no source prices the cloud's disks (AWS
 * beyond us-east-1) a root disk is billed at its catalog's default region's
 * rate, and the quote says so: a compute is not taken out of a region for
 * want of a few dollars of disk figures, nor is its disk counted as free.
 * A volume, which is all disk, is not a candidate there (disk_lines). */
static bool root_elsewhere(const mk_storage_where *w, const disk_ask *a, mk_storage_bill *d)
{
    const char *home = jstr(w->doc, "default_region");
    json_t *r;
    size_t i;
    if (!home || same(home, w->region) || !entry_for(json_object_get(w->doc, "volume"), a->disk_type))
        return false;
    json_array_foreach(json_object_get(w->doc, "regions"), i, r) {
        if (!same(json_string_value(r), home))
            continue;
        mk_storage_where at = *w;
        at.region = home, at.ri = (int)i;
        mk_storage_bill h = disk(&at, a);
        if (h.status != MK_STORAGE_PRICED)
            return false;
        h.why = mk_arena_printf(w->arena, "its %s root disk is billed at %s's rate: no source prices %s in %s", a->disk_type, home,
                                a->disk_type, w->region);
        *d = h;
        return true;
    }
    return false;
}

bool mk_storage_root(const mk_storage_where *w, const mk_value *attrs, mk_storage_bill *b)
{
    name_buf dt;
    disk_ask a = {text(dt, attrs, "disk_type") ?: jstr(w->doc, "root_disk"), NULL, 20, -1, -1};
    if (mk_storage_number(mk_v_get_text(attrs, "disk"), &a.gib))
        a.gib /= GIB;
    if (!a.disk_type)
        return refuse(w, b, MK_STORAGE_NOT_HERE, "the %s catalog names no root disk", w->cloud);
    mk_storage_bill d = disk(w, &a);
    if (d.status != MK_STORAGE_PRICED && !root_elsewhere(w, &a, &d))
        return refuse(w, b, d.status, "its root disk: %s", d.why);
    for (int i = 0; i < d.n; i++)
        add(b, d.line[i].unit, d.line[i].qty);
    if (d.why)
        b->why = d.why;
    return true;
}

bool mk_storage_sells(json_t *doc, const char *disk_type, const char **closest)
{
    json_t *list = json_object_get(doc, "volume"), *e;
    const char *names[64];
    size_t i, n = 0;
    json_array_foreach(list, i, e)
        if (jstr(e, "disk_type") && n < sizeof names / sizeof *names)
            names[n++] = jstr(e, "disk_type");
    *closest = NULL;
    if (entry_for(list, disk_type))
        return true;
    *closest = mk_diag_suggest(disk_type, names, n);
    return false;
}

/* ---- buckets ---- */

/* Storage priced by volume tier: `tiers` [[up_to_GiB or null, figure], …],
 * each tier billing the GiB that fall in it; else one `gb_month`. */
static bool stored_lines(const mk_storage_where *w, json_t *e, double gib, mk_storage_bill *b)
{
    json_t *tiers = json_object_get(e, "tiers"), *t;
    double from = 0, p;
    size_t i;
    if (!tiers)
        return fig(json_object_get(e, "gb_month"), w, &p) ? (add(b, p, gib), true) : false;
    json_array_foreach(tiers, i, t) {
        json_t *upto = json_array_get(t, 0);
        double to = json_is_number(upto) ? json_number_value(upto) : 1e300;
        if (from >= gib)
            break;
        if (!fig(json_array_get(t, 1), w, &p))
            return false;
        add(b, p, (gib < to ? gib : to) - from);
        from = to;
    }
    return true;
}

/* Request lines: `write_1k` (PUT, COPY, POST, LIST; class A; write and list
 * operations) per thousand `requests`, `read_1k` (GET and the rest; class B)
 * per thousand `reads`. */
static bool request_lines(const mk_storage_where *w, json_t *e, const mk_storage_bucket_ask *a, mk_storage_bill *b)
{
    const double n[2] = {a->requests / 1000, a->reads / 1000};
    static const char *const keys[2] = {"write_1k", "read_1k"};
    for (int k = 0; k < 2; k++) {
        double p;
        if (n[k] <= 0)
            continue;
        if (!fig(json_object_get(e, keys[k]), w, &p))
            return refuse(w, b, MK_STORAGE_NOT_HERE, "no %s price for %s in %s", k ? "read" : "request", jstr(e, "offering"), w->region);
        add(b, p, n[k]);
    }
    return true;
}

/* Egress by volume tier (`egress_tiers` of the catalog, [[up_to_GiB or null,
 * $/GB], …]), else the flat rate. */
static void egress_lines(const mk_storage_where *w, double gib, double egress_gb, mk_storage_bill *b)
{
    json_t *tiers = json_object_get(w->doc, "egress_tiers"), *t;
    double from = 0;
    size_t i;
    if (!tiers) {
        add(b, egress_gb, gib);
        return;
    }
    json_array_foreach(tiers, i, t) {
        json_t *upto = json_array_get(t, 0);
        double to = json_is_number(upto) ? json_number_value(upto) : 1e300;
        if (from >= gib)
            break;
        add(b, json_number_value(json_array_get(t, 1)), (gib < to ? gib : to) - from);
        from = to;
    }
}

/* The cheapest entry of the class for the amount stored, at the redundancy
 * asked (red; an entry without one has the catalog's `bucket_redundancy`),
 * or, when none is asked (red NULL), at any the class has. */
static json_t *bucket_entry(const mk_storage_where *w, const char *cls, const char *red, double gib)
{
    json_t *best = NULL, *e;
    double bp = 0;
    size_t i;
    json_array_foreach(json_object_get(w->doc, "bucket"), i, e) {
        mk_storage_bill b = {0};
        if (!same(jstr(e, "class"), cls) || (red && !same(jstr(e, "redundancy") ?: jstr(w->doc, "bucket_redundancy"), red)) ||
            !stored_lines(w, e, gib > 0 ? gib : 1, &b))
            continue;
        if (!best || total(&b) < bp)
            best = e, bp = total(&b);
    }
    return best;
}

void mk_storage_bucket_ask_of(const mk_value *attrs, const mk_value *usage, mk_storage_bucket_ask *a)
{
    const char *cls, *red;
    name_buf cb, rb;
    memset(a, 0, sizeof *a);
    cls = text(cb, attrs, "storage_class") ?: "standard";
    red = text(rb, attrs, "redundancy") ?: "";
    memcpy(a->cls, cls, strnlen(cls, sizeof a->cls - 1));
    memcpy(a->red, red, strnlen(red, sizeof a->red - 1));
    a->gib = use(usage, "stored", GIB);
    a->egress = use(usage, "egress", GIB);
    a->requests = use(usage, "requests", 1);
    a->reads = use(usage, "reads", 1);
}

mk_storage_bill mk_storage_bucket(const mk_storage_where *w, const mk_storage_bucket_ask *a, double egress_gb)
{
    const char *cls = a->cls, *red = a->red[0] ? a->red : NULL;
    mk_storage_bill b = {MK_STORAGE_PRICED, NULL, NULL, {{0, 0}}, 0};
    /* the cloud's default redundancy first; a class sold at another only (One Zone-IA) still serves */
    json_t *e = bucket_entry(w, cls, red ?: jstr(w->doc, "bucket_redundancy"), a->gib) ?: (red ? NULL : bucket_entry(w, cls, NULL, a->gib));
    if (!e) {
        refuse(w, &b, MK_STORAGE_NOT_HERE, "no source prices a %s bucket of class %s with %s redundancy in %s%s%s%s", w->cloud, cls,
               red ?: "its default", w->region, jstr(w->doc, "storage_regions") ? " (" : "", jstr(w->doc, "storage_regions") ?: "",
               jstr(w->doc, "storage_regions") ? ")" : "");
        return b;
    }
    b.offering = jstr(e, "offering");
    stored_lines(w, e, a->gib, &b);
    if (request_lines(w, e, a, &b))
        egress_lines(w, a->egress, egress_gb, &b);
    return b;
}
