/* sim.h — the simulated cloud's world, for what changes it out of band
 * (`moksha-exec sim`, runtime/simcmd.c) and nothing else: the executor
 * reaches the sim only through provider.h. An object is the JSON of one
 * file in MK_PROV_SIM_DIR: {"address", "type", "cloud", "region", "id",
 * "attributes", "computed", "owner"?, "fail"?, "fail_message"?}
 * (docs/providers.md). Returned objects are the caller's. */
#ifndef MK_PROV_SIM_H
#define MK_PROV_SIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/paths.h"

#define MK_PROV_SIM_DIR MK_PATH_SIM /* .moksha/sim, or the environment's (runtime/paths.h) */

/* The file of the object at address (not a set-aside one). */
void mk_prov_sim_path(const char *address, char *out, size_t n);
/* The object at address, or NULL when there is none. */
json_t *mk_prov_sim_load(const char *address);
/* Write obj to its address's file (whole, never torn); false with why. */
bool mk_prov_sim_save(json_t *obj, char *why, size_t whylen);
/* A new object as a create makes it — its id and computed attributes, the
 * desired attrs (borrowed) — with no owner; not written. NULL with why for
 * a type the sim does not serve. */
json_t *mk_prov_sim_make(const char *address, const char *type, const char *cloud, const char *region, json_t *attrs,
                         char *why, size_t whylen);
/* Every object of the world, in no order: fn(path, obj, set_aside, ctx)
 * borrows obj; returning false stops. */
void mk_prov_sim_each(bool (*fn)(const char *path, json_t *obj, bool aside, void *ctx), void *ctx);

#endif
