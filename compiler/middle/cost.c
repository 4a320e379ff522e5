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
#include <unistd.h>

#include "compiler/middle/cost.h"
#include "compiler/middle/storage.h"
#include "compiler/middle/dbcost.h"
#include "compiler/middle/offername.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/base/jsonfile.h"
#include "compiler/base/state.h"
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
    bool pin_only; /* an older generation: priced when pinned, never picked as the cheapest fit */
    json_t *hour; /* per region, null for none */
    json_t *sud;  /* its family's sustained-use rates per quarter of the month, or NULL */
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
    long *byname; /* offer indexes by name (open addressing, -1 empty) */
    size_t namecap;
    json_t *unpriced; /* why an os or purchase has no prices here: {"windows": why, "spot": why, …} */
    double credit;    /* a burstable type's surplus CPU credits, USD per vCPU-hour (0: none billed) */
    json_t *monitor;  /* detailed monitoring: {metrics, metric_month}, or NULL where it is free */
    json_t *buy;      /* CLOUD.buy.json's offers, read on first need (note [buying]); NULL: none */
    bool buy_read;
    json_t *volume, *bucket, *lb, *dns, *queue;
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
    mk_dbcost_catalog *db; /* databases per class: dbcost.c */
    mk_arena *arena;
    ckey *cache;
    size_t ccap, cn;
    char *share; /* where the catalogs are, for the files read on first need */
};

/* ---- loading ---- */

static size_t name_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return (size_t)h;
}

/* Pinned computes are looked up by name in every candidate cloud: an index,
 * not a scan of a thousand offerings per candidate. */
static void index_names(cloudcat *cc)
{
    cc->namecap = 16;
    while (cc->namecap < 2 * cc->noffers)
        cc->namecap *= 2;
    cc->byname = mk_mem_alloc(cc->namecap * sizeof *cc->byname);
    memset(cc->byname, 0xff, cc->namecap * sizeof *cc->byname);
    for (size_t i = 0; i < cc->noffers; i++) {
        size_t s = name_hash(cc->offers[i].name, strlen(cc->offers[i].name)) & (cc->namecap - 1);
        while (cc->byname[s] >= 0)
            s = (s + 1) & (cc->namecap - 1);
        cc->byname[s] = (long)i;
    }
}

static long named(const cloudcat *cc, const char *name, size_t len)
{
    for (size_t s = name_hash(name, len) & (cc->namecap - 1); cc->byname[s] >= 0; s = (s + 1) & (cc->namecap - 1)) {
        const char *n = cc->offers[cc->byname[s]].name;
        if (strncmp(n, name, len) == 0 && n[len] == 0)
            return cc->byname[s];
    }
    return -1;
}

/* An offering's sustained-use rates: those of its family (the name up to
 * the first '-', n1-standard-4 → n1) when the catalog lists it. */
static json_t *family_sud(const cloudcat *cc, const char *name)
{
    json_t *fams = json_object_get(json_object_get(cc->doc, "sustained_use"), "families");
    const char *dash = strchr(name, '-');
    char fam[16];
    if (!fams || !dash || (size_t)(dash - name) >= sizeof fam)
        return NULL;
    memcpy(fam, name, (size_t)(dash - name));
    fam[dash - name] = 0;
    json_t *r = json_object_get(fams, fam);
    return json_array_size(r) == 4 ? r : NULL;
}

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
        f->pin_only = json_is_string(json_array_get(o, 6));
        f->sud = family_sud(cc, f->name);
        if (!f->name || !arch || !json_is_array(f->hour) || json_array_size(f->hour) != json_array_size(cc->regions))
            return false;
        cc->noffers++;
    }
    index_names(cc);
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
    cc->lb = json_object_get(cc->doc, "load_balancer");
    cc->dns = json_object_get(cc->doc, "dns_record");
    cc->queue = json_object_get(cc->doc, "queue");
    cc->egress = json_number_value(json_object_get(cc->doc, "egress_gb"));
    cc->unpriced = json_object_get(cc->doc, "unpriced_compute");
    cc->credit = json_number_value(json_object_get(cc->doc, "cpu_credit_vcpu_hour"));
    cc->monitor = json_object_get(cc->doc, "detailed_monitoring");
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
    cat->share = mk_arena_strndup(cat->arena, share_dir, strlen(share_dir));
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
    if (!(cat->db = mk_dbcost_load(share_dir, why, sizeof why))) {
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
        mk_mem_free(cat->c[i].byname);
        json_decref(cat->c[i].buy);
        json_decref(cat->c[i].doc);
    }
    json_decref(cat->opencost);
    mk_dbcost_free(cat->db);
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

static const mk_value *text_or_null(const mk_value *v) { return v && v->kind == MK_V_STRING ? v : NULL; }


/* One attribute of a compute into its spec. A plan prices every compute of
 * the stack, so its attributes are read in one pass over the map, and a
 * name is compared only with the one it could be (by its first letter):
 * looking each up by name cost a strcmp per key and name. */
static void compute_attr(mk_cost_spec *s, const char *k, const mk_value *v, bool *cpu, bool *mem)
{
    switch (k[0]) {
    case 'c': if (strcmp(k, "cpu") == 0) *cpu = num(v, &s->cpu); break;
    case 'm': if (strcmp(k, "memory") == 0) *mem = num(v, &s->mem); break;
    case 'a': if (strcmp(k, "arch") == 0) s->arm = mk_v_is_text(v, "arm64"); break;
    case 's': if (strcmp(k, "shared_core") == 0) s->shared = flag(v); break;
    case 'd':
        if (strcmp(k, "detailed_monitoring") == 0)
            s->monitored = flag(v);
        else if (strcmp(k, "disk") == 0) /* the root disk, read once: placement prices it at every candidate */
            s->disk_bytes = v && v->kind == MK_V_SIZE ? (double)v->u.i : -1;
        else if (strcmp(k, "disk_type") == 0)
            s->disk_pinned = v && v->kind == MK_V_STRING;
        break;
    case 'i': if (strcmp(k, "instance_type") == 0) s->pin = text_or_null(v); break;
    case 'o': if (strcmp(k, "os") == 0) s->os = text_or_null(v); break;
    case 'p': if (strcmp(k, "purchase") == 0) s->purchase = text_or_null(v); break;
    default: break;
    }
}

static double num_or(const mk_value *v, double unit, double def)
{
    double x;
    return num(v, &x) ? x / unit : def;
}

static const mk_value *text_v(const mk_value *v) { return v && v->kind == MK_V_STRING ? v : NULL; }

/* One attribute of a database into its spec; the others are not priced. A
 * switch on the first letter: a database has some twenty attributes, and
 * placement reads every database of a plan. */
static void db_field(mk_cost_spec *s, const char *k, const mk_value *v)
{
    mk_cost_dbspec *d = &s->db;
    switch (k[0]) {
    case 'c': if (!strcmp(k, "cpu")) s->cpu = num_or(v, 1, -1); break;
    case 'e':
        if (!strcmp(k, "engine")) d->engine = text_v(v);
        else if (!strcmp(k, "edition")) d->edition = text_v(v);
        break;
    case 'i':
        if (!strcmp(k, "instance_class")) d->klass = text_v(v);
        else if (!strcmp(k, "iops")) d->iops = num_or(v, 1, -1);
        break;
    case 'm':
        if (!strcmp(k, "memory")) s->mem = num_or(v, 1, -1);
        else if (!strcmp(k, "multi_az")) d->multi_az = flag(v);
        break;
    case 'p': if (!strcmp(k, "public")) d->public_ip = flag(v); break;
    case 'r': if (!strcmp(k, "replicas")) d->replicas = num_or(v, 1, 0); break;
    case 's':
        if (!strcmp(k, "storage")) d->storage = num_or(v, 1, -1);
        else if (!strcmp(k, "storage_type")) d->storage_type = text_v(v);
        break;
    case 'v': if (!strcmp(k, "version")) d->version = text_v(v); break;
    default: break;
    }
}

/* A database's priced attributes, read once: placement prices it at every
 * candidate, and a lookup by name is a scan of the map. */
static void db_spec(mk_cost_spec *s, const mk_value *attrs)
{
    s->db = (mk_cost_dbspec){.storage = -1, .iops = -1};
    s->cpu = s->mem = -1;
    for (uint32_t i = 0; attrs && attrs->kind == MK_V_MAP && i < attrs->n; i++)
        db_field(s, attrs->u.map.keys[i], attrs->u.map.vals[i]);
    s->db.backup = usage(s->usage, "backup", 0, 1);
}

static mk_cost_spec spec_of(const char *type, const mk_value *attrs, const mk_value *usage_v)
{
    mk_cost_spec s = {.type = type, .attrs = attrs, .usage = usage_v, .shaped = true, .disk_bytes = -1};
    if (strcmp(type, "compute") == 0) {
        bool cpu = false, mem = false;
        for (uint32_t i = 0; attrs && attrs->kind == MK_V_MAP && i < attrs->n; i++)
            compute_attr(&s, attrs->u.map.keys[i], attrs->u.map.vals[i], &cpu, &mem);
        s.sized = cpu && mem;
        s.hours = usage(usage_v, "hours", HOURS, 1);
        s.credits = usage_v ? usage(usage_v, "cpu_credits", 0, 1) : 0;
    } else if (strcmp(type, "bucket") == 0) {
        mk_storage_bucket_ask_of(attrs, usage_v, &s.ask);
    } else if (strcmp(type, "database") == 0) {
        db_spec(&s, attrs);
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
        if (f->vcpu < vcpu || f->mem + 1e-9 < mem || f->arm != arm || (f->shared && !shared) || f->pin_only)
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

/* note [buying]: a compute is priced on demand for Linux unless its os or
 * purchase say otherwise. The other ways to buy each offering ("spot",
 * "reserved_1y", "reserved_3y", "windows": each an hourly price per region,
 * in the catalog's region order) are in CLOUD.buy.json, read the first time a
 * stack asks for one: most stacks never do, and parsing them made every
 * command's cost step slower. Where a catalog has none, the cloud is not a
 * candidate and the catalog's `unpriced_compute` says why (no public source),
 * so a resource no cloud prices is unpriced with that reason, never priced
 * as Linux on demand. Windows bought other than on demand is priced nowhere. */
static json_t *buy_offers(mk_cost_catalog *cat, cloudcat *cc)
{
    if (!cc->buy_read) {
        char path[4096], why[600];
        snprintf(path, sizeof path, "%s/stdlib/pricing/%s.buy.json", cat->share, cc->cloud);
        json_t *doc = access(path, R_OK) == 0 ? mk_jsonfile_load(path, 0, why, sizeof why) : NULL;
        /* prices by region index are only right in the catalog's own region order */
        if (doc && json_equal(json_object_get(doc, "regions"), cc->regions))
            cc->buy = json_incref(json_object_get(doc, "offers"));
        json_decref(doc);
        cc->buy_read = true;
    }
    return cc->buy;
}

/* The hourly price array of offering f for the spec's os and purchase, or
 * NULL with *why saying what is missing. */
static json_t *price_list(mk_cost_catalog *cat, cloudcat *cc, const offer *f, const mk_cost_spec *s, const char **why)
{
    bool windows = mk_v_is_text(s->os, "windows");
    bool demand = !s->purchase || mk_v_is_text(s->purchase, "on_demand");
    char key[32] = "windows";
    if (demand && !windows)
        return f->hour;
    if (!demand)
        snprintf(key, sizeof key, "%.*s", (int)s->purchase->n, s->purchase->u.s);
    json_t *list = windows && !demand ? NULL : json_object_get(json_object_get(buy_offers(cat, cc), f->name), key);
    if (!list) {
        const char *base = json_string_value(json_object_get(cc->unpriced, key));
        *why = mk_arena_printf(cc->arena, "%s has no %s%s price for %s%s%s", cc->cloud, windows && !demand ? "Windows " : "",
                               demand ? "Windows" : key, f->name, base ? ": " : "", base ?: "");
    }
    return list;
}

/* note [sustained use]: Google bills an N1, N2, … VM run for more of a month
 * at a falling rate per quarter of the month (N1: 100%, 80%, 60%, 40% of the
 * base price: 30% off a whole month). Each quarter is a line, its hours at
 * the quarter's rate; on demand only (spot and committed prices have their
 * own). Other clouds and families carry no rates. */
static void hour_lines(bill *b, const offer *f, double hourly, double hours, bool demand)
{
    if (!f->sud || !demand) {
        line(b, hourly, hours); /* hourly × 730 × hours/730 */
        return;
    }
    for (size_t k = 0; k < 4; k++) {
        double in = fmin(fmax(hours - k * HOURS / 4, 0), HOURS / 4);
        if (in > 0)
            line(b, hourly * json_number_value(json_array_get(f->sud, k)), in);
    }
    if (hours > HOURS)
        line(b, hourly * json_number_value(json_array_get(f->sud, 3)), hours - HOURS);
}

/* The offering a spec gets in a cloud and region: the one it pins, else the
 * cheapest that fits; -1 with the quote saying why there is none. */
static long pick_offer(mk_cost_catalog *cat, const mk_cost_spec *s, int ci, int ri, mk_cost_quote *q)
{
    const cloudcat *cc = &cat->c[ci];
    if (s->pin) {
        long o = named(cc, s->pin->u.s, s->pin->n);
        if (o < 0 && mk_cost_cloud_index(mk_offername_cloud("instance_type", s->pin->u.s, s->pin->n) ?: "") == ci) /* note [pin shapes] */
            set_why(cat->arena, q, MK_COST_UNPRICED, "the %s catalog has no price for instance_type %.*s", cc->cloud, (int)s->pin->n,
                    s->pin->u.s);
        else if (o < 0)
            set_why(cat->arena, q, MK_COST_NOT_HERE, "instance_type %.*s is not sold by %s", (int)s->pin->n, s->pin->u.s, cc->cloud);
        return o;
    }
    long o = find_offer(cat, ci, ri, (int)s->cpu, s->mem / GIB, s->arm, s->shared);
    if (o < 0)
        set_why(cat->arena, q, MK_COST_NOT_HERE, "no %s%s offering with >= %d vCPU and >= %g GiB in %s", s->arm ? "arm64" : "x86_64",
                s->shared ? "" : " dedicated-core", (int)s->cpu, s->mem / GIB, q->region);
    return o;
}

static bool root_disk(mk_cost_catalog *cat, const mk_cost_spec *s, int ci, int ri, mk_cost_quote *q, bill *b);

static void price_compute(mk_cost_catalog *cat, const mk_cost_spec *s, int ci, int ri, mk_cost_quote *q)
{
    cloudcat *cc = &cat->c[ci];
    double p = 0;
    const char *why = NULL;
    if (!s->sized) {
        set_why(cat->arena, q, MK_COST_UNPRICED, "cpu or memory is not known");
        return;
    }
    long o = pick_offer(cat, s, ci, ri, q);
    if (o < 0)
        return;
    const offer *f = &cc->offers[o];
    json_t *list = price_list(cat, cc, f, s, &why);
    if (!list || !figure(list, ri, &p)) {
        set_why(cat->arena, q, MK_COST_NOT_HERE, "%s", why ?: mk_arena_printf(cat->arena, "%s has no price in %s", f->name, q->region));
        return;
    }
    q->offering = f->name;
    bill b = {0};
    hour_lines(&b, f, p, s->hours, list == f->hour);
    /* a burstable type's surplus credits (usage.cpu_credits, vCPU-hours), where billed */
    if (f->shared && cc->credit > 0 && s->credits > 0)
        line(&b, cc->credit, s->credits);
    /* its metrics a month, however many hours it runs (CloudWatch bills metric-months) */
    if (s->monitored && cc->monitor)
        line(&b, json_number_value(json_object_get(cc->monitor, "metric_month")),
             json_number_value(json_object_get(cc->monitor, "metrics")));
    /* the root disk (disk, disk_type) is a line of this quote too, priced as a
     * volume is: docs/cost.md, "Storage" */
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

bool mk_cost_sells_disk(const mk_cost_catalog *cat, const char *disk_type, const char **near)
{
    const char *n;
    *near = NULL;
    for (int i = 0; i < NCLOUDS; i++)
        if (mk_storage_sells(cat->c[i].doc, disk_type, &n))
            return true;
        else if (!*near)
            *near = n;
    return false;
}

/* A disk_type no catalog sells is a mistake, not a placement (E0403 before
 * placement, pin.c): read back from applied state it is unpriced everywhere,
 * with the closest name any catalog sells. */
/* The first control byte (a NUL, a newline) of a text value, else -1: a
 * name holding one is no catalog's, and is never read as a C string, which
 * would price "gp3\0evil" as gp3 (E0403 before placement, pin.c). */
static int control_byte(const mk_value *v)
{
    for (uint32_t i = 0; v && v->kind == MK_V_STRING && i < v->n; i++)
        if ((unsigned char)v->u.s[i] < 0x20 || v->u.s[i] == 0x7f)
            return (unsigned char)v->u.s[i];
    return -1;
}

static bool disk_type_known(mk_cost_catalog *cat, const mk_cost_spec *s, mk_cost_quote *q)
{
    const mk_value *v = mk_v_get_text(s->attrs, "disk_type");
    const char *near;
    if (!v || v->kind != MK_V_STRING)
        return true;
    if (control_byte(v) >= 0) {
        set_why(cat->arena, q, MK_COST_UNPRICED, "disk_type holds the control byte 0x%02x", control_byte(v));
        return false;
    }
    char *name = mk_arena_printf(cat->arena, "%.*s", (int)v->n, v->u.s);
    if (mk_cost_sells_disk(cat, name, &near))
        return true;
    set_why(cat->arena, q, MK_COST_UNPRICED, "no cloud sells disk_type %s%s%s%s", name, near ? " (did you mean " : "",
            near ?: "", near ? "?)" : "");
    return false;
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

/* A string attribute as C text, in buf (the few words pricing reads), or
 * in the arena when longer. */
static const char *text_of(const mk_value *v, char *buf, size_t n, mk_arena *ar)
{
    if (!v || v->kind != MK_V_STRING)
        return NULL;
    if (v->n >= n)
        return mk_arena_printf(ar, "%.*s", (int)v->n, v->u.s);
    memcpy(buf, v->u.s, v->n);
    buf[v->n] = 0;
    return buf;
}

/* The words of a database's ask, copied out of its values. */
typedef struct dbwords {
    char engine[32], version[32], klass[64], edition[32], storage_type[32];
} dbwords;

/* A database's spec as dbcost.c asks for it (docs/cost.md, "Databases"). */
static mk_dbcost_ask db_ask(mk_arena *ar, dbwords *w, const mk_cost_spec *s, const char *cloud, const char *region)
{
    const mk_cost_dbspec *d = &s->db;
    mk_dbcost_ask a = {.cloud = cloud, .region = region, .cpu = s->cpu, .mem_gib = s->mem < 0 ? -1 : s->mem / GIB};
    a.engine = text_of(d->engine, w->engine, sizeof w->engine, ar);
    a.version = text_of(d->version, w->version, sizeof w->version, ar);
    a.klass = text_of(d->klass, w->klass, sizeof w->klass, ar);
    a.edition = text_of(d->edition, w->edition, sizeof w->edition, ar);
    a.storage_type = text_of(d->storage_type, w->storage_type, sizeof w->storage_type, ar);
    a.storage_gib = d->storage < 0 ? -1 : d->storage / GIB;
    a.iops = d->iops;
    a.replicas = (int)d->replicas;
    a.backup_gib = d->backup / GIB;
    a.multi_az = d->multi_az, a.public_ip = d->public_ip;
    return a;
}

static void price_database(mk_cost_catalog *cat, const mk_cost_spec *s, mk_cost_quote *q)
{
    dbwords w;
    static const char *const pins[] = {"instance_class", "storage_type", "engine", "edition"};
    for (size_t i = 0; i < sizeof pins / sizeof *pins; i++)
        if (control_byte(mk_v_get_text(s->attrs, pins[i])) >= 0) {
            set_why(cat->arena, q, MK_COST_UNPRICED, "%s holds the control byte 0x%02x", pins[i],
                    control_byte(mk_v_get_text(s->attrs, pins[i])));
            return;
        }
    mk_dbcost_ask a = db_ask(cat->arena, &w, s, q->cloud, q->region);
    mk_dbcost_answer d = mk_dbcost_price(cat->db, &a);
    q->status = d.status == MK_DBCOST_PRICED ? MK_COST_PRICED : d.status == MK_DBCOST_NOT_HERE ? MK_COST_NOT_HERE : MK_COST_UNPRICED;
    q->offering = d.offering;
    q->monthly = d.monthly;
    q->why = d.why;
}

/* A network load balancer is its own offering where the cloud prices it
 * apart (AWS NLB: the same hour, a cheaper LCU); elsewhere one offering
 * serves both kinds. An LCU-hour is a GB an hour processed, so a GB
 * processed costs one LCU-hour. */
static void price_lb(const cloudcat *cc, const mk_cost_spec *s, mk_cost_quote *q)
{
    json_t *e = cc->lb;
    if (!e) {
        set_why(cc->arena, q, MK_COST_NOT_HERE, "no load balancer prices for %s", cc->cloud);
        return;
    }
    if (mk_v_is_text(mk_v_get_text(s->attrs, "kind"), "network") && json_object_get(e, "network"))
        e = json_object_get(e, "network");
    q->offering = json_string_value(json_object_get(e, "offering"));
    bill b = {0};
    line(&b, json_number_value(json_object_get(e, "hour")), HOURS);
    line(&b, json_number_value(json_object_get(e, "gb")), usage(s->usage, "processed", 0, GIB));
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
    mk_cost_quote q = {MK_COST_PRICED, cc->cloud, json_string_value(json_array_get(cc->regions, (size_t)ri)), NULL, 0, NULL, false};
    const char *free_why;
    if ((free_why = json_string_value(json_object_get(cc->free, s->type)))) {
        q.why = free_why;
    } else if (strcmp(s->type, "compute") == 0) {
        price_compute(cat, s, ci, ri, &q);
    } else if (strcmp(s->type, "volume") == 0 || strcmp(s->type, "bucket") == 0) {
        price_store(cat, s, ci, ri, &q, s->type[0] == 'b');
    } else if (strcmp(s->type, "database") == 0) {
        price_database(cat, s, &q);
    } else if (strcmp(s->type, "load_balancer") == 0) {
        price_lb(cc, s, &q);
    } else if (strcmp(s->type, "dns_record") == 0 || strcmp(s->type, "queue") == 0) {
        price_by_use(cc, s, &q, s->type[0] == 'd');
    } else {
        set_why(cat->arena, &q, MK_COST_UNPRICED, "the catalogs have no prices for %s", s->type);
    }
    return q;
}

bool mk_cost_off_cloud(const mk_instance *in) { return in->self_hosted || strchr(in->res->type, '.'); }

/* note [off cloud]: whose a resource is when no cloud's, as its quote says. */
static mk_cost_quote off_cloud(mk_cost_catalog *cat, const mk_cost_spec *s)
{
    mk_cost_quote q = {MK_COST_PRICED, "local", NULL, NULL, 0, "a file on this machine costs nothing", true};
    const char *dot = strchr(s->type, '.');
    if (s->self_hosted) {
        q.cloud = "postgres";
        q.why = mk_arena_printf(cat->arena, "self-hosted on connection %s", s->self_hosted);
    } else if (strncmp(s->type, "local.", 6) != 0) {
        q.cloud = mk_arena_printf(cat->arena, "%.*s", (int)(dot - s->type), s->type);
        q.why = mk_arena_printf(cat->arena, "not a cloud resource: an object of the %s provider has no price of its own",
                                q.cloud);
    }
    return q;
}

static mk_cost_quote price_spec(mk_cost_catalog *cat, const mk_cost_spec *s, const char *cloud, const char *region)
{
    mk_cost_quote q = {MK_COST_PRICED, cloud, region, NULL, 0, NULL, false};
    if (s->self_hosted || strchr(s->type, '.'))
        return off_cloud(cat, s);
    int ci = cloud_index(cloud);
    int ri = ci >= 0 ? region_index(&cat->c[ci], region) : -1;
    if (ri < 0) {
        const char *because = ci >= 0 ? json_string_value(json_object_get(cat->c[ci].doc, "other_regions")) : NULL;
        set_why(cat->arena, &q, MK_COST_NOT_HERE, "%s has no prices for region %s%s%s", cloud ?: "?", region ?: "?",
                because ? ": " : "", because ?: "");
        return q;
    }
    return price_at(cat, s, ci, ri);
}

mk_cost_quote mk_cost_price(mk_cost_catalog *cat, const mk_instance *in, const char *cloud, const char *region)
{
    mk_cost_spec s = mk_cost_spec_of(in);
    return price_spec(cat, &s, cloud, region);
}

/* The span of a resource's attribute as written, else the resource's. */
static mk_span attr_span(const mk_instance *in, mk_name name)
{
    const mk_ast *decl = in->res->decl;
    for (uint32_t i = 0; i < decl->kids.n; i++)
        if (decl->kids.v[i]->kind == MK_AST_ATTR && decl->kids.v[i]->name == name && decl->kids.v[i]->b)
            return decl->kids.v[i]->b->span;
    return decl->span;
}

/* A database's storage_type as a volume's disk_type (pin.c): a name no
 * catalog's database storage has is E0403 with the nearest; a control byte
 * in it is E0403 naming the byte. */
static bool storage_type_known(mk_cost_catalog *cat, mk_program *p, const mk_instance *in)
{
    mk_name attr = mk_intern_s(p->v.names, "storage_type");
    const mk_value *v = mk_v_get_text(in->attrs, "storage_type");
    const char *near;
    if (!v || v->kind != MK_V_STRING)
        return true;
    if (mk_offername_bad_bytes(p->diag, in, "storage_type", v, attr_span(in, attr)))
        return false;
    char *name = mk_arena_printf(cat->arena, "%.*s", (int)v->n, v->u.s);
    if (mk_dbcost_sells_storage(cat->db, name, &near))
        return true;
    mk_diag_item *d = mk_diag_error(p->diag, "E0403", attr_span(in, attr), "%s: no cloud's catalog sells storage_type `%.*s%s`",
                                    in->address, v->n > 64 ? 64 : (int)v->n, name, v->n > 64 ? "…" : "");
    if (near)
        mk_diag_label(d, "did you mean `%s`?", near);
    mk_diag_help(d, "the names are the clouds' own (gp3, io1, ssd, premium), as in stdlib/pricing/database.json");
    return false;
}

bool mk_cost_check_db_pins(mk_cost_catalog *cat, mk_program *p)
{
    bool ok = true;
    mk_name pin = mk_intern_s(p->v.names, "instance_class");
    for (size_t i = 0; i < p->ninstances; i++) {
        const mk_instance *in = p->instances[i];
        char buf[64];
        const char *klass = NULL, *hint = NULL, *msg = NULL;
        bool known = false;
        if (strcmp(in->res->type, "database") != 0)
            continue;
        const mk_value *kv = mk_v_get_text(in->attrs, "instance_class");
        if (!mk_offername_bad_bytes(p->diag, in, "instance_class", kv, attr_span(in, pin)))
            klass = text_of(kv, buf, sizeof buf, cat->arena);
        else
            ok = false;
        ok &= storage_type_known(cat, p, in);
        if (klass)
            msg = mk_dbcost_check_pin(cat->db, klass, num_or(mk_v_get_text(in->attrs, "cpu"), 1, -1),
                                      num_or(mk_v_get_text(in->attrs, "memory"), GIB, -1), &hint, &known);
        /* E0403 and E0404 as for a compute's instance_type (pin.c): not sold,
         * or not its size; W0004 for a name written as one cloud names its
         * classes (note [pin shapes] in offername.c) */
        const char *shape = msg && !known ? mk_offername_cloud("instance_class", klass, strlen(klass)) : NULL;
        if (shape)
            mk_diag_help(mk_diag_warn(p->diag, "W0004", attr_span(in, pin), "%s: the %s catalog has no price for instance_class `%s`; it is unpriced",
                                      in->address, shape, klass),
                         "%s%sthe classes priced are in stdlib/pricing/database.json",
                         strncmp(hint, "did you mean", 12) == 0 ? hint : "", strncmp(hint, "did you mean", 12) == 0 ? "; " : "");
        else if (msg)
            mk_diag_help(mk_diag_error(p->diag, known ? "E0404" : "E0403", attr_span(in, pin), "%s: %s", in->address, msg), "%s",
                         hint);
        ok &= !msg || shape;
    }
    return ok;
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
                                        "storage", "multi_az", "fifo", "instance_type", "os", "purchase", "detailed_monitoring",
                                        "engine", "version", "instance_class", "edition", "storage_type", "iops", "replicas",
                                        "public", "kind", "disk", "disk_type", "throughput", "redundancy"};
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
    s.self_hosted = like ? like->self_hosted : NULL;
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

mk_cost_spec mk_cost_spec_of(const mk_instance *in)
{
    mk_cost_spec s = spec_of(in->res->type, in->attrs, in->usage);
    s.self_hosted = in->self_hosted;
    return s;
}

mk_cost_quote mk_cost_price_at(mk_cost_catalog *cat, const mk_cost_spec *s, int ci, int ri)
{
    return price_at(cat, s, ci, ri);
}

long mk_cost_offer_named(const mk_cost_catalog *cat, int ci, const char *name, size_t len, int *vcpu, double *mem_gib)
{
    long o = named(&cat->c[ci], name, len);
    if (o >= 0)
        *vcpu = cat->c[ci].offers[o].vcpu, *mem_gib = cat->c[ci].offers[o].mem;
    return o;
}

size_t mk_cost_noffers(const mk_cost_catalog *cat, int ci) { return cat->c[ci].noffers; }
const char *mk_cost_offer_name(const mk_cost_catalog *cat, int ci, size_t oi) { return cat->c[ci].offers[oi].name; }
