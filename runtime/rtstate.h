/* rtstate — the executor's side of `moksha.state/v1` (docs/formats.md): load
 * .moksha/state.json, change resources in memory, and write it atomically
 * (temp file, fsync, rename, the previous copy kept as state.json.prev) with
 * the serial one higher per write. The compiler reads the same file with its
 * own code (compiler/base/state.c); the house rule keeps them apart.
 *
 * A mk_rtstate owns its document; entries passed to put are taken. Not
 * thread-safe: the executor serialises access under its commit lock. */
#ifndef MK_RUNTIME_RTSTATE_H
#define MK_RUNTIME_RTSTATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mk_audit_mark;

typedef struct mk_rtstate {
    char *path;
    json_t *doc;       /* format, lineage, serial, resources (rebuilt on dump) */
    json_t *by_addr;   /* address → entry, in state order */
    json_t *texts;     /* address → the entry's text (note [state text]) */
    json_t *put;       /* note [state delta]: address → text, put since the last snapshot */
    json_t *removed;   /* address → true, removed since the last snapshot */
} mk_rtstate;

/* A missing file is an empty state (lineage "", serial 0). */
mk_rtstate *mk_rtstate_load(const char *path, char *why, size_t whylen);
void mk_rtstate_free(mk_rtstate *s);

const char *mk_rtstate_lineage(const mk_rtstate *s);
long long mk_rtstate_serial(const mk_rtstate *s);
/* Give a new state its lineage (a random UUID) if it has none yet. */
void mk_rtstate_ensure_lineage(mk_rtstate *s);

/* The last audit entry written with the state ("audit": {"seq", "hash"};
 * note [audit head] in audit.c): false when it names none. */
bool mk_rtstate_audit_mark(const mk_rtstate *s, long long *seq, char hash[65]);
void mk_rtstate_set_audit_mark(mk_rtstate *s, long long seq, const char *hash);
/* All the state says of the audit log, for mk_audit_open and verify: that
 * mark, the serial, and whether the executor wrote this state. */
void mk_rtstate_audit_record(const mk_rtstate *s, struct mk_audit_mark *m);

/* note [fingerprint key]: trust mode's "fingerprint_key" (64 hex digits:
 * 32 random bytes), the key of every secret's fingerprint in this state
 * and the plans made from it. false when the state has none; new makes one
 * (written with the state's next write). */
bool mk_rtstate_fingerprint_key(const mk_rtstate *s, uint8_t out[32]);
void mk_rtstate_new_fingerprint_key(mk_rtstate *s, uint8_t out[32]);

/* Undo intents ("intents": {ADDRESS: {…}}; note [durable undo] in
 * exec.c): borrowed, or NULL when none. set takes intent (NULL removes);
 * the object is replaced, never changed, so a snapshot being serialised
 * on another thread keeps the one it has. */
json_t *mk_rtstate_intents(const mk_rtstate *s);
void mk_rtstate_set_intent(mk_rtstate *s, const char *address, json_t *intent);
void mk_rtstate_clear_intents(mk_rtstate *s);

/* The provider blocks of the last plan applied ("providers": alias →
 * {"type", "settings"}; docs/drift.md "Provider settings"), which a
 * refresh reads with: borrowed, or NULL when none was recorded. set
 * copies providers (a plan's) into the document; a plan with none (NULL)
 * is recorded as {} (every alias with its kind's defaults). */
json_t *mk_rtstate_providers(const mk_rtstate *s);
void mk_rtstate_set_providers(mk_rtstate *s, json_t *providers);

/* The stack's outputs as the last apply recorded them ("outputs": name →
 * value as the plan holds it, a secret sealed; docs/formats.md): borrowed,
 * or NULL when none were. set copies a plan's outputs into the document
 * (none, or {}, removes the member, so a stack without outputs never has
 * one); true when that changed the document. */
json_t *mk_rtstate_outputs(const mk_rtstate *s);
bool mk_rtstate_set_outputs(mk_rtstate *s, json_t *outputs);

json_t *mk_rtstate_get(const mk_rtstate *s, const char *address); /* borrowed */
void mk_rtstate_put(mk_rtstate *s, json_t *entry);               /* takes entry */
/* An entry's text as the file holds it (a JSON string, new reference), and
 * put with that text made beforehand (note [state text]); takes both. */
json_t *mk_rtstate_entry_text(json_t *entry);
void mk_rtstate_put_text(mk_rtstate *s, json_t *entry, json_t *text);
bool mk_rtstate_remove(mk_rtstate *s, const char *address);

/* serial + 1, then the document's text (malloc'd); write it with save. */
char *mk_rtstate_dump(mk_rtstate *s);
/* note [state delta]: the state remembers which entries were put or
 * removed since it was loaded or last snapshot, for a backend that writes
 * only what changed (postgres: a row per entry, a delta per serial;
 * docs/state.md). mk_rtstate_snapshot moves that record into the
 * snapshot as its member "delta": {"put": {ADDRESS: TEXT}, "removed":
 * [ADDRESS]} (TEXT the entry's text, as the file holds it), which
 * mk_rtstate_text leaves out. An entry put again keeps its place in the
 * state's order; a new one goes last. */
/* serial + 1, then a snapshot of the document (new reference) that shares
 * the entries — which are never changed once put, only replaced — so it
 * can be serialised (mk_rtstate_text) on another thread while s goes on. */
json_t *mk_rtstate_snapshot(mk_rtstate *s);
/* The text of a snapshot (malloc'd); takes the snapshot. */
char *mk_rtstate_text(json_t *snapshot);
bool mk_rtstate_save_text(const mk_rtstate *s, const char *text);
/* The same into path: text and a newline, atomically, the previous copy
 * kept as PATH.prev (the local backend's write). False with errno set. */
bool mk_rtstate_write_file(const char *path, const char *text);
/* dump + save. */
bool mk_rtstate_save(mk_rtstate *s);

#endif
