/* cost — price catalogs, pricing of one instance, and placement of groups.
 * The rules are written down in docs/cost.md; the catalogs' format in
 * stdlib/pricing/README.md. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/middle/cost.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/base/jsonfile.h"
#include "compiler/base/state.h"
#include "compiler/front/vjson.h"

#define HOURS 730.0
#define GIB (1024.0 * 1024.0 * 1024.0)
#define NCLOUDS 3

static const char *const CLOUDS[NCLOUDS] = {"aws", "gcp", "azure"};

typedef struct offer {
    const char *name;
    int vcpu;
    double mem;
    bool arm, shared;
    json_t *hour; /* per region, null for none */
} offer;

typedef struct store {
    const char *name, *cls;
    json_t *gb_month; /* number (every region) or array per region */
} store;

typedef struct cloudcat {
    const char *cloud, *default_region;
    json_t *doc, *regions, *free;
    offer *offers;
    size_t noffers;
    json_t *volume, *bucket, *db, *lb, *dns, *queue;
    double egress;
    mk_arena *arena; /* the catalog's: explanations */
} cloudcat;

/* Compute lookups repeat (a stack has many instances of a few shapes): the
 * answer per (cloud, region, shape) is cached. */
typedef struct ckey {
    int cloud, region, vcpu;
    double mem;
    bool arm, shared;
    long offer; /* the answer: index, or -1 */
    bool used;
} ckey;

typedef struct typeslots {
    const struct mk_type *ty;
    uint32_t idx[16], n;
} typeslots;

struct mk_cost_catalog {
    cloudcat c[NCLOUDS];
    typeslots types[32];
    json_t *opencost;
    mk_arena *arena;
    ckey *cache;
    size_t ccap, cn;
};

/* ---- loading ---- */

static bool load_offers(cloudcat *cc)
{
    json_t *arr = json_object_get(cc->doc, "compute"), *o;
    size_t i;
    if (!json_is_array(arr))
        return false;
    cc->offers = mk_mem_calloc(json_array_size(arr) + 1, sizeof *cc->offers);
    json_array_foreach(arr, i, o) {
        offer *f = &cc->offers[cc->noffers];
        const char *arch = json_string_value(json_array_get(o, 3));
        f->name = json_string_value(json_array_get(o, 0));
        f->vcpu = (int)json_integer_value(json_array_get(o, 1));
        f->mem = json_number_value(json_array_get(o, 2));
        f->arm = arch && strcmp(arch, "arm64") == 0;
        f->shared = json_is_true(json_array_get(o, 4));
        f->hour = json_array_get(o, 5);
        if (!f->name || !arch || !json_is_array(f->hour) || json_array_size(f->hour) != json_array_size(cc->regions))
            return false;
        cc->noffers++;
    }
    return true;
}

static bool load_cloud(cloudcat *cc, const char *dir, const char *cloud, mk_diag *diag)
{
    char path[4096];
    char why[600];
    snprintf(path, sizeof path, "%s/stdlib/pricing/%s.json", dir, cloud);
    cc->doc = mk_jsonfile_load(path, 0, why, sizeof why);
    if (!cc->doc) {
        mk_diag_error(diag, "E0400", MK_NOSPAN, "price catalog %s", why);
        return false;
    }
    cc->cloud = cloud;
    cc->default_region = json_string_value(json_object_get(cc->doc, "default_region"));
    cc->regions = json_object_get(cc->doc, "regions");
    cc->free = json_object_get(cc->doc, "free");
    cc->volume = json_object_get(cc->doc, "volume");
    cc->bucket = json_object_get(cc->doc, "bucket");
    cc->db = json_object_get(cc->doc, "database");
    cc->lb = json_object_get(cc->doc, "load_balancer");
    cc->dns = json_object_get(cc->doc, "dns_record");
    cc->queue = json_object_get(cc->doc, "queue");
    cc->egress = json_number_value(json_object_get(cc->doc, "egress_gb"));
    if (!cc->default_region || !json_is_array(cc->regions) || !load_offers(cc)) {
        mk_diag_error(diag, "E0400", MK_NOSPAN, "price catalog %s is not a moksha.pricing/v1 catalog", path);
        return false;
    }
    return true;
}

mk_cost_catalog *mk_cost_load(const char *share_dir, mk_diag *diag)
{
    mk_cost_catalog *cat = mk_mem_calloc(1, sizeof *cat);
    bool ok = true;
    cat->arena = mk_arena_new();
    for (int i = 0; i < NCLOUDS; i++) {
        cat->c[i].arena = cat->arena;
        ok = load_cloud(&cat->c[i], share_dir, CLOUDS[i], diag) && ok;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/stdlib/pricing/opencost.json", share_dir);
    char why[600];
    cat->opencost = mk_jsonfile_load(path, 0, why, sizeof why);
    if (!cat->opencost) {
        mk_diag_error(diag, "E0400", MK_NOSPAN, "price catalog %s", why);
        ok = false;
    }
    if (!ok) {
        mk_cost_free(cat);
        return NULL;
    }
    return cat;
}

void mk_cost_free(mk_cost_catalog *cat)
{
    if (!cat)
        return;
    for (int i = 0; i < NCLOUDS; i++) {
        mk_mem_free(cat->c[i].offers);
        json_decref(cat->c[i].doc);
    }
    json_decref(cat->opencost);
    mk_arena_free(cat->arena);
    mk_mem_free(cat->cache);
    mk_mem_free(cat);
}

/* ---- lookups ---- */

static int cloud_index(const char *cloud)
{
    for (int i = 0; cloud && i < NCLOUDS; i++)
        if (strcmp(CLOUDS[i], cloud) == 0)
            return i;
    return -1;
}

static int region_index(const cloudcat *cc, const char *region)
{
    /* placement hands back the catalog's own strings: pointers first */
    for (size_t i = 0; region && i < json_array_size(cc->regions); i++)
        if (json_string_value(json_array_get(cc->regions, i)) == region)
            return (int)i;
    for (size_t i = 0; region && i < json_array_size(cc->regions); i++)
        if (strcmp(json_string_value(json_array_get(cc->regions, i)), region) == 0)
            return (int)i;
    return -1;
}

/* A per-region figure: a number for every region, or an array (null: none). */
static bool figure(json_t *f, int region, double *out)
{
    json_t *v = json_is_array(f) ? json_array_get(f, (size_t)region) : f;
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

static mk_value *attr(const mk_value *map, const char *name)
{
    for (uint32_t i = 0; map && map->kind == MK_V_MAP && i < map->n; i++)
        if (strcmp(map->u.map.keys[i], name) == 0)
            return map->u.map.vals[i];
    return NULL;
}

static bool num(const mk_value *v, double *out)
{
    if (!v)
        return false;
    switch (v->kind) {
    case MK_V_INT: case MK_V_SIZE: *out = (double)v->u.i; return true;
    case MK_V_NUMBER: *out = v->u.d; return true;
    default: return false;
    }
}

static bool flag(const mk_value *v) { return v && v->kind == MK_V_BOOL && v->u.b; }

static bool is_str(const mk_value *v, const char *s)
{
    return v && v->kind == MK_V_STRING && v->n == strlen(s) && memcmp(v->u.s, s, v->n) == 0;
}

/* usage.NAME in the unit it is billed in, or the type's default. */
static double usage(const mk_value *u, const char *name, double def, double unit)
{
    double x;
    return num(attr(u, name), &x) ? x / unit : def;
}

/* ---- pricing per type ---- */

typedef struct spec {
    const char *type;
    const mk_value *attrs, *usage;
    /* a compute's shape, read once (spec_of): placement prices it in every candidate */
    bool shaped, sized, arm, shared;
    double cpu, mem, hours;
} spec;

static spec spec_of(const char *type, const mk_value *attrs, const mk_value *usage_v)
{
    spec s = {type, attrs, usage_v, .shaped = true};
    if (strcmp(type, "compute") == 0) {
        s.sized = num(attr(attrs, "cpu"), &s.cpu) && num(attr(attrs, "memory"), &s.mem);
        s.arm = is_str(attr(attrs, "arch"), "arm64");
        s.shared = flag(attr(attrs, "shared_core"));
        s.hours = usage(usage_v, "hours", HOURS, 1);
    }
    return s;
}

/* Explanations live in the catalog's arena: a quote is small and copied by value. */
#define set_why(ar, q, st, ...) ((q)->status = (st), (q)->why = mk_arena_printf((ar), __VA_ARGS__))

/* A price is the sum of its lines, each a catalog's unit price times a
 * quantity, rounded once to the micro-dollar (note [money]); the sum is
 * exact. A line or a sum out of range leaves the resource unpriced. */
typedef struct bill {
    mk_money sum;
    bool bad;
} bill;

#define MAX_MONTHLY (INT64_C(1000000000) * MK_MONEY_UNIT) /* $1e9 a month: no price, a mistake */

static void line(bill *b, double unit_usd, double qty)
{
    mk_money m = 0;
    b->bad |= !mk_money_of(unit_usd, qty, &m) || !mk_money_add(b->sum, m, &b->sum);
}

static void charge(mk_cost_quote *q, bill b)
{
    if (b.bad || b.sum > MAX_MONTHLY || b.sum < -MAX_MONTHLY) {
        q->status = MK_COST_UNPRICED;
        q->why = "its price is out of range (over $1,000,000,000 a month): check its sizes and usage";
        return;
    }
    q->monthly = b.sum;
}

static size_t ckey_hash(const ckey *k)
{
    uint64_t h = ((uint64_t)k->cloud * 31 + (uint64_t)k->region) * 1000003u + (uint64_t)k->vcpu;
    h = h * 1000003u + (uint64_t)(k->mem * 1024) + (k->arm ? 7 : 0) + (k->shared ? 13 : 0);
    return (size_t)(h * 0x9E3779B97F4A7C15u >> 20);
}

static bool ckey_same(const ckey *a, const ckey *b)
{
    return a->cloud == b->cloud && a->region == b->region && a->vcpu == b->vcpu && a->mem == b->mem &&
           a->arm == b->arm && a->shared == b->shared;
}

static void cache_put(mk_cost_catalog *cat, const ckey *k);

static void cache_grow(mk_cost_catalog *cat)
{
    ckey *old = cat->cache;
    size_t n = cat->ccap;
    cat->ccap = n ? n * 2 : 256;
    cat->cache = mk_mem_calloc(cat->ccap, sizeof *cat->cache);
    cat->cn = 0;
    for (size_t i = 0; i < n; i++)
        if (old[i].used)
            cache_put(cat, &old[i]);
    mk_mem_free(old);
}

static void cache_put(mk_cost_catalog *cat, const ckey *k)
{
    if (2 * (cat->cn + 1) > cat->ccap)
        cache_grow(cat);
    size_t s = ckey_hash(k) & (cat->ccap - 1);
    while (cat->cache[s].used)
        s = (s + 1) & (cat->ccap - 1);
    cat->cache[s] = *k;
    cat->cn++;
}

static long find_offer(mk_cost_catalog *cat, int ci, int ri, int vcpu, double mem, bool arm, bool shared)
{
    ckey want = {ci, ri, vcpu, mem, arm, shared, -1, true};
    for (size_t s = cat->ccap ? ckey_hash(&want) & (cat->ccap - 1) : 0; cat->ccap && cat->cache[s].used;
         s = (s + 1) & (cat->ccap - 1))
        if (ckey_same(&cat->cache[s], &want))
            return cat->cache[s].offer;
    const cloudcat *cc = &cat->c[ci];
    long best = -1;
    double bp = 0, p;
    for (size_t i = 0; i < cc->noffers; i++) {
        const offer *f = &cc->offers[i];
        if (f->vcpu < vcpu || f->mem + 1e-9 < mem || f->arm != arm || (f->shared && !shared))
            continue;
        if (!figure(f->hour, ri, &p))
            continue;
        /* ties go to the name that sorts first, so the answer never depends on catalog order */
        if (best < 0 || p < bp || (p == bp && strcmp(f->name, cc->offers[best].name) < 0))
            best = (long)i, bp = p;
    }
    want.offer = best;
    cache_put(cat, &want);
    return best;
}

static void price_compute(mk_cost_catalog *cat, const spec *s, int ci, int ri, mk_cost_quote *q)
{
    double cpu = s->cpu, mem = s->mem, p = 0;
    if (!s->sized) {
        set_why(cat->arena, q, MK_COST_UNPRICED, "cpu or memory is not known");
        return;
    }
    bool arm = s->arm, shared = s->shared;
    long o = find_offer(cat, ci, ri, (int)cpu, mem / GIB, arm, shared);
    if (o < 0) {
        set_why(cat->arena, q, MK_COST_NOT_HERE, "no %s%s offering with >= %d vCPU and >= %g GiB in %s", arm ? "arm64" : "x86_64",
                 shared ? "" : " dedicated-core", (int)cpu, mem / GIB, q->region);
        return;
    }
    const offer *f = &cat->c[ci].offers[o];
    figure(f->hour, ri, &p);
    q->offering = f->name;
    bill b = {0};
    line(&b, p, s->hours); /* hourly × 730 × hours/730 */
    charge(q, b);
}

/* The cheapest entry of a store list (volume, bucket) for a class. */
static const char *cheapest_store(json_t *list, const char *cls, int ri, double *out)
{
    const char *best = NULL;
    size_t i;
    json_t *e;
    double p = 0;
    json_array_foreach(list, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "class")) ?: "", cls) != 0 ||
            !figure(json_object_get(e, "gb_month"), ri, &p))
            continue;
        if (!best || p < *out)
            best = json_string_value(json_object_get(e, "offering")), *out = p;
    }
    return best;
}

static const char *class_of(const mk_value *v, const char *def)
{
    static char buf[32];
    if (!v || v->kind != MK_V_STRING || v->n >= sizeof buf)
        return def;
    memcpy(buf, v->u.s, v->n);
    buf[v->n] = 0;
    return buf;
}

static void price_store(mk_cost_catalog *cat, const spec *s, int ci, int ri, mk_cost_quote *q, bool bucket)
{
    const cloudcat *cc = &cat->c[ci];
    const char *cls = class_of(attr(s->attrs, bucket ? "storage_class" : "class"), bucket ? "standard" : "ssd");
    double p = 0, gb;
    q->offering = cheapest_store(bucket ? cc->bucket : cc->volume, cls, ri, &p);
    if (!q->offering) {
        set_why(cat->arena, q, MK_COST_NOT_HERE, "no %s price for class %s", bucket ? "bucket" : "volume", cls);
        return;
    }
    bill b = {0};
    if (bucket) {
        double egress = cc->egress > 0 ? cc->egress : json_number_value(json_object_get(cat->opencost, "egress_gb"));
        line(&b, p, usage(s->usage, "stored", 0, GIB));
        line(&b, egress, usage(s->usage, "egress", 0, GIB));
        charge(q, b);
    } else if (num(attr(s->attrs, "size"), &gb)) {
        line(&b, p, gb / GIB);
        line(&b, p, usage(s->usage, "snapshots", 0, GIB));
        charge(q, b);
    } else {
        set_why(cat->arena, q, MK_COST_UNPRICED, "size is not known");
    }
}

static void price_database(const cloudcat *cc, const spec *s, mk_cost_quote *q)
{
    double cpu, mem, storage;
    if (!cc->db) {
        set_why(cc->arena, q, MK_COST_NOT_HERE, "no database prices for %s", cc->cloud);
        return;
    }
    if (!num(attr(s->attrs, "cpu"), &cpu) || !num(attr(s->attrs, "memory"), &mem) || !num(attr(s->attrs, "storage"), &storage)) {
        set_why(cc->arena, q, MK_COST_UNPRICED, "cpu, memory or storage is not known");
        return;
    }
    bill b = {0};
    line(&b, json_number_value(json_object_get(cc->db, "vcpu_hour")), cpu * HOURS);
    line(&b, json_number_value(json_object_get(cc->db, "gib_hour")), mem / GIB * HOURS);
    line(&b, json_number_value(json_object_get(cc->db, "storage_gb_month")), storage / GIB);
    /* a standby in a second zone doubles instance and storage */
    if (flag(attr(s->attrs, "multi_az")))
        b.bad |= !mk_money_mul_int(b.sum, 2, &b.sum);
    charge(q, b);
    q->offering = json_string_value(json_object_get(cc->db, "offering"));
}

static void price_lb(const cloudcat *cc, const spec *s, mk_cost_quote *q)
{
    if (!cc->lb) {
        set_why(cc->arena, q, MK_COST_NOT_HERE, "no load balancer prices for %s", cc->cloud);
        return;
    }
    q->offering = json_string_value(json_object_get(cc->lb, "offering"));
    bill b = {0};
    line(&b, json_number_value(json_object_get(cc->lb, "hour")), HOURS);
    line(&b, json_number_value(json_object_get(cc->lb, "gb")), usage(s->usage, "processed", 0, GIB));
    charge(q, b);
}

/* Billed by use: a record by its queries, a queue by its requests (a FIFO
 * queue at the cloud's FIFO offering when it has one). Nothing used, $0. */
static void price_by_use(const cloudcat *cc, const spec *s, mk_cost_quote *q, bool dns)
{
    json_t *e = dns ? cc->dns : cc->queue;
    if (!dns && flag(attr(s->attrs, "fifo")) && json_object_get(e, "fifo"))
        e = json_object_get(e, "fifo");
    if (!e) {
        set_why(cc->arena, q, MK_COST_UNPRICED, "the %s catalog has no prices for %s", cc->cloud, s->type);
        return;
    }
    q->offering = json_string_value(json_object_get(e, "offering"));
    bill b = {0};
    line(&b, json_number_value(json_object_get(e, "hour")), HOURS);
    line(&b, json_number_value(json_object_get(e, dns ? "query_million" : "request_million")),
         usage(s->usage, dns ? "queries" : "requests", 0, 1e6));
    charge(q, b);
}

/* Price a spec in region ri of cloud ci (indexes into the catalog). */
static mk_cost_quote price_at(mk_cost_catalog *cat, const spec *s, int ci, int ri)
{
    const cloudcat *cc = &cat->c[ci];
    mk_cost_quote q = {MK_COST_PRICED, cc->cloud, json_string_value(json_array_get(cc->regions, (size_t)ri)), NULL, 0, NULL};
    const char *free_why;
    if ((free_why = json_string_value(json_object_get(cc->free, s->type)))) {
        q.why = free_why;
    } else if (strcmp(s->type, "compute") == 0) {
        price_compute(cat, s, ci, ri, &q);
    } else if (strcmp(s->type, "volume") == 0 || strcmp(s->type, "bucket") == 0) {
        price_store(cat, s, ci, ri, &q, s->type[0] == 'b');
    } else if (strcmp(s->type, "database") == 0) {
        price_database(cc, s, &q);
    } else if (strcmp(s->type, "load_balancer") == 0) {
        price_lb(cc, s, &q);
    } else if (strcmp(s->type, "dns_record") == 0 || strcmp(s->type, "queue") == 0) {
        price_by_use(cc, s, &q, s->type[0] == 'd');
    } else {
        set_why(cat->arena, &q, MK_COST_UNPRICED, "the catalogs have no prices for %s", s->type);
    }
    return q;
}

static mk_cost_quote price_spec(mk_cost_catalog *cat, const spec *s, const char *cloud, const char *region)
{
    mk_cost_quote q = {MK_COST_PRICED, cloud, region, NULL, 0, NULL};
    if (strncmp(s->type, "local.", 6) == 0) {
        q.cloud = "local", q.region = NULL;
        q.why = "a file on this machine costs nothing";
        return q;
    }
    int ci = cloud_index(cloud);
    int ri = ci >= 0 ? region_index(&cat->c[ci], region) : -1;
    if (ri < 0) {
        set_why(cat->arena, &q, MK_COST_NOT_HERE, "%s has no prices for region %s", cloud ?: "?", region ?: "?");
        return q;
    }
    return price_at(cat, s, ci, ri);
}

mk_cost_quote mk_cost_price(mk_cost_catalog *cat, const mk_instance *in, const char *cloud, const char *region)
{
    spec s = spec_of(in->res->type, in->attrs, in->usage);
    return price_spec(cat, &s, cloud, region);
}

/* ---- applied state ---- */

/* State holds sizes as their literal text ("4GiB", docs/formats.md), which
 * mk_vjson_to leaves to its callers. */
static mk_value *state_size(mk_program *p, json_t *j)
{
    static const struct { const char *u; double f; } units[] = {
        {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", GIB}, {"TiB", GIB * 1024}, {"KB", 1e3}, {"MB", 1e6},
        {"GB", 1e9}, {"TB", 1e12}, {"B", 1}};
    const char *s = json_string_value(j);
    char *end;
    double x = s ? strtod(s, &end) : 0;
    for (size_t i = 0; s && end != s && i < sizeof units / sizeof *units; i++)
        if (strcmp(end, units[i].u) == 0)
            return mk_v_unit(&p->v, MK_V_SIZE, (int64_t)(x * units[i].f));
    return NULL;
}

/* The attributes pricing reads (price_* and spec_of); the state's others
 * (tags, user data, …) are not read back: a 100,000-resource state is priced
 * in a fifth of the time. */
static bool priced_attr(const char *name)
{
    static const char *const names[] = {"cpu", "memory", "arch", "shared_core", "size", "class", "storage_class",
                                        "storage", "multi_az", "fifo"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

static mk_value *state_attrs(mk_cost_catalog *cat, mk_program *p, const mk_type *ty, json_t *attrs)
{
    mk_vbuild b = {0};
    typeslots *ts = NULL; /* which fields of ty pricing reads, found once per type */
    for (size_t k = 0; ty && k < sizeof cat->types / sizeof *cat->types && !ts; k++)
        if (cat->types[k].ty == ty || !cat->types[k].ty)
            ts = &cat->types[k];
    if (ts && !ts->ty) {
        ts->ty = ty;
        for (uint32_t i = 0; i < ty->nfields && ts->n < sizeof ts->idx / sizeof *ts->idx; i++)
            if (priced_attr(ty->fields[i].name))
                ts->idx[ts->n++] = i;
    }
    for (uint32_t k = 0; ty && k < (ts ? ts->n : ty->nfields); k++) {
        uint32_t i = ts ? ts->idx[k] : k;
        if (!ts && !priced_attr(ty->fields[i].name))
            continue;
        json_t *j = json_object_get(attrs, ty->fields[i].name);
        mk_value *v = !j ? NULL : ty->fields[i].type->kind == MK_T_SIZE ? state_size(p, j) : mk_vjson_to(&p->v, j, ty->fields[i].type);
        if (v)
            mk_vb_push(&p->v, &b, ty->fields[i].name, v);
    }
    return mk_vb_map(&p->v, &b);
}

static const mk_instance *desired(mk_program *p, const char *address)
{
    return mk_program_instance(p, address);
}

static mk_cost_quote price_state(mk_cost_catalog *cat, mk_program *p, json_t *sres, const mk_instance *like)
{
    const char *type = json_string_value(json_object_get(sres, "type")) ?: "";
    json_t *pl = json_object_get(sres, "placement");
    const mk_type *ty = like ? like->res->schema : mk_type_lookup(p->types, mk_intern_s(p->v.names, type));
    spec s = spec_of(type, state_attrs(cat, p, ty, json_object_get(sres, "attributes")), like ? like->usage : NULL);
    return price_spec(cat, &s, json_string_value(json_object_get(pl, "cloud")), json_string_value(json_object_get(pl, "region")));
}

mk_cost_quote mk_cost_price_state(mk_cost_catalog *cat, mk_program *p, json_t *sres)
{
    return price_state(cat, p, sres, desired(p, json_string_value(json_object_get(sres, "address")) ?: ""));
}

/* ---- placement ----
 * note [placement groups]: instances tied by a @colocate reference (a compute
 * and its network, a volume and its compute) form one group, found with a
 * union-find over those references. Every member with a `placement` block
 * narrows the candidates: its providers, and for each cloud its regions that
 * the cloud has (placement.regions may mix clouds' names) or, naming none of
 * that cloud's, the cloud's default region. A member without a block follows
 * the stack's default, else its group, else it narrows nothing; a group
 * nothing narrows goes to the cheapest of every cloud's default region. A
 * candidate where any member has no offering is not one. */

static size_t uf_find(size_t *up, size_t i)
{
    while (up[i] != i)
        i = up[i] = up[up[i]];
    return i;
}

/* Instances keep no index of their own: an open-addressing table maps an
 * instance pointer to its position. */
static size_t slot_of(const void *ptr, size_t mask)
{
    return (size_t)(((uintptr_t)ptr >> 4) * 0x9E3779B97F4A7C15u) & mask;
}

static void union_colocated(const mk_cost_report *r, size_t *up)
{
    size_t cap = 16;
    while (cap < 2 * r->nitems)
        cap *= 2;
    size_t *tab = mk_mem_alloc(cap * sizeof *tab);
    memset(tab, 0xff, cap * sizeof *tab);
    for (size_t i = 0; i < r->nitems; i++) {
        size_t s = slot_of(r->items[i].in, cap - 1);
        while (tab[s] != SIZE_MAX)
            s = (s + 1) & (cap - 1);
        tab[s] = i;
    }
    for (size_t i = 0; i < r->nitems; i++) {
        const mk_instance *in = r->items[i].in;
        const mk_type *ty = in->res->schema;
        for (uint32_t f = 0; ty && f < ty->nfields; f++) {
            mk_value *v = (ty->fields[f].flags & MK_ANN_COLOCATE) ? attr(in->attrs, ty->fields[f].name) : NULL;
            if (!v || v->kind != MK_V_RESOURCE)
                continue;
            for (size_t s = slot_of(v->u.res, cap - 1); tab[s] != SIZE_MAX; s = (s + 1) & (cap - 1))
                if (r->items[tab[s]].in == v->u.res) {
                    up[uf_find(up, i)] = uf_find(up, tab[s]);
                    break;
                }
        }
    }
    mk_mem_free(tab);
}

/* allowed[c][r]: 1 allowed, 0 not; narrowed[c]: some member named regions of c */
typedef struct allow {
    bool cloud[NCLOUDS], narrowed[NCLOUDS];
    unsigned char *region[NCLOUDS];
    const mk_value *extra[NCLOUDS]; /* a placement.regions naming regions of the cloud */
} allow;

static bool list_has(const mk_value *list, const char *s)
{
    for (uint32_t i = 0; list && list->kind == MK_V_LIST && i < list->n; i++)
        if (is_str(list->u.items[i], s))
            return true;
    return false;
}

/* Which cloud a region name belongs to: the catalog that lists it, else the
 * naming rule of each cloud (eu-west-1, europe-west1, westeurope), so that a
 * region without prices is still a candidate that the explanation rejects. */
static int region_cloud(const mk_cost_catalog *cat, const char *rn)
{
    for (int c = 0; c < NCLOUDS; c++)
        if (region_index(&cat->c[c], rn) >= 0)
            return c;
    size_t n = strlen(rn), dashes = 0;
    for (size_t i = 0; i < n; i++)
        dashes += rn[i] == '-';
    if (n && rn[n - 1] >= '0' && rn[n - 1] <= '9' && n > 1 && rn[n - 2] == '-')
        return 0;
    if (dashes == 1)
        return 1;
    return dashes == 0 ? 2 : -1;
}

static void narrow(const mk_cost_catalog *cat, allow *a, const mk_value *pl)
{
    const mk_value *provs = attr(pl, "providers"), *regs = attr(pl, "regions");
    for (int c = 0; c < NCLOUDS; c++) {
        if (provs && !list_has(provs, CLOUDS[c]))
            a->cloud[c] = false;
        size_t named = 0;
        for (uint32_t i = 0; regs && regs->kind == MK_V_LIST && i < regs->n; i++) {
            const mk_value *rv = regs->u.items[i];
            char rn[64];
            if (rv->kind != MK_V_STRING || rv->n >= sizeof rn)
                continue;
            memcpy(rn, rv->u.s, rv->n), rn[rv->n] = 0;
            named += region_cloud(cat, rn) == c;
        }
        const cloudcat *cc = &cat->c[c];
        for (size_t r = 0; r < json_array_size(cc->regions); r++) {
            const char *rn = json_string_value(json_array_get(cc->regions, r));
            a->region[c][r] &= named ? list_has(regs, rn) : strcmp(rn, cc->default_region) == 0;
        }
        if (named)
            a->extra[c] = regs;
        a->narrowed[c] = true;
    }
}

static void add_cand(const mk_cost_catalog *cat, mk_cost_group *g, const char *cloud, const char *region)
{
    g->cands = mk_mem_realloc(g->cands, (g->ncands + 1) * sizeof *g->cands);
    int ci = cloud_index(cloud), ri = ci >= 0 ? region_index(&cat->c[ci], region) : -1;
    g->cands[g->ncands++] = (mk_cost_cand){cloud, region, true, 0, NULL, ci, ri, NULL};
}

static void candidates(const mk_cost_catalog *cat, mk_program *p, const mk_cost_report *r, mk_cost_group *g)
{
    allow a;
    const mk_value *stack_pl = r->stack_placement;
    for (int c = 0; c < NCLOUDS; c++) {
        a.cloud[c] = true, a.narrowed[c] = false, a.extra[c] = NULL;
        a.region[c] = mk_mem_alloc(json_array_size(cat->c[c].regions) + 1);
        memset(a.region[c], 1, json_array_size(cat->c[c].regions) + 1);
    }
    for (size_t m = 0; m < g->n; m++) {
        const mk_instance *in = r->items[g->members[m]].in;
        const mk_value *pl = in->placement ? in->placement : stack_pl;
        if (pl && strncmp(in->res->type, "local.", 6) != 0)
            narrow(cat, &a, pl);
    }
    for (int c = 0; c < NCLOUDS; c++) {
        const cloudcat *cc = &cat->c[c];
        for (size_t i = 0; a.cloud[c] && i < json_array_size(cc->regions); i++) {
            const char *rn = json_string_value(json_array_get(cc->regions, i));
            if (a.narrowed[c] ? a.region[c][i] : strcmp(rn, cc->default_region) == 0)
                add_cand(cat, g, cc->cloud, rn);
        }
        /* regions named for the cloud that its catalog lacks: candidates that lose, with the reason */
        for (uint32_t i = 0; a.cloud[c] && a.extra[c] && i < a.extra[c]->n; i++) {
            const mk_value *rv = a.extra[c]->u.items[i];
            char *rn = rv->kind == MK_V_STRING ? mk_arena_strndup(p->ast.arena, rv->u.s, rv->n) : NULL;
            if (rn && region_index(cc, rn) < 0 && region_cloud(cat, rn) == c)
                add_cand(cat, g, cc->cloud, rn);
        }
        mk_mem_free(a.region[c]);
    }
}

/* The sticky place of a group: the first member the state has placed. */
static json_t *sticky_place(const mk_state *st, const mk_cost_report *r, const mk_cost_group *g,
                            const char *const *replace, size_t nreplace)
{
    for (size_t m = 0; st && m < g->n; m++) {
        const char *addr = r->items[g->members[m]].in->address;
        bool moving = false;
        for (size_t k = 0; k < nreplace; k++)
            moving |= strcmp(replace[k], addr) == 0;
        json_t *sr = moving ? NULL : mk_state_find(st, addr, NULL);
        json_t *pl = json_object_get(sr, "placement");
        if (json_is_string(json_object_get(pl, "cloud")) && json_is_string(json_object_get(pl, "region")))
            return pl;
    }
    return NULL;
}

/* The group's total at one candidate; the members' quotes go to qs. */
static void score(mk_cost_catalog *cat, mk_cost_report *r, mk_cost_group *g, const spec *specs, mk_cost_cand *cd,
                  mk_cost_quote *qs)
{
    for (size_t m = 0; m < g->n && cd->ok; m++) {
        mk_cost_quote *q = &qs[m];
        const mk_instance *in = r->items[g->members[m]].in;
        *q = cd->ri >= 0 && strncmp(specs[m].type, "local.", 6) != 0 ? price_at(cat, &specs[m], cd->ci, cd->ri)
                                                                       : mk_cost_price(cat, in, cd->cloud, cd->region);
        if (q->status == MK_COST_NOT_HERE) {
            cd->ok = false;
            cd->why = mk_arena_printf(cat->arena, "%s: %s", in->address, q->why);
        } else if (q->status == MK_COST_PRICED && !mk_money_add(cd->monthly, q->monthly, &cd->monthly)) {
            cd->ok = false;
            cd->why = "the group's monthly total is out of range";
        }
    }
}

/* Groups whose members all follow one placement block (or none) have the
 * same candidates: computed once per block. */
typedef struct candmemo {
    const mk_value *key;
    mk_cost_cand *cands;
    size_t n;
} candmemo;

#define NMEMO 16

static void candidates_of(const mk_cost_catalog *cat, mk_program *p, const mk_cost_report *r, mk_cost_group *g,
                          candmemo *memo)
{
    const mk_value *stack_pl = r->stack_placement, *key = NULL;
    bool first = true, uniform = true;
    for (size_t m = 0; m < g->n && uniform; m++) {
        const mk_instance *in = r->items[g->members[m]].in;
        if (strncmp(in->res->type, "local.", 6) == 0)
            continue;
        const mk_value *pl = in->placement ? in->placement : stack_pl;
        uniform = first || pl == key;
        key = pl, first = false;
    }
    int slot = -1;
    for (int i = 0; uniform && i < NMEMO; i++) {
        if (memo[i].cands && memo[i].key == key) {
            g->cands = mk_mem_alloc(memo[i].n * sizeof *g->cands);
            memcpy(g->cands, memo[i].cands, memo[i].n * sizeof *g->cands);
            g->ncands = memo[i].n;
            return;
        }
        if (!memo[i].cands && slot < 0)
            slot = i;
    }
    candidates(cat, p, r, g);
    if (uniform && slot >= 0 && g->ncands) {
        memo[slot] = (candmemo){key, mk_mem_alloc(g->ncands * sizeof *g->cands), g->ncands};
        memcpy(memo[slot].cands, g->cands, g->ncands * sizeof *g->cands);
    }
}

static void place_group(mk_cost_catalog *cat, mk_program *p, const mk_state *st, mk_cost_report *r, mk_cost_group *g,
                        const char *const *replace, size_t nreplace, candmemo *memo)
{
    if (g->n == 1 && strncmp(r->items[g->members[0]].in->res->type, "local.", 6) == 0) {
        r->items[g->members[0]].q = mk_cost_price(cat, r->items[g->members[0]].in, NULL, NULL);
        g->winner = -1;
        return;
    }
    json_t *sticky = sticky_place(st, r, g, replace, nreplace);
    if (sticky) {
        g->sticky = true;
        add_cand(cat, g, json_string_value(json_object_get(sticky, "cloud")), json_string_value(json_object_get(sticky, "region")));
    } else {
        candidates_of(cat, p, r, g, memo);
    }
    g->winner = -1;
    mk_cost_quote *best = mk_mem_alloc(2 * g->n * sizeof *best), *cur = best + g->n, *t;
    spec *specs = mk_mem_alloc(g->n * sizeof *specs);
    for (size_t m = 0; m < g->n; m++) {
        const mk_instance *in = r->items[g->members[m]].in;
        specs[m] = spec_of(in->res->type, in->attrs, in->usage);
    }
    for (size_t c = 0; c < g->ncands; c++) {
        score(cat, r, g, specs, &g->cands[c], cur);
        if (g->cands[c].ok && (g->winner < 0 || g->cands[c].monthly < g->cands[g->winner].monthly))
            g->winner = (long)c, t = best, best = cur, cur = t;
    }
    for (size_t m = 0; m < g->n; m++) {
        mk_cost_item *it = &r->items[g->members[m]];
        if (g->winner >= 0) {
            it->q = best[m];
        } else if (g->sticky) { /* a sticky place stays even without a price now: a price never moves infrastructure */
            it->q = mk_cost_price(cat, it->in, g->cands[0].cloud, g->cands[0].region);
        } else {
            it->q = (mk_cost_quote){MK_COST_UNPRICED, NULL, NULL, NULL, 0,
                                    g->ncands ? g->cands[0].why : "no cloud and region satisfies its placement"};
        }
    }
    mk_mem_free(best < cur ? best : cur);
    mk_mem_free(specs);
}

static void group_members(mk_cost_report *r, size_t *up)
{
    size_t *gid = mk_mem_alloc((r->nitems + 1) * sizeof *gid);
    for (size_t i = 0; i < r->nitems; i++)
        gid[i] = SIZE_MAX;
    for (size_t i = 0; i < r->nitems; i++) { /* number the groups, count their members */
        size_t root = uf_find(up, i);
        if (gid[root] == SIZE_MAX)
            gid[root] = r->ngroups++;
        r->items[i].group = gid[root];
    }
    r->groups = mk_mem_calloc(r->ngroups + 1, sizeof *r->groups);
    for (size_t i = 0; i < r->nitems; i++)
        r->groups[r->items[i].group].n++;
    size_t *all = mk_mem_alloc((r->nitems + 1) * sizeof *all), at = 0;
    for (size_t g = 0; g < r->ngroups; g++) {
        r->groups[g].members = all + at;
        at += r->groups[g].n;
        r->groups[g].n = 0;
    }
    for (size_t i = 0; i < r->nitems; i++) {
        mk_cost_group *g = &r->groups[r->items[i].group];
        g->members[g->n++] = i;
    }
    r->members = all;
    mk_mem_free(gid);
}

static void applied_total(mk_cost_catalog *cat, mk_program *p, const mk_state *st, mk_cost_report *r)
{
    r->applied_each = st && st->nres ? mk_mem_alloc(st->nres * sizeof *r->applied_each) : NULL;
    for (size_t i = 0; st && i < st->nres; i++) {
        /* the differ found each one's desired instance (st->like); else look it up */
        const mk_instance *like = st->diffed ? st->like[i]
                                  : desired(p, json_string_value(json_object_get(st->res[i], "address")) ?: "");
        mk_cost_quote q = price_state(cat, p, st->res[i], like);
        r->applied_each[i] = q.status == MK_COST_PRICED ? q.monthly : 0;
        r->overflow |= !mk_money_add(r->applied, r->applied_each[i], &r->applied);
    }
}

mk_cost_report *mk_cost_run(mk_cost_catalog *cat, mk_program *p, const mk_state *st,
                            const char *const *replace, size_t nreplace)
{
    return mk_cost_run_set(cat, p, p->instances, p->ninstances, p->root ? p->root->stack_value : NULL, st, replace,
                           nreplace);
}

mk_cost_report *mk_cost_run_set(mk_cost_catalog *cat, mk_program *p, mk_instance *const *ins, size_t n,
                                const mk_value *stack, const mk_state *st, const char *const *replace, size_t nreplace)
{
    mk_cost_report *r = mk_mem_calloc(1, sizeof *r);
    r->nitems = n;
    r->stack_placement = stack ? attr(stack, "placement") : NULL;
    r->items = mk_mem_calloc(r->nitems + 1, sizeof *r->items);
    size_t *up = mk_mem_alloc((r->nitems + 1) * sizeof *up);
    for (size_t i = 0; i < r->nitems; i++)
        r->items[i].in = ins[i], up[i] = i;
    union_colocated(r, up);
    group_members(r, up);
    mk_mem_free(up);
    candmemo memo[NMEMO] = {{0}};
    for (size_t g = 0; g < r->ngroups; g++)
        place_group(cat, p, st, r, &r->groups[g], replace, nreplace, memo);
    for (int i = 0; i < NMEMO; i++)
        mk_mem_free(memo[i].cands);
    for (size_t i = 0; i < r->nitems; i++) {
        if (r->items[i].q.status == MK_COST_PRICED)
            r->overflow |= !mk_money_add(r->monthly, r->items[i].q.monthly, &r->monthly);
        else
            r->nunpriced++;
    }
    applied_total(cat, p, st, r);
    return r;
}

void mk_cost_report_free(mk_cost_report *r)
{
    if (!r)
        return;
    for (size_t g = 0; g < r->ngroups; g++)
        mk_mem_free(r->groups[g].cands);
    mk_mem_free(r->members);
    mk_mem_free(r->applied_each);
    mk_mem_free(r->groups);
    mk_mem_free(r->items);
    mk_mem_free(r);
}

void mk_cost_mark(mk_cost_report *r)
{
    for (size_t i = 0; i < r->nitems; i++) {
        mk_instance *in = (mk_instance *)r->items[i].in;
        const mk_cost_quote *q = &r->items[i].q;
        bool placed = q->cloud && strncmp(in->res->type, "local.", 6) != 0 && strcmp(q->cloud, "local") != 0;
        in->placed_cloud = placed ? q->cloud : NULL;
        in->placed_region = placed ? q->region : NULL;
        in->placed_offering = placed ? q->offering : NULL;
        in->placed_priced = q->status == MK_COST_PRICED;
        in->placed_monthly = q->monthly;
    }
}

/* Members of g placed at candidate c (quotes in qs), marked. */
static void put_at(mk_cost_report *r, mk_cost_group *g, const mk_cost_cand *cd, const mk_cost_quote *qs)
{
    for (size_t m = 0; m < g->n; m++) {
        mk_instance *in = (mk_instance *)r->items[g->members[m]].in;
        bool placed = strncmp(in->res->type, "local.", 6) != 0;
        in->placed_cloud = placed ? cd->cloud : NULL;
        in->placed_region = placed ? cd->region : NULL;
        in->placed_offering = placed ? qs[m].offering : NULL;
        in->placed_priced = qs[m].status == MK_COST_PRICED;
        in->placed_monthly = qs[m].monthly;
    }
}

/* Every priced region of the clouds the group may use, as candidates too:
 * when policies rule out each cloud's default region, placement looks
 * further — unless a member names its regions (then those are the choice). */
static bool widen(const mk_cost_catalog *cat, mk_cost_report *r, mk_cost_group *g)
{
    const mk_value *stack_pl = r->stack_placement;
    bool allowed[NCLOUDS] = {true, true, true};
    for (size_t m = 0; m < g->n; m++) {
        const mk_instance *in = r->items[g->members[m]].in;
        const mk_value *pl = in->placement ? in->placement : stack_pl;
        if (strncmp(in->res->type, "local.", 6) == 0 || !pl)
            continue;
        const mk_value *regs = attr(pl, "regions"), *provs = attr(pl, "providers");
        if (regs && regs->kind == MK_V_LIST && regs->n)
            return false;
        for (int c = 0; c < NCLOUDS; c++)
            allowed[c] &= !provs || list_has(provs, CLOUDS[c]);
    }
    size_t before = g->ncands;
    for (int c = 0; c < NCLOUDS; c++) {
        const cloudcat *cc = &cat->c[c];
        for (size_t i = 0; allowed[c] && i < json_array_size(cc->regions); i++) {
            const char *rn = json_string_value(json_array_get(cc->regions, i));
            bool have = false;
            for (size_t k = 0; k < before && !have; k++)
                have = g->cands[k].ci == c && g->cands[k].ri == (int)i;
            if (!have)
                add_cand(cat, g, cc->cloud, rn);
        }
    }
    return g->ncands > before;
}

size_t mk_cost_apply_policies(mk_cost_catalog *cat, mk_cost_report *r, mk_cost_policy_fn fn, void *ud)
{
    mk_cost_mark(r);
    mk_instance **all = mk_mem_alloc((r->nitems + 1) * sizeof *all);
    bool *bad = mk_mem_calloc(r->nitems + 1, sizeof *bad);
    for (size_t i = 0; i < r->nitems; i++)
        all[i] = (mk_instance *)r->items[i].in;
    fn(ud, all, r->nitems, bad, NULL); /* one pass over everything finds the groups to look at */
    bool *seen = mk_mem_calloc(r->ngroups + 1, sizeof *seen);
    size_t moved = 0;
    for (size_t i = 0; i < r->nitems; i++) {
        size_t gi = r->items[i].group;
        mk_cost_group *g = &r->groups[gi];
        if (!bad[i] || seen[gi] || g->sticky || g->winner < 0)
            continue;
        seen[gi] = true;
        mk_instance **ins = mk_mem_alloc(g->n * sizeof *ins);
        spec *specs = mk_mem_alloc(g->n * sizeof *specs);
        mk_cost_quote *qs = mk_mem_alloc(g->n * sizeof *qs);
        bool *gbad = mk_mem_alloc(g->n * sizeof *gbad);
        for (size_t m = 0; m < g->n; m++) {
            ins[m] = (mk_instance *)r->items[g->members[m]].in;
            specs[m] = spec_of(ins[m]->res->type, ins[m]->attrs, ins[m]->usage);
        }
        long first = g->winner, found = -1;
        const char *why = NULL;
        fn(ud, ins, g->n, NULL, &why);
        g->cands[first].rejected = why;
        bool widened = false;
        for (; why;) { /* (none: the violation was not this group's placement alone) */ /* the next cheapest candidate not yet tried */
            long next = -1;
            for (size_t c = 0; c < g->ncands; c++) {
                mk_cost_cand *cd = &g->cands[c];
                if (cd->ok && !cd->rejected && (next < 0 || cd->monthly < g->cands[next].monthly))
                    next = (long)c;
            }
            size_t old = g->ncands;
            if (next < 0 && !widened && (widened = true) && widen(cat, r, g)) {
                for (size_t c = old; c < g->ncands; c++) /* the new ones: price them */
                    score(cat, r, g, specs, &g->cands[c], qs);
                continue;
            }
            if (next < 0)
                break;
            mk_cost_cand *cd = &g->cands[next];
            mk_money total = cd->monthly;
            cd->monthly = 0;
            score(cat, r, g, specs, cd, qs); /* the members' quotes there */
            cd->monthly = total;
            put_at(r, g, cd, qs);
            memset(gbad, 0, g->n * sizeof *gbad);
            fn(ud, ins, g->n, gbad, &cd->rejected);
            if (!cd->rejected) {
                found = next;
                break;
            }
        }
        if (found >= 0) {
            for (size_t m = 0; m < g->n; m++) {
                mk_cost_item *it = &r->items[g->members[m]];
                r->overflow |= !mk_money_sub(r->monthly, it->q.status == MK_COST_PRICED ? it->q.monthly : 0, &r->monthly);
                r->nunpriced -= it->q.status != MK_COST_PRICED;
                it->q = qs[m];
                r->overflow |= !mk_money_add(r->monthly, it->q.status == MK_COST_PRICED ? it->q.monthly : 0, &r->monthly);
                r->nunpriced += it->q.status != MK_COST_PRICED;
            }
            g->winner = found;
            moved++;
        } else { /* broken everywhere: the cheapest stays, and the policy report says why */
            for (size_t m = 0; m < g->n; m++)
                qs[m] = r->items[g->members[m]].q;
            put_at(r, g, &g->cands[first], qs);
        }
        mk_mem_free(ins), mk_mem_free(specs), mk_mem_free(qs), mk_mem_free(gbad);
    }
    mk_mem_free(seen), mk_mem_free(bad), mk_mem_free(all);
    return moved;
}
