/* lock — the state lock: .moksha/state.lock, created exclusively, holding
 * {"id", "holder", "pid", "host", "operation", "time"} as JSON. Whoever made
 * it removes it; `moksha state unlock ID` removes a dead holder's lock. */
#ifndef MK_RUNTIME_LOCK_H
#define MK_RUNTIME_LOCK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum { MK_LOCK_TAKEN, MK_LOCK_HELD, MK_LOCK_ERROR } mk_lock_status;

/* Take the lock for `operation`. TAKEN: id_out holds its id and *info (if
 * not NULL) the lock's document (json_decref it). HELD: why names the
 * holder and how to free the lock. ERROR: why says what went wrong. */
mk_lock_status mk_lock_take(const char *path, const char *operation, char id_out[37], json_t **info,
                            char *why, size_t whylen);
/* The lock's document (new reference), or NULL when there is none or it is
 * damaged (then mk_lock_take's HELD says so). */
json_t *mk_lock_info(const char *path);
/* Remove the lock if it is ours (id matches). */
bool mk_lock_release(const char *path, const char *id);
/* `state unlock ID`: remove the lock when its id is ID (a damaged lock's id:
 * note [damaged lock]); check_only: only say whether it would. 0 with *info
 * (the lock's document; json_decref it), 1 with why, or 2 with why when the
 * holder is a run still going on this host (never unlocked from under it). */
int mk_lock_force(const char *path, const char *id, bool check_only, json_t **info, char *why, size_t whylen);

#endif
