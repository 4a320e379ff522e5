/* storage — the prices of disks and buckets: a volume (its disk_type or the
 * cheapest disk of its class, provisioned IOPS and throughput, Azure's size
 * tiers, snapshots), a compute's root disk, and a bucket (storage class,
 * redundancy, tiered storage, requests, egress by volume tier). It reads one
 * cloud's catalog entries (stdlib/pricing/README.md) and answers price lines;
 * cost.c turns them into money, places nothing and knows the other types.
 * The rules are docs/cost.md, "Storage".
 *
 * Ownership: every string in a bill is borrowed from the catalog or made in
 * the arena of the mk_storage_where. */
#ifndef MK_STORAGE_H
#define MK_STORAGE_H

#include <jansson.h>
#include <stdbool.h>

#include "compiler/front/value.h"

struct mk_arena;

/* As mk_cost_status (cost.h), in the same order: cost.h holds a bucket's ask
 * in its spec, so this header cannot include it. */
typedef enum mk_storage_status {
    MK_STORAGE_PRICED,
    MK_STORAGE_NOT_HERE,
    MK_STORAGE_UNPRICED
} mk_storage_status;

/* One cloud's catalog at one of its regions (index ri into its `regions`). */
typedef struct mk_storage_where {
    const char *cloud, *region;
    int ri;
    json_t *doc;
    struct mk_arena *arena;
} mk_storage_where;

/* A price line: a catalog's unit price times a quantity (note [money]). */
typedef struct mk_storage_line {
    double unit, qty;
} mk_storage_line;

#define MK_STORAGE_LINES 16

typedef struct mk_storage_bill {
    mk_storage_status status;
    const char *offering, *why; /* why: the reason when not priced, else a note or NULL */
    mk_storage_line line[MK_STORAGE_LINES];
    int n;
} mk_storage_bill;

/* A volume from its attributes (size, class, disk_type, iops, throughput) and
 * usage (snapshots). */
mk_storage_bill mk_storage_volume(const mk_storage_where *w, const mk_value *attrs, const mk_value *usage);
/* What a bucket asks, read from its attributes (storage_class, redundancy)
 * and usage (stored and egress in GiB, requests, reads): plain bytes, so a
 * caller may compare two asks with memcmp and reuse a bill. */
typedef struct mk_storage_bucket_ask {
    char cls[32], red[32]; /* red "": none asked */
    double gib, egress, requests, reads;
} mk_storage_bucket_ask;

void mk_storage_bucket_ask_of(const mk_value *attrs, const mk_value *usage, mk_storage_bucket_ask *a);
/* The bucket's bill; egress_gb is the rate used where the catalog has no
 * egress tiers. */
mk_storage_bill mk_storage_bucket(const mk_storage_where *w, const mk_storage_bucket_ask *a, double egress_gb);
/* A compute's root disk (its `disk` size, its `disk_type` or the catalog's
 * `root_disk`): its lines are added to b. False, with b's status and why
 * set, when this cloud cannot sell that disk here. */
bool mk_storage_root(const mk_storage_where *w, const mk_value *attrs, mk_storage_bill *b);
/* An int, size (bytes) or number value as a double; false for anything else. */
bool mk_storage_number(const mk_value *v, double *out);
/* Does the catalog sell a disk of this disk_type? Else, the closest name it
 * sells (for "did you mean"), NULL for none. */
bool mk_storage_sells(json_t *doc, const char *disk_type, const char **closest);

#endif
