/* audit — the tamper-evident audit log `moksha.audit/v1` (docs/executor.md):
 * JSON lines in .moksha/audit.jsonl, each holding the SHA-256 of the line
 * before it (the first holds 64 zeros), plus .moksha/audit.head naming the
 * last entry written, so that removing entries at the end is caught too.
 *
 * Appending is split in two so the executor can group-commit: `entry`
 * formats and chains a line in memory (cheap, under the caller's lock) and
 * `write` appends a batch of them with one fsync. A mk_audit owns its memory;
 * lines returned by mk_audit_entry are malloc'd and belong to the caller. */
#ifndef MK_AUDIT_H
#define MK_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct mk_audit mk_audit;

/* Open (or start) the log at path. Refuses (NULL, reason in why) a log whose
 * head file names an entry the log no longer holds: appending to it would
 * hide the removal. */
mk_audit *mk_audit_open(const char *path, char *why, size_t whylen);
void mk_audit_close(mk_audit *a);

/* Chain a new entry: `fields` (borrowed; an object with at least "event")
 * gets format, seq, time and prev prepended. Returns the line with its
 * newline (malloc'd). Entries must then be written in the order made. */
char *mk_audit_entry(mk_audit *a, json_t *fields);
/* The same from the fields' compact JSON text ("{\"event\":…}"), made
 * beforehand so that only the chaining happens where entries are ordered. */
char *mk_audit_entry_text(mk_audit *a, const char *fields);
/* Append lines (one or more, concatenated), fsync, and move the head. */
bool mk_audit_write(mk_audit *a, const char *lines, size_t n);
/* entry + write, for one-off events. Takes ownership of fields. */
bool mk_audit_append(mk_audit *a, json_t *fields);

/* Check the chain and the head. Prints "ok: N entries…" or names the first
 * entry altered, removed or inserted to out. 0 when intact, 1 when not. */
int mk_audit_verify(const char *path, FILE *out);
/* Print the log one readable line per entry. */
int mk_audit_show(const char *path, FILE *out);

#endif
