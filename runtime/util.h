/* util — small services the executor's modules share: clocks, randomness,
 * hashing, directories and atomic file writes. Nothing here owns memory it
 * returns except where a function says "malloc'd". */
#ifndef MK_EXEC_UTIL_H
#define MK_EXEC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>

/* Monotonic milliseconds (for elapsed times and deadlines). */
double mk_exec_now_ms(void);
/* Wall-clock time as "2025-01-31T12:00:00.123Z" into out (>= 32 bytes). */
void mk_exec_iso_time(char *out, size_t n);
/* Sleep for ms milliseconds (restarting on signals). */
void mk_exec_sleep_ms(double ms);
/* n random bytes as 2n lowercase hex digits plus NUL into out. */
void mk_exec_random_hex(char *out, size_t nbytes);
/* A uniformly random double in [0, 1). Thread-safe. */
double mk_exec_random01(void);
/* A random RFC 4122 version-4 UUID string (37 bytes with NUL). */
void mk_exec_uuid(char out[37]);
/* SHA-256 of data as 64 hex digits plus NUL. */
void mk_exec_sha256_hex(const void *data, size_t n, char out[65]);
/* mkdir -p with mode 0755; false with errno set on failure. */
bool mk_exec_mkdirs(const char *path);
/* Write data to path atomically: PATH.tmp, fsync (when durable), rename,
 * fsync of the directory. When keep_prev, the old file becomes PATH.prev
 * (by a hard link made before the rename). False with errno set. */
bool mk_exec_write_atomic(const char *path, const char *data, size_t n, bool durable, bool keep_prev);
/* Whole file as a malloc'd NUL-terminated string, or NULL (errno set). */
char *mk_exec_read_file(const char *path, size_t *len);

/* note [signal hold]: the short commands that take the state lock (state
 * rm, key rotate, state unlock) hold SIGINT, SIGTERM and SIGHUP from before
 * the lock is taken until it is released: a signal then waits those few
 * milliseconds and stops the command after the lock is gone, so it never
 * leaves a lock behind nor a state half written. `apply` has its own
 * handlers (it rolls back). restore unblocks; a held signal then acts. */
void mk_exec_signals_hold(sigset_t *old);
void mk_exec_signals_restore(const sigset_t *old);
/* A failed jansson parse of what (a path) in our words, never jansson's:
 * "WHAT:LINE:COL: the JSON ends early…" into out (note [json errors] in
 * compiler/front/vjson.c has the compiler's copy). text, len: what was parsed. */
struct json_error_t;
void mk_exec_json_why(const char *what, const struct json_error_t *je, const char *text, size_t len, char *out,
                      size_t n);
/* Parse "20ms", "1.5s", "5m", "2h", "7d" or a bare number of milliseconds;
 * false when it is none of those. */
/* Print "moksha-exec: error: WHY" on stderr, or "moksha-exec: error[CODE]: …"
 * when WHY already starts with its own "error[CODE]: ". */
void mk_exec_print_error(const char *why);

bool mk_exec_parse_duration(const char *s, double *ms);
/* note [plan memory] (util.c): jansson's values come from one prefaulted
 * region of about `bytes` until mk_exec_json_region_end; freeing them is a
 * no-op, other values go through malloc as before. For loading a plan. */
void mk_exec_json_region_begin(size_t bytes);
void mk_exec_json_region_end(void);

#endif
