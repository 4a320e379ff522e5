/* dbcost — what a managed database costs a month: its class (pinned, or the
 * cheapest that fits), engine and edition, storage type and IOPS, a standby,
 * read replicas, backup beyond the free allowance, extended support of an
 * old engine version and, where the cloud bills it, its public address.
 * The prices are stdlib/pricing/database.json (tools/database.sh); the rules
 * are docs/cost.md, "Databases". It knows nothing of values or instances:
 * cost.c reads a database's attributes into a mk_dbcost_ask and turns the
 * answer into a quote, so placement and state pricing go through cost.c.
 *
 * Ownership: the catalog owns its JSON, its arena and its answers: an
 * answer's strings are borrowed from it. A stack has many databases of a
 * few shapes, so answers are kept per ask (place and shape). */
#ifndef MK_DBCOST_H
#define MK_DBCOST_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler/base/mem.h"
#include "compiler/base/money.h"

typedef struct mk_dbcost_catalog mk_dbcost_catalog;

/* Load SHARE/stdlib/pricing/database.json; NULL with the reason in why. */
mk_dbcost_catalog *mk_dbcost_load(const char *share_dir, char *why, size_t n);
void mk_dbcost_free(mk_dbcost_catalog *cat);

/* A database as priced: NULL strings and negative numbers are "not set". */
typedef struct mk_dbcost_ask {
    const char *cloud, *region;
    const char *engine, *version, *klass, *edition, *storage_type;
    double cpu, mem_gib, storage_gib, iops, backup_gib;
    int replicas;
    bool multi_az, public_ip;
} mk_dbcost_ask;

typedef enum mk_dbcost_status {
    MK_DBCOST_PRICED,
    MK_DBCOST_NOT_HERE, /* not sold or not priced in this cloud and region */
    MK_DBCOST_UNPRICED  /* no price anywhere: an unknown class, a class's wrong size */
} mk_dbcost_status;

typedef struct mk_dbcost_answer {
    mk_dbcost_status status;
    const char *offering; /* "rds db.t3.large" */
    mk_money monthly;
    const char *why; /* the reason when not priced; else a note or NULL */
} mk_dbcost_answer;

/* A pinned class checked before pricing anywhere: NULL when a cloud sells
 * it with this cpu and memory; else the message, the fix in *hint, and
 * *known whether some cloud sells the class (then its size is wrong). */
const char *mk_dbcost_check_pin(mk_dbcost_catalog *cat, const char *klass, double cpu, double mem_gib, const char **hint,
                                bool *known);

/* Whether some cloud's database storage has the type (gp3, ssd, premium);
 * if not, *near is the nearest name any sells, or NULL. */
bool mk_dbcost_sells_storage(mk_dbcost_catalog *cat, const char *type, const char **near);

mk_dbcost_answer mk_dbcost_price(mk_dbcost_catalog *cat, const mk_dbcost_ask *a);

#endif
