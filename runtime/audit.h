/* audit — the tamper-evident audit log `moksha.audit/v1` (docs/executor.md):
 * JSON lines in .moksha/audit.jsonl, each holding the SHA-256 of the line
 * before it (the first holds 64 zeros), plus .moksha/audit.head naming the
 * last entry written under a MAC with the executor's key (the project
 * key's, or audit.key in trust mode: mk_keyring_head_key), and the state
 * naming the last entry written with it (note [audit head] in audit.c), so
 * that removing entries at the end is caught too.
 *
 * Appending is split in two so the executor can group-commit: `entry`
 * formats and chains a line in memory (cheap, under the caller's lock) and
 * `write` appends a batch of them with one fsync. A mk_audit owns its memory;
 * lines returned by mk_audit_entry are malloc'd and belong to the caller. */
#ifndef MK_RUNTIME_AUDIT_H
#define MK_RUNTIME_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct mk_audit mk_audit;
struct mk_keyring;

/* What the state says of the log: its record of the last entry written
 * with it ({"seq", "hash"}; seq 0 when it names none), and — when
 * from_state, as mk_rtstate_audit_record fills it — its serial and whether
 * the executor wrote it (a lineage, a serial or resources: such a state
 * always names an entry). */
typedef struct mk_audit_mark {
    long long seq;
    char hash[65];
    bool from_state;
    long long serial;
    bool written;
} mk_audit_mark;

/* Open (or start) the log at path, keyed with k (borrowed). Refuses (NULL,
 * reason in why) a log that disagrees with its head or with mark (may be
 * NULL): a NUL byte, a torn last line, a missing or forged head, a head or
 * mark naming an entry the log does not hold, a state older than the head
 * or naming no entry, entries after the head from more than one run.
 * Appending would hide it. */
mk_audit *mk_audit_open(const char *path, const struct mk_keyring *k, const mk_audit_mark *mark, char *why,
                        size_t whylen);
/* How many whole entries the log held after its head when opened: a run
 * stopped between writing them and moving the head, or they were added.
 * The next head covers them, so the caller records that it adopted them. */
size_t mk_audit_tail(const mk_audit *a);

/* note [audit store]: a log a state backend keeps (postgres: its lines as
 * rows, the head with the stack) is opened from the text the backend read
 * — the lines as audit.jsonl would hold them (NULL or n 0: none) and the
 * head's text (NULL: none) — and checked by the same code as the files.
 * Its write and seal hand the lines, and then the head's text, to the
 * store instead of the files (each true once durable, or part of the
 * transaction the backend commits). name says where it is in messages
 * ("postgres web/prod"). */
typedef struct mk_audit_store {
    bool (*write)(void *ctx, const char *lines, size_t n);
    bool (*seal)(void *ctx, const char *head, size_t n);
    void *ctx;
} mk_audit_store;
mk_audit *mk_audit_open_text(const char *name, const char *text, size_t n, const char *head,
                             const struct mk_keyring *k, const mk_audit_mark *mark, const mk_audit_store *store,
                             char *why, size_t whylen);
/* The last entry made (for the state to record with the next write). */
void mk_audit_last(const mk_audit *a, mk_audit_mark *mark);
void mk_audit_close(mk_audit *a);
/* Key rotation: key the head of this open log (checked under its old key
 * when opened) with k from now on, and seal it again for the last entry
 * written, naming serial (note [key rotation] in rotate.c). False with
 * errno set. */
bool mk_audit_rekey(mk_audit *a, const struct mk_keyring *k, long long serial);

/* Chain a new entry: `fields` (borrowed; an object with at least "event")
 * gets format, seq, time and prev prepended. Returns the line with its
 * newline (malloc'd). Entries must then be written in the order made. */
char *mk_audit_entry(mk_audit *a, json_t *fields);
/* The same from the fields' compact JSON text ("{\"event\":…}"), made
 * beforehand so that only the chaining happens where entries are ordered. */
char *mk_audit_entry_text(mk_audit *a, const char *fields);
/* Append lines (one or more, concatenated) and fsync; the head stays. */
bool mk_audit_write(mk_audit *a, const char *lines, size_t n);
/* Move the head to the last entry written, naming the serial of the state
 * now on disk: called after the state is written (note [audit head]). */
bool mk_audit_seal(mk_audit *a, long long serial);
/* entry + write + seal (with the state's serial as opened), for one-off
 * events of commands that do not write the state. Takes fields. */
bool mk_audit_append(mk_audit *a, json_t *fields);

/* Check every byte, the chain, the head (keyed with k; NULL: cannot) and the
 * state's mark (may be NULL). Prints "ok: N entries…" or names the first
 * damage, or entry altered, removed or inserted, to out. 0 when intact. */
int mk_audit_verify(const char *path, const struct mk_keyring *k, const mk_audit_mark *mark, FILE *out);
/* The same for a log a backend keeps (note [audit store]). */
int mk_audit_verify_text(const char *name, const char *text, size_t n, const char *head, const struct mk_keyring *k,
                         const mk_audit_mark *mark, FILE *out);
/* Print the log one readable line per entry (policy, gate, address,
 * override reason, who ran it), or as one JSON document. */
int mk_audit_show(const char *path, bool json, FILE *out);
int mk_audit_show_text(const char *text, size_t n, bool json, FILE *out);

#endif
