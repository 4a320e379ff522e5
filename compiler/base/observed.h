/* observed — the compiler's read-only view of what the executor last saw
 * of the world (`moksha.observed/v1`, .moksha/observed.json; docs/drift.md,
 * "Observations"). The compiler never reads the world and never writes
 * this file: `moksha-exec refresh` does. A missing file is "never
 * refreshed". It decides nothing about drift either: the differ
 * (middle/plan.c) asks it for the current observation of a state entry.
 * mk_observed owns its jansson document. */
#ifndef MK_OBSERVED_H
#define MK_OBSERVED_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct mk_diag;
struct mk_state;

typedef struct mk_observed {
    json_t *root;          /* NULL: never refreshed, or a file of another state (ignored) */
    const char *at;        /* when the refresh read (the file's `at`), or NULL */
    int64_t serial;        /* the state's serial when it was read */
    json_t *resources;     /* address → observation (borrowed from root) */
} mk_observed;

/* Read an observations file; a file that does not exist is none (root
 * NULL). A damaged one reports E0306 (with file:line:col when it does not
 * parse) and returns NULL. */
mk_observed *mk_observed_read(const char *path, struct mk_diag *diag);
/* The same from a file's bytes (the executor service's `observed` answer),
 * named name in messages; text NULL is none. text stays the caller's. */
mk_observed *mk_observed_parse(const char *text, size_t len, const char *name, struct mk_diag *diag);
/* Keep the observations only when they are of this state (its lineage and
 * stack id): else they are dropped, with a warning (W0002), and o reads as
 * never refreshed. */
void mk_observed_bind(mk_observed *o, const struct mk_state *st, struct mk_diag *diag);
void mk_observed_free(mk_observed *o);
/* The observation of a state entry while it is current — its `entry`
 * digest is the entry's attributes' — else NULL. The digest is computed
 * only for an entry that has an observation. */
json_t *mk_observed_of(const mk_observed *o, json_t *state_entry);
/* SHA-256 (hex) of attributes as json_dumps(JSON_COMPACT | JSON_SORT_KEYS)
 * writes them: the `entry` digest. */
void mk_observed_digest(json_t *attributes, char out[65]);

#endif
