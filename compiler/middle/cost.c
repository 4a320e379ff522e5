/* cost — price catalogs and pricing: of one instance in one place, and of
 * the applied state where it stands. Placement, which asks these prices of
 * every candidate place, is place.c.
 * The rules are written down in docs/cost.md; the catalogs' format in
 * stdlib/pricing/README.md. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/middle/cost.h"
#include "compiler/middle/storage.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/base/jsonfile.h"
#include "compiler/base/state.h"
#include "compiler/front/ast.h"
#include "compiler/front/vjson.h"

#define HOURS 730.0
#define GIB (1024.0 * 1024.0 * 1024.0)
#define NCLOUDS MK_COST_NCLOUDS

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

/* The root disk most computes have (the cloud's default type, one size),
 * priced once per region: see root_disk. */
typedef struct rootdisk {
    double bytes;
    mk_storage_bill b;
    bool ok, used;
} rootdisk;

/* Likewise the last bucket asked in a region: most buckets of a stack ask
 * the same (one class, no or the same usage). */
typedef struct lastbucket {
    mk_storage_bucket_ask ask;
    mk_storage_bill b;
    bool used;
} lastbucket;

struct mk_cost_catalog {
    cloudcat c[NCLOUDS];
    rootdisk *root[NCLOUDS];      /* per region */
    lastbucket *bucket[NCLOUDS];  /* per region */
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
        mk_mem_free(cat->root[i]);
        mk_mem_free(cat->bucket[i]);
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

#define num mk_storage_number

static bool flag(const mk_value *v) { return v && v->kind == MK_V_BOOL && v->u.b; }

/* usage.NAME in the unit it is billed in, or the type's default. */
static double usage(const mk_value *u, const char *name, double def, double unit)
{
    double x;
    return num(mk_v_get_text(u, name), &x) ? x / unit : def;
}

/* ---- pricing per type ---- */


/* What a compute's root disk is, read once per instance: placement prices
 * each at every candidate place. */
static void root_disk_of(mk_cost_spec *s)
{
    const mk_value *dt = mk_v_get_text(s->attrs, "disk_type"), *size = mk_v_get_text(s->attrs, "disk");
    s->disk_bytes = size && size->kind == MK_V_SIZE ? (double)size->u.i : -1;
    s->disk_pinned = dt && dt->kind == MK_V_STRING;
}

static mk_cost_spec spec_of(const char *type, const mk_value *attrs, const mk_value *usage_v)
{
    mk_cost_spec s = {type, attrs, usage_v, .shaped = true};
    if (strcmp(type, "compute") == 0) {
        s.sized = num(mk_v_get_text(attrs, "cpu"), &s.cpu) && num(mk_v_get_text(attrs, "memory"), &s.mem);
        s.arm = mk_v_is_text(mk_v_get_text(attrs, "arch"), "arm64");
        s.shared = flag(mk_v_get_text(attrs, "shared_core"));
        s.hours = usage(usage_v, "hours", HOURS, 1);
        root_disk_of(&s);
    } else if (strcmp(type, "bucket") == 0) {
        mk_storage_bucket_ask_of(attrs, usage_v, &s.ask);
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

static bool root_disk(mk_cost_catalog *cat, const mk_cost_spec *s, int ci, int ri, mk_cost_quote *q, bill *b);

static void price_compute(mk_cost_catalog *cat, const mk_cost_spec *s, int ci, int ri, mk_cost_quote *q)
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
    if (root_disk(cat, s, ci, ri, q, &b))
        charge(q, b);
}

/* ---- disks and buckets (storage.c answers the lines) ---- */

static mk_storage_where where_of(mk_cost_catalog *cat, int ci, int ri)
{
    const cloudcat *cc = &cat->c[ci];
    return (mk_storage_where){cc->cloud, json_string_value(json_array_get(cc->regions, (size_t)ri)), ri, cc->doc, cat->arena};
}

static bool bill_lines(bill *b, const mk_storage_bill *sb)
{
    for (int i = 0; i < sb->n; i++)
        line(b, sb->line[i].unit, sb->line[i].qty);
    return sb->status == MK_STORAGE_PRICED;
}

/* storage.h's statuses are cost.h's, in the same order */
_Static_assert((int)MK_STORAGE_NOT_HERE == (int)MK_COST_NOT_HERE && (int)MK_STORAGE_UNPRICED == (int)MK_COST_UNPRICED,
               "storage and cost statuses differ");
static mk_cost_status status_of(const mk_storage_bill *sb) { return (mk_cost_status)sb->status; }

/* A disk_type no catalog sells is a mistake, not a placement: unpriced
 * everywhere, with the closest name any catalog sells. */
static bool disk_type_known(mk_cost_catalog *cat, const mk_cost_spec *s, mk_cost_quote *q)
{
    const mk_value *v = mk_v_get_text(s->attrs, "disk_type");
    const char *near = NULL, *n;
    if (!v || v->kind != MK_V_STRING)
        return true;
    char *name = mk_arena_printf(cat->arena, "%.*s", (int)v->n, v->u.s);
    for (int i = 0; i < NCLOUDS; i++)
        if (mk_storage_sells(cat->c[i].doc, name, &n))
            return true;
        else if (!near)
            near = n;
    set_why(cat->arena, q, MK_COST_UNPRICED, "no cloud sells disk_type %s%s%s%s", name, near ? " (did you mean " : "",
            near ?: "", near ? "?)" : "");
    return false;
}

/* The span of attribute NAME's value where the resource is declared, else
 * the declaration's. */
static mk_span attr_span(const mk_instance *in, const char *name)
{
    const mk_ast *d = in->res->decl;
    for (uint32_t i = 0; d && i < d->kids.n; i++) {
        const mk_ast *k = d->kids.v[i];
        if (k->kind == MK_AST_ATTR && k->name && strcmp(k->name, name) == 0)
            return k->a ? k->a->span : k->span;
    }
    return d ? d->span : MK_NOSPAN;
}

void mk_cost_check_pins(mk_cost_catalog *cat, mk_program *p)
{
    for (size_t i = 0; i < p->ninstances; i++) {
        const mk_instance *in = p->instances[i];
        const char *type = in->res->type;
        if (strcmp(type, "volume") != 0 && strcmp(type, "compute") != 0)
            continue;
        const mk_value *v = mk_v_get_text(in->attrs, "disk_type");
        const char *near = NULL, *n;
        bool sold = false;
        if (!v || v->kind != MK_V_STRING)
            continue;
        char *name = mk_arena_printf(cat->arena, "%.*s", (int)v->n, v->u.s);
        for (int c = 0; c < NCLOUDS && !sold; c++)
            if (!(sold = mk_storage_sells(cat->c[c].doc, name, &n)) && !near)
                near = n;
        if (sold)
            continue;
        mk_diag_item *d = mk_diag_error(p->diag, "E0403", attr_span(in, "disk_type"), "no cloud sells disk_type `%s` (%s)", name, in->address);
        if (near)
            mk_diag_help(d, "did you mean `%s`?", near);
    }
}

/* A compute's root disk, a line of its quote (docs/cost.md, "Storage").
 * Without a disk_type it is the cloud's default disk, whose lines depend on
 * the region and size only: kept per region for the last size asked, so a
 * stack of many computes prices it once per place. */
static bool root_disk(mk_cost_catalog *cat, const mk_cost_spec *s, int ci, int ri, mk_cost_quote *q, bill *b)
{
    mk_storage_where w = where_of(cat, ci, ri);
    double bytes = s->disk_bytes;
    bool pinned = s->disk_pinned;
    if (!cat->root[ci])
        cat->root[ci] = mk_mem_calloc(json_array_size(cat->c[ci].regions) + 1, sizeof *cat->root[ci]);
    rootdisk *r = &cat->root[ci][ri], one = {bytes, {MK_STORAGE_PRICED, NULL, NULL, {{0, 0}}, 0}, false, true};
    if (pinned || !r->used || r->bytes != bytes) {
        if (pinned && !disk_type_known(cat, s, q))
            return false;
        one.ok = mk_storage_root(&w, s->attrs, &one.b);
        if (!pinned)
            *r = one;
        else
            r = &one;
    }
    q->why = r->b.why;
    if (!r->ok) {
        q->status = status_of(&r->b);
        return false;
    }
    bill_lines(b, &r->b);
    return true;
}

static const mk_storage_bill *bucket_bill(mk_cost_catalog *cat, const mk_cost_spec *s, int ci, int ri, double egress)
{
    const mk_storage_bucket_ask ask = s->ask;
    if (!cat->bucket[ci])
        cat->bucket[ci] = mk_mem_calloc(json_array_size(cat->c[ci].regions) + 1, sizeof *cat->bucket[ci]);
    lastbucket *l = &cat->bucket[ci][ri];
    if (!l->used || memcmp(&l->ask, &ask, sizeof ask) != 0) {
        mk_storage_where w = where_of(cat, ci, ri);
        l->ask = ask, l->used = true;
        l->b = mk_storage_bucket(&w, &ask, egress);
    }
    return &l->b;
}

static void price_store(mk_cost_catalog *cat, const mk_cost_spec *s, int ci, int ri, mk_cost_quote *q, bool bucket)
{
    const cloudcat *cc = &cat->c[ci];
    mk_storage_where w = where_of(cat, ci, ri);
    double egress = cc->egress > 0 ? cc->egress : json_number_value(json_object_get(cat->opencost, "egress_gb"));
    if (!bucket && !disk_type_known(cat, s, q))
        return;
    mk_storage_bill sb = bucket ? *bucket_bill(cat, s, ci, ri, egress) : mk_storage_volume(&w, s->attrs, s->usage);
    bill b = {0};
    q->offering = sb.offering, q->why = sb.why;
    if (!bill_lines(&b, &sb)) {
        q->status = status_of(&sb), q->offering = NULL;
        return;
    }
    charge(q, b);
}

static void price_database(const cloudcat *cc, const mk_cost_spec *s, mk_cost_quote *q)
{
    double cpu, mem, storage;
    if (!cc->db) {
        set_why(cc->arena, q, MK_COST_NOT_HERE, "no database prices for %s", cc->cloud);
        return;
    }
    if (!num(mk_v_get_text(s->attrs, "cpu"), &cpu) || !num(mk_v_get_text(s->attrs, "memory"), &mem) || !num(mk_v_get_text(s->attrs, "storage"), &storage)) {
        set_why(cc->arena, q, MK_COST_UNPRICED, "cpu, memory or storage is not known");
        return;
    }
    bill b = {0};
    line(&b, json_number_value(json_object_get(cc->db, "vcpu_hour")), cpu * HOURS);
    line(&b, json_number_value(json_object_get(cc->db, "gib_hour")), mem / GIB * HOURS);
    line(&b, json_number_value(json_object_get(cc->db, "storage_gb_month")), storage / GIB);
    /* a standby in a second zone doubles instance and storage */
    if (flag(mk_v_get_text(s->attrs, "multi_az")))
        b.bad |= !mk_money_mul_int(b.sum, 2, &b.sum);
    charge(q, b);
    q->offering = json_string_value(json_object_get(cc->db, "offering"));
}

static void price_lb(const cloudcat *cc, const mk_cost_spec *s, mk_cost_quote *q)
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
static void price_by_use(const cloudcat *cc, const mk_cost_spec *s, mk_cost_quote *q, bool dns)
{
    json_t *e = dns ? cc->dns : cc->queue;
    if (!dns && flag(mk_v_get_text(s->attrs, "fifo")) && json_object_get(e, "fifo"))
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
static mk_cost_quote price_at(mk_cost_catalog *cat, const mk_cost_spec *s, int ci, int ri)
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

static mk_cost_quote price_spec(mk_cost_catalog *cat, const mk_cost_spec *s, const char *cloud, const char *region)
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
    mk_cost_spec s = spec_of(in->res->type, in->attrs, in->usage);
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
                                        "storage", "multi_az", "fifo", "disk", "disk_type", "iops",
                                        "throughput", "redundancy"};
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
    mk_cost_spec s = spec_of(type, state_attrs(cat, p, ty, json_object_get(sres, "attributes")), like ? like->usage : NULL);
    return price_spec(cat, &s, json_string_value(json_object_get(pl, "cloud")), json_string_value(json_object_get(pl, "region")));
}

mk_cost_quote mk_cost_price_state(mk_cost_catalog *cat, mk_program *p, json_t *sres)
{
    return price_state(cat, p, sres, desired(p, json_string_value(json_object_get(sres, "address")) ?: ""));
}

mk_money *mk_cost_applied(mk_cost_catalog *cat, mk_program *p, const mk_state *st, const mk_instance *const *like,
                          mk_money *total, bool *overflow)
{
    mk_money *each = st && st->nres ? mk_mem_alloc(st->nres * sizeof *each) : NULL;
    for (size_t i = 0; st && i < st->nres; i++) {
        /* the differ found each one's desired instance (like); else look it up */
        const mk_instance *in = like ? like[i] : desired(p, json_string_value(json_object_get(st->res[i], "address")) ?: "");
        mk_cost_quote q = price_state(cat, p, st->res[i], in);
        each[i] = q.status == MK_COST_PRICED ? q.monthly : 0;
        *overflow |= !mk_money_add(*total, each[i], total);
    }
    return each;
}

/* ---- what placement asks of the catalogs (place.c) ---- */

const char *mk_cost_cloud(int ci) { return CLOUDS[ci]; }
int mk_cost_cloud_index(const char *cloud) { return cloud_index(cloud); }
size_t mk_cost_nregions(const mk_cost_catalog *cat, int ci) { return json_array_size(cat->c[ci].regions); }

const char *mk_cost_region(const mk_cost_catalog *cat, int ci, size_t ri)
{
    return json_string_value(json_array_get(cat->c[ci].regions, ri));
}

const char *mk_cost_default_region(const mk_cost_catalog *cat, int ci) { return cat->c[ci].default_region; }

int mk_cost_region_index(const mk_cost_catalog *cat, int ci, const char *region)
{
    return region_index(&cat->c[ci], region);
}

mk_arena *mk_cost_arena(mk_cost_catalog *cat) { return cat->arena; }

mk_cost_spec mk_cost_spec_of(const mk_instance *in) { return spec_of(in->res->type, in->attrs, in->usage); }

mk_cost_quote mk_cost_price_at(mk_cost_catalog *cat, const mk_cost_spec *s, int ci, int ri)
{
    return price_at(cat, s, ci, ri);
}
