/* state — the compiler's read-only view of applied state
 * (`moksha.state/v1`, .moksha/state.json; docs/formats.md). The compiler
 * never writes state: the executor does. A missing file is an empty state.
 * mk_state owns its jansson document. */
#ifndef MK_STATE_H
#define MK_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct mk_diag;
struct mk_key;

typedef struct mk_state {
    json_t *root;          /* NULL when there is no state yet */
    const char *lineage;   /* "" for none */
    int64_t serial;
    json_t **res;          /* the resource objects, in file order */
    size_t nres;
    /* the address's hash kept beside it: a probe compares it before the
     * address, which lies far away in the parsed document */
    struct mk_state_slot { const char *address; uint32_t index, hash; } *slots;
    size_t cap;
    /* the executor's `fingerprint_key` (docs/trust.md): what a plan sealing
     * to the executor fingerprints its secrets with */
    bool has_fp_key;
    uint8_t fp_key[32];
} mk_state;

/* Read a state file; on a malformed file reports E0300 and returns NULL. */
mk_state *mk_state_read(const char *path, struct mk_diag *diag);
/* The same from a state's bytes (the executor service's `state` answer),
 * named name in messages; text NULL is no state yet. text is parsed in
 * place and restored; it stays the caller's. */
mk_state *mk_state_parse(char *text, size_t len, const char *name, struct mk_diag *diag);
void mk_state_free(mk_state *s);
/* The resource object at an address, or NULL; *index gets its position. */
json_t *mk_state_find(const mk_state *s, const char *address, size_t *index);
/* The state's fingerprint_key into k's has_fp_key and fp_key (none for no
 * state, or a state without one). */
void mk_state_fingerprint_key(const mk_state *s, struct mk_key *k);

#endif
