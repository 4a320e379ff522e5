/* dbcost — a managed database's monthly price from its class, engine,
 * storage and options (docs/cost.md, "Databases"; the catalog's format is
 * stdlib/pricing/README.md). Not for placement (place.c asks cost.c, which
 * asks here) and not for reading attributes (cost.c does).
 *
 * A price is lines, each a catalog unit price times a quantity rounded once
 * (note [money] in compiler/base/money.h): the instance (twice with a
 * standby), storage and provisioned IOPS (also twice with a standby: the
 * standby has its own volume), each read replica's instance and storage,
 * backup beyond the free allowance, extended support per vCPU-hour, and a
 * public IPv4 address where the cloud bills one. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compiler/middle/dbcost.h"
#include "compiler/middle/offername.h"
#include "compiler/base/diag.h"
#include "compiler/base/intern.h"
#include "compiler/base/jsonfile.h"
#include "compiler/base/symtab.h"

#include <jansson.h>

#define HOURS 730.0
#define MAX_MONTHLY (INT64_C(1000000000) * MK_MONEY_UNIT) /* $1e9 a month, as cost.c: no price, a mistake */

struct mk_dbcost_catalog {
    json_t *doc;
    mk_arena *arena; /* answers and their strings */
    mk_intern *asks; /* each ask as bytes (ask_key) */
    mk_symtab kept;  /* interned ask → its answer */
};

mk_dbcost_catalog *mk_dbcost_load(const char *share_dir, char *why, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/stdlib/pricing/database.json", share_dir);
    json_t *doc = mk_jsonfile_load(path, 0, why, n);
    if (!doc)
        return NULL;
    if (!json_is_object(json_object_get(doc, "aws"))) {
        snprintf(why, n, "%s is not a moksha.pricing/v1 database catalog", path);
        json_decref(doc);
        return NULL;
    }
    mk_dbcost_catalog *cat = mk_mem_calloc(1, sizeof *cat);
    cat->doc = doc;
    cat->arena = mk_arena_new();
    cat->asks = mk_intern_new(cat->arena);
    return cat;
}

void mk_dbcost_free(mk_dbcost_catalog *cat)
{
    if (!cat)
        return;
    json_decref(cat->doc);
    mk_sym_free(&cat->kept);
    mk_intern_free(cat->asks);
    mk_arena_free(cat->arena);
    mk_mem_free(cat);
}

/* ---- the catalog ---- */

static double num_of(json_t *o, const char *key, double def)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

static json_t *find_class(json_t *cloud, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(cloud, "classes"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "class")) ?: "", name) == 0)
            return c;
    return NULL;
}

/* A pinned class that no cloud sells: the nearest name of them all. */
static const char *nearest_class(const mk_dbcost_catalog *cat, const char *name)
{
    const char *names[512];
    size_t n = 0, i;
    const char *cloud;
    json_t *cv, *c;
    json_object_foreach(cat->doc, cloud, cv)
        json_array_foreach(json_object_get(cv, "classes"), i, c)
            if (n < sizeof names / sizeof *names)
                names[n++] = json_string_value(json_object_get(c, "class")) ?: "";
    return mk_diag_suggest(name, names, n);
}

/* Cloud SQL's custom tiers name their shape: db-custom-2-7680 is 2 vCPU, 7,680 MiB. */
static bool custom_name(const char *name, double *vcpu, double *mem)
{
    int c, m, used = 0;
    if (sscanf(name, "db-custom-%d-%d%n", &c, &m, &used) != 2 || name[used] || c < 1 || m < 1)
        return false;
    *vcpu = c, *mem = m / 1024.0;
    return true;
}

static const char *cloud_of_class(const mk_dbcost_catalog *cat, const char *name)
{
    const char *cloud;
    json_t *cv;
    double vcpu, mem;
    json_object_foreach(cat->doc, cloud, cv)
        if (json_is_object(cv) && (find_class(cv, name) || (json_object_get(cv, "custom") && custom_name(name, &vcpu, &mem))))
            return cloud;
    return NULL;
}

/* ---- one database ---- */

typedef struct quote {
    const mk_dbcost_ask *a;
    json_t *cloud;
    const char *key; /* the engine's price key: "mysql", "sqlserver-web" */
    double vcpu, hourly;
    const char *klass;
    json_t *cls; /* the class's entry; NULL for a custom shape */
    mk_money sum;
    bool bad, borrowed; /* borrowed: a figure of the "elsewhere" region */
    mk_arena *ar;
    mk_dbcost_answer ans;
} quote;

static void line(quote *q, double unit, double qty)
{
    mk_money m = 0;
    q->bad |= !mk_money_of(unit, qty, &m) || !mk_money_add(q->sum, m, &q->sum);
}

/* A figure per region ({"us-east-1": 0.115}). Where the source has none for
 * the region, the figure of the one region it prices ("elsewhere"), and the
 * quote says so: a cloud stays a candidate in every region, never at another
 * region's price silently. */
static bool at(quote *q, json_t *perregion, double *out)
{
    json_t *v = json_object_get(perregion, q->a->region);
    const char *home = json_string_value(json_object_get(q->cloud, "elsewhere"));
    if (!json_is_number(v) && home && (v = json_object_get(perregion, home)) && json_is_number(v))
        q->borrowed = true;
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

/* Not priced: the status and why; false, for `return refuse(…)`. */
#define refuse(q, st, ...) refuse_why((q), (st), mk_arena_printf((q)->ar, __VA_ARGS__))

static bool refuse_why(quote *q, mk_dbcost_status st, const char *why)
{
    q->ans.status = st;
    q->ans.why = why;
    return false;
}

static const char *where(quote *q)
{
    return json_string_value(json_object_get(q->cloud, "where")) ?: "the catalog's source prices none";
}

/* The class's hourly price for the engine here: its own key, else "*" (a
 * price for every engine, as Cloud SQL's shared-core tiers). */
static bool class_hour(quote *q, json_t *c, double *out)
{
    json_t *hour = json_object_get(c, "hour");
    return at(q, json_object_get(hour, q->key), out) || at(q, json_object_get(hour, "*"), out);
}

/* Priced by vCPU and memory (Cloud SQL prices its tiers so). */
static bool shape_hour(quote *q, double vcpu, double mem, double *out)
{
    json_t *custom = json_object_get(q->cloud, "custom");
    double v, g;
    if (!at(q, json_object_get(custom, "vcpu_hour"), &v) || !at(q, json_object_get(custom, "gib_hour"), &g))
        return false;
    *out = v * vcpu + g * mem;
    return true;
}

static bool price_of(quote *q, json_t *c, double *out)
{
    if (json_object_get(c, "hour"))
        return class_hour(q, c, out);
    return shape_hour(q, num_of(c, "vcpu", 0), num_of(c, "memory_gib", 0), out);
}

static bool same_size(double want, double have) { return fabs(want - have) <= 0.01 * have + 1e-9; }

static bool pinned(quote *q, const mk_dbcost_catalog *cat)
{
    const mk_dbcost_ask *a = q->a;
    json_t *c = find_class(q->cloud, a->klass);
    double vcpu, mem, h;
    bool custom = !c && json_object_get(q->cloud, "custom") && custom_name(a->klass, &vcpu, &mem);
    if (!c && !custom) {
        const char *owner = cloud_of_class(cat, a->klass), *shape = mk_offername_cloud("instance_class", a->klass, strlen(a->klass));
        if (owner || (shape && strcmp(shape, a->cloud) != 0))
            return refuse(q, MK_DBCOST_NOT_HERE, "instance_class %s is sold by %s, not %s", a->klass, owner ?: shape, a->cloud);
        if (shape) /* note [pin shapes] in offername.c */
            return refuse(q, MK_DBCOST_UNPRICED, "the %s catalog has no price for instance_class %s: it prices %zu classes (%s)",
                          a->cloud, a->klass, json_array_size(json_object_get(q->cloud, "classes")), where(q));
        const char *near = nearest_class(cat, a->klass);
        return refuse(q, MK_DBCOST_UNPRICED, "instance_class %s is not a class the catalogs know%s%s%s", a->klass,
                      near ? " (did you mean " : "", near ?: "", near ? "?)" : "");
    }
    if (c)
        vcpu = num_of(c, "vcpu", 0), mem = num_of(c, "memory_gib", 0);
    if (!same_size(a->cpu, vcpu) || !same_size(a->mem_gib, mem))
        return refuse(q, MK_DBCOST_UNPRICED, "%s has %g vCPU and %g GiB: set cpu = %g and memory = %gGiB", a->klass, vcpu, mem,
                      vcpu, mem);
    if (!(c ? price_of(q, c, &h) : shape_hour(q, vcpu, mem, &h)))
        return refuse(q, MK_DBCOST_NOT_HERE, "no %s price for %s (%s) in %s (%s)", a->cloud, a->klass, q->key, a->region, where(q));
    q->klass = a->klass, q->cls = c, q->vcpu = vcpu, q->hourly = h;
    return true;
}

/* The cheapest class of the kind (burstable or not) with the vCPUs and
 * memory asked for; ties go to the name that sorts first. */
static void cheapest(quote *q, bool burstable)
{
    const mk_dbcost_ask *a = q->a;
    size_t i;
    json_t *c;
    double h;
    bool borrowed = false; /* the winner's, not every candidate's */
    json_array_foreach(json_object_get(q->cloud, "classes"), i, c) {
        const char *name = json_string_value(json_object_get(c, "class")) ?: "";
        q->borrowed = false;
        if (json_is_true(json_object_get(c, "burstable")) != burstable || num_of(c, "vcpu", 0) < a->cpu ||
            num_of(c, "memory_gib", 0) + 1e-9 < a->mem_gib || !price_of(q, c, &h))
            continue;
        if (!q->klass || h < q->hourly || (h == q->hourly && strcmp(name, q->klass) < 0))
            q->klass = name, q->cls = c, q->hourly = h, q->vcpu = num_of(c, "vcpu", 0), borrowed = q->borrowed;
    }
    q->borrowed = borrowed;
}

/* Unpinned: with custom shapes (Cloud SQL), the shape itself; else the
 * cheapest class that fits, a burstable one only when no other does (a
 * burstable class sustains only its baseline). */
static bool fitted(quote *q)
{
    const mk_dbcost_ask *a = q->a;
    double h;
    if (json_object_get(q->cloud, "custom") && shape_hour(q, a->cpu, a->mem_gib, &h)) {
        q->klass = mk_arena_printf(q->ar, "db-custom-%g-%g", a->cpu, round(a->mem_gib * 1024));
        q->vcpu = a->cpu, q->hourly = h;
        return true;
    }
    cheapest(q, false);
    if (!q->klass)
        cheapest(q, true);
    if (!q->klass)
        return refuse(q, MK_DBCOST_NOT_HERE, "no %s class with >= %g vCPU and >= %g GiB priced for %s: the catalog prices %zu classes (%s)",
                      a->cloud, a->cpu, a->mem_gib, q->key, json_array_size(json_object_get(q->cloud, "classes")), where(q));
    return true;
}

/* ---- storage ---- */

/* The first cloud whose database storage has the type; NULL for none. */
static const char *storage_cloud(const mk_dbcost_catalog *cat, const char *type)
{
    const char *cloud;
    json_t *cv;
    json_object_foreach(cat->doc, cloud, cv)
        if (json_object_get(json_object_get(json_object_get(cv, "storage"), "types"), type))
            return cloud;
    return NULL;
}

bool mk_dbcost_sells_storage(mk_dbcost_catalog *cat, const char *type, const char **near)
{
    const char *names[64], *cloud, *k;
    size_t n = 0;
    json_t *cv, *v;
    *near = NULL;
    if (storage_cloud(cat, type))
        return true;
    json_object_foreach(cat->doc, cloud, cv)
        json_object_foreach(json_object_get(json_object_get(cv, "storage"), "types"), k, v)
            if (n < sizeof names / sizeof *names)
                names[n++] = k;
    *near = mk_diag_suggest(type, names, n);
    return false;
}

static double gp3_baseline(json_t *steps, double gb)
{
    double base = 0;
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s)
        if (gb >= json_number_value(json_array_get(s, 0)))
            base = json_number_value(json_array_get(s, 1));
    return base;
}

static bool engine_in(json_t *list, const char *engine)
{
    size_t i;
    json_t *e;
    if (!list)
        return true;
    json_array_foreach(list, i, e)
        if (strcmp(json_string_value(e) ?: "", engine) == 0)
            return true;
    return false;
}

/* IOPS billed beyond what the volume includes: io1's at least min_iops,
 * gp3's above its baseline, Azure's above 300 free and 3 a GB. */
static double billed_iops(json_t *t, const mk_dbcost_ask *a, double gb)
{
    json_t *free = json_object_get(t, "free_iops");
    double min = num_of(t, "min_iops", 0), base;
    if (json_object_get(t, "baseline_iops"))
        base = gp3_baseline(json_object_get(t, "baseline_iops"), gb);
    else if (free)
        base = json_number_value(json_array_get(free, 0)) + json_number_value(json_array_get(free, 1)) * gb;
    else
        return a->iops > min ? a->iops : min;
    return a->iops > base ? a->iops - base : 0;
}

static bool storage(quote *q, const mk_dbcost_catalog *cat, int copies)
{
    const mk_dbcost_ask *a = q->a;
    json_t *st = json_object_get(q->cloud, "storage");
    const char *type = a->storage_type ?: json_string_value(json_object_get(q->cls, "storage"))
                                          ?: json_string_value(json_object_get(json_object_get(st, "engines"), a->engine))
                                          ?: json_string_value(json_object_get(st, "default")) ?: "";
    json_t *t = json_object_get(json_object_get(st, "types"), type);
    double gb_month, iops_month;
    if (!t) {
        /* not sold here: another cloud's type (gp3 on GCP) takes this cloud
         * out of the candidates, never prices it at nothing; only a type no
         * catalog knows (E0403 before placement, mk_dbcost_sells_storage) is
         * unpriced everywhere */
        const char *k, *names = "", *owner = storage_cloud(cat, type);
        json_t *v;
        json_object_foreach(json_object_get(st, "types"), k, v)
            names = mk_arena_printf(q->ar, "%s%s%s", names, *names ? ", " : "", k);
        if (owner)
            return refuse(q, MK_DBCOST_NOT_HERE, "storage_type %s is sold by %s, not %s (%s sells %s)", type, owner, a->cloud,
                          a->cloud, names);
        return refuse(q, MK_DBCOST_UNPRICED, "storage_type %s is not one of %s's priced types (%s)", type, a->cloud, names);
    }
    if (!at(q, json_object_get(t, "gb_month"), &gb_month))
        return refuse(q, MK_DBCOST_NOT_HERE, "no %s %s storage price in %s (%s)", a->cloud, type, a->region, where(q));
    double gb = fmax(a->storage_gib, num_of(t, "min_gb", 0));
    if (json_is_true(json_object_get(t, "one_volume"))) /* Aurora: the cluster's volume, standbys and replicas read it */
        copies = 1;
    line(q, gb_month, gb * copies);
    if (at(q, json_object_get(t, "iops_month"), &iops_month) && engine_in(json_object_get(t, "iops_engines"), a->engine))
        line(q, iops_month, billed_iops(t, a, gb) * copies);
    return true;
}

/* ---- the extras ---- */

/* "5.7.44" is of major version "5.7"; "11.22" of "11". */
static bool of_version(const char *version, const char *major)
{
    size_t n = strlen(major);
    return strncmp(version, major, n) == 0 && (version[n] == 0 || version[n] == '.');
}

static void extended_support(quote *q)
{
    json_t *es = json_object_get(q->cloud, "extended_support");
    double rate;
    size_t i;
    json_t *v;
    if (!q->a->version || !at(q, json_object_get(es, "vcpu_hour"), &rate))
        return;
    json_array_foreach(json_object_get(json_object_get(es, "versions"), q->a->engine), i, v)
        if (of_version(q->a->version, json_string_value(v) ?: "")) {
            line(q, rate, q->vcpu * HOURS);
            q->ans.why = mk_arena_printf(q->ar, "%s %s: extended support, %s", q->a->engine, q->a->version,
                                         json_string_value(json_object_get(es, "note")) ?: "");
            return;
        }
}

static bool extras(quote *q)
{
    const mk_dbcost_ask *a = q->a;
    double backup, ip;
    if (a->backup_gib > 0) {
        json_t *rate = json_object_get(json_object_get(q->cloud, "backup_engines"), a->engine);
        if (!at(q, rate ?: json_object_get(q->cloud, "backup_gb_month"), &backup))
            return refuse(q, MK_DBCOST_NOT_HERE, "no %s backup storage price in %s (%s)", a->cloud, a->region, where(q));
        line(q, backup, a->backup_gib);
    }
    if (a->public_ip && at(q, json_object_get(q->cloud, "public_ip_hour"), &ip))
        line(q, ip, HOURS);
    extended_support(q);
    const char *lic = json_string_value(json_object_get(json_object_get(q->cloud, "licence_note"), a->engine));
    if (lic)
        q->ans.why = lic;
    return true;
}

/* The engine's price key: an edition is part of it where the cloud prices
 * editions apart (RDS SQL Server); there an edition is needed. */
static bool engine_key(quote *q)
{
    const mk_dbcost_ask *a = q->a;
    bool editions = json_is_true(json_object_get(json_object_get(q->cloud, "editions"), a->engine));
    if (!editions) {
        q->key = a->engine;
        return true;
    }
    if (!a->edition)
        return refuse(q, MK_DBCOST_UNPRICED, "%s on %s is priced per edition: set edition (express, web, standard or enterprise)",
                      a->engine, a->cloud);
    q->key = mk_arena_printf(q->ar, "%s-%s", a->engine, a->edition);
    return true;
}

static bool instance(quote *q, const mk_dbcost_catalog *cat)
{
    const mk_dbcost_ask *a = q->a;
    if (!engine_key(q) || !(a->klass ? pinned(q, cat) : fitted(q)))
        return false;
    double standby = a->multi_az ? num_of(q->cloud, "standby", 2) : 1, licence;
    int replicas = a->replicas > 0 ? a->replicas : 0;
    line(q, q->hourly, HOURS * (standby + replicas));
    /* a licence billed apart per vCore-hour (Azure SQL Database), the primary's */
    if (at(q, json_object_get(q->cls, "licence_vcore_hour"), &licence))
        line(q, licence, q->vcpu * HOURS);
    /* replicas with their own volume, unless they read the primary's (Hyperscale) */
    bool shared = json_is_true(json_object_get(q->cls, "replicas_share_storage"));
    return storage(q, cat, (int)standby + (shared ? 0 : replicas)) && extras(q);
}

const char *mk_dbcost_check_pin(mk_dbcost_catalog *cat, const char *klass, double cpu, double mem_gib, const char **hint,
                                bool *known)
{
    mk_arena *ar = cat->arena;
    const char *cloud = cloud_of_class(cat, klass);
    double vcpu, mem;
    *known = cloud != NULL;
    if (!cloud) {
        const char *near = nearest_class(cat, klass);
        *hint = near ? mk_arena_printf(ar, "did you mean `%s`?", near) : "the classes are in stdlib/pricing/database.json";
        return mk_arena_printf(ar, "instance_class `%s` is not a class the catalogs know", klass);
    }
    json_t *c = find_class(json_object_get(cat->doc, cloud), klass);
    if (c)
        vcpu = num_of(c, "vcpu", 0), mem = num_of(c, "memory_gib", 0);
    else
        custom_name(klass, &vcpu, &mem);
    if (same_size(cpu, vcpu) && same_size(mem_gib, mem))
        return NULL;
    *hint = mk_arena_printf(ar, "set cpu = %g and memory = %gGiB", vcpu, mem);
    return mk_arena_printf(ar, "%s (%s) has %g vCPU and %g GiB, not %g and %g", klass, cloud, vcpu, mem, cpu, mem_gib);
}

/* An engine that clouds name in their storage.engines (aurora-mysql on
 * AWS) is theirs alone: a class priced for every engine ("*", Cloud SQL's
 * custom rates) does not sell it. The clouds that sell it when this one does
 * not, else NULL. */
static const char *engine_clouds(const mk_dbcost_catalog *cat, const char *engine, quote *q)
{
    const char *cloud, *owners = NULL;
    json_t *cv;
    if (json_object_get(json_object_get(json_object_get(q->cloud, "storage"), "engines"), engine))
        return NULL;
    json_object_foreach(cat->doc, cloud, cv)
        if (json_object_get(json_object_get(json_object_get(cv, "storage"), "engines"), engine))
            owners = owners ? mk_arena_printf(q->ar, "%s and %s", owners, cloud) : cloud;
    return owners;
}

static mk_dbcost_answer price(const mk_dbcost_catalog *cat, const mk_dbcost_ask *a, mk_arena *ar)
{
    quote q = {.a = a, .ar = ar, .cloud = json_object_get(cat->doc, a->cloud ?: "")};
    q.ans.status = MK_DBCOST_PRICED;
    if (!json_is_object(q.cloud)) {
        refuse(&q, MK_DBCOST_NOT_HERE, "no database prices for %s", a->cloud ?: "?");
        return q.ans;
    }
    if (!a->engine || a->cpu < 0 || a->mem_gib < 0 || a->storage_gib < 0) {
        refuse(&q, MK_DBCOST_UNPRICED, "engine, cpu, memory or storage is not known");
        return q.ans;
    }
    const char *only = engine_clouds(cat, a->engine, &q);
    if (only) {
        refuse(&q, MK_DBCOST_NOT_HERE, "engine %s is sold by %s only, not %s", a->engine, only, a->cloud);
        return q.ans;
    }
    if (!instance(&q, cat))
        return q.ans;
    if (q.bad || q.sum > MAX_MONTHLY) {
        refuse(&q, MK_DBCOST_UNPRICED, "its price is out of range (over $1,000,000,000 a month): check its sizes and usage");
        return q.ans;
    }
    q.ans.monthly = q.sum;
    if (q.borrowed)
        q.ans.why = mk_arena_printf(ar, "%s's figures, as the catalog has none for %s (%s)%s%s",
                                    json_string_value(json_object_get(q.cloud, "elsewhere")), a->region, where(&q),
                                    q.ans.why ? "; " : "", q.ans.why ?: "");
    const char *offering = json_string_value(json_object_get(q.cls, "offering"))
                               ?: json_string_value(json_object_get(q.cloud, "offering")) ?: a->cloud;
    q.ans.offering = mk_arena_printf(ar, "%s %s", offering, q.klass);
    return q.ans;
}

/* ---- answers kept per ask ---- */

/* An ask as bytes: each string and a 0 (a 1 for none), then the numbers. */
static size_t ask_key(const mk_dbcost_ask *a, char *buf, size_t cap)
{
    const char *const strs[] = {a->cloud, a->region, a->engine, a->version, a->klass, a->edition, a->storage_type};
    const double nums[] = {a->cpu, a->mem_gib, a->storage_gib, a->iops, a->backup_gib, a->replicas, a->multi_az, a->public_ip};
    size_t n = 0;
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        size_t len = strs[i] ? strlen(strs[i]) : 0;
        if (n + len + 1 + sizeof nums > cap)
            return 0;
        memcpy(buf + n, strs[i] ?: "", len);
        n += len;
        buf[n++] = strs[i] ? 0 : 1;
    }
    memcpy(buf + n, nums, sizeof nums);
    return n + sizeof nums;
}

mk_dbcost_answer mk_dbcost_price(mk_dbcost_catalog *cat, const mk_dbcost_ask *a)
{
    char buf[1024];
    size_t n = ask_key(a, buf, sizeof buf);
    if (!n) /* an ask too long to keep: priced each time */
        return price(cat, a, cat->arena);
    mk_name key = mk_intern_n(cat->asks, buf, n);
    mk_dbcost_answer *ans = mk_sym_get(&cat->kept, key, NULL);
    if (!ans) {
        ans = mk_arena_alloc(cat->arena, sizeof *ans);
        *ans = price(cat, a, cat->arena);
        mk_sym_put(&cat->kept, key, NULL, ans);
    }
    return *ans;
}
