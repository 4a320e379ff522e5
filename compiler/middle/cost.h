/* cost — the cost model's prices (DESIGN.md §5, docs/cost.md); placement,
 * which uses them, is place.h.
 *
 * Price catalogs (stdlib/pricing/{aws,gcp,azure,opencost}.json, made by the
 * scripts in stdlib/pricing/tools/ from the corpus) are loaded once. An
 * evaluated resource instance is priced per month in one cloud and region by
 * mapping it to the cheapest offering that satisfies it: 730 hours a month,
 * scaled by usage.
 *
 * Ownership: mk_cost_catalog owns the catalogs; the strings in a quote
 * (cloud, region, offering, why) are borrowed from it. */
#ifndef MK_COST_H
#define MK_COST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "compiler/base/money.h"
#include "compiler/front/program.h"
#include "compiler/middle/storage.h"

struct mk_diag;
struct mk_state;

typedef struct mk_cost_catalog mk_cost_catalog;

/* Load the catalogs of SHARE/stdlib/pricing/; E0400 for a missing or broken catalog
 * (then NULL). */
mk_cost_catalog *mk_cost_load(const char *share_dir, struct mk_diag *diag);
void mk_cost_free(mk_cost_catalog *cat);

typedef enum mk_cost_status {
    MK_COST_PRICED,   /* monthly is the price (0 for what is really free) */
    MK_COST_NOT_HERE, /* no offering in this cloud+region: not a placement candidate */
    MK_COST_UNPRICED  /* no price anywhere (type without catalog figures, unknown size) */
} mk_cost_status;

typedef struct mk_cost_quote {
    mk_cost_status status;
    const char *cloud, *region, *offering; /* offering NULL when none */
    mk_money monthly;                      /* a month (note [money]) */
    const char *why;                       /* the reason for NOT_HERE/UNPRICED, or a note; NULL for none */
    bool off_cloud;                        /* note [off cloud]: no cloud's, $0.00 of its own, why says whose */
} mk_cost_quote;

/* note [off cloud]: a resource a provider serves rather than a cloud — a
 * provider's own type (a dotted name: local.file, postgres.role …) or a
 * `database` a postgres provider takes (self-hosted, front/route.c) — is
 * placed nowhere and has nothing of its own to price: its quote is $0.00,
 * off_cloud, with why saying whose it is ("a file on this machine costs
 * nothing", "self-hosted on connection dev"), and it is never counted
 * unpriced. */
bool mk_cost_off_cloud(const mk_instance *in);

/* Does any catalog sell a disk of this disk_type? Else *near is the closest
 * name one does (NULL for none), for "did you mean" (pin.c). */
bool mk_cost_sells_disk(const mk_cost_catalog *cat, const char *disk_type, const char **near);

/* Price one instance in one cloud and region. */
mk_cost_quote mk_cost_price(mk_cost_catalog *cat, const mk_instance *in, const char *cloud, const char *region);
/* The same for applied state: a resource object of .moksha/state.json, priced
 * where it stands (its placement), its attributes read back with its type's
 * schema; usage estimates come from the desired instance at that address. */
mk_cost_quote mk_cost_price_state(mk_cost_catalog *cat, mk_program *p, json_t *sres);

/* A resource's shape for pricing, read once (mk_cost_spec_of): placement
 * prices each member of a group at every candidate. Borrows the instance's
 * values. */
typedef struct mk_cost_dbspec {
    const mk_value *engine, *version, *klass, *edition, *storage_type; /* NULL: not set */
    double storage, iops, replicas, backup; /* bytes, count; -1 (replicas 0) when not set */
    bool multi_az, public_ip;
} mk_cost_dbspec;

typedef struct mk_cost_spec {
    const char *type;
    const char *self_hosted;   /* a self-hosted database's connection (note [off cloud]); else NULL */
    const mk_value *attrs, *usage;
    bool shaped, sized, arm, shared, monitored;
    double cpu, mem, hours, credits;
    /* a compute's pin (instance_type), os and purchase as written; NULL when null */
    const mk_value *pin, *os, *purchase;
    bool disk_pinned;          /* compute: a disk_type is given */
    double disk_bytes;         /* compute: its root disk's size, -1 unknown */
    mk_storage_bucket_ask ask; /* bucket */
    mk_cost_dbspec db; /* a database's, read in one pass over its attributes */
} mk_cost_spec;

/* Each database's pinned instance_class: E0403 at the pin when no cloud
 * sells it (the nearest name in the help), E0404 when its cpu and memory
 * are not the class's (the right ones in the help); false then. Pricing
 * refuses the same, per place. A compute's pins are pin.c's. */
bool mk_cost_check_db_pins(mk_cost_catalog *cat, mk_program *p);

/* The applied state priced where it stands: each resource's part (by its
 * index in st; 0 when unpriced), added to *total; *overflow set when a sum
 * does not fit. like (may be NULL: looked up by address) is the desired
 * instance at each resource's address, whose usage prices it. The caller
 * frees the array; NULL for no state. */
mk_money *mk_cost_applied(mk_cost_catalog *cat, mk_program *p, const struct mk_state *st,
                          const mk_instance *const *like, mk_money *total, bool *overflow);

/* What placement (place.c) asks of the catalogs: the clouds by index
 * (0 .. MK_COST_NCLOUDS-1), their priced regions by index, and pricing at
 * those indexes. Region names are the catalog's own strings. */
#define MK_COST_NCLOUDS 3
const char *mk_cost_cloud(int ci);
int mk_cost_cloud_index(const char *cloud);               /* -1: not a cloud with catalogs */
size_t mk_cost_nregions(const mk_cost_catalog *cat, int ci);
const char *mk_cost_region(const mk_cost_catalog *cat, int ci, size_t ri);
const char *mk_cost_default_region(const mk_cost_catalog *cat, int ci);
int mk_cost_region_index(const mk_cost_catalog *cat, int ci, const char *region); /* -1: no prices there */
/* The catalogs' arena, where explanations (a quote's why) are made. */
struct mk_arena *mk_cost_arena(mk_cost_catalog *cat);
mk_cost_spec mk_cost_spec_of(const mk_instance *in);
mk_cost_quote mk_cost_price_at(mk_cost_catalog *cat, const mk_cost_spec *s, int ci, int ri);

/* What the pin check (pin.c) asks: the compute offering of cloud ci named
 * name (len bytes), its vCPUs and memory in GiB; -1 when ci sells none by
 * that name. And every offering's name, by index, for "did you mean". */
long mk_cost_offer_named(const mk_cost_catalog *cat, int ci, const char *name, size_t len, int *vcpu, double *mem_gib);
size_t mk_cost_noffers(const mk_cost_catalog *cat, int ci);
const char *mk_cost_offer_name(const mk_cost_catalog *cat, int ci, size_t oi);

#endif
