/* pgcred — a connection's password_command (runtime/config.h): run it for
 * a short-lived password, keep what it gave while it lasts (its own
 * "expires_in", else the connection's credential_ttl), run it again before
 * it expires. Not for libpq's own sources (.pgpass, PGPASSFILE,
 * PGPASSWORD), which libpq reads itself.
 *
 * The command runs without a shell, stdin and stderr /dev/null (what it
 * says on stderr is never repeated: it may hold the secret), in the
 * executor's environment, in a process group of its own: it must exit by
 * the connect's deadline (its stdout closed is not its end), else it and
 * its group are killed. Its
 * stdout is the password (one line), or JSON {"password": "…",
 * "expires_in": SECONDS}. The password is wiped from moksha's memory when
 * it is replaced or dropped, and every copy handed out is wiped by
 * mk_pgcred_wipe. Thread-safe: one run at a time. */
#ifndef MK_RUNTIME_PGCRED_H
#define MK_RUNTIME_PGCRED_H

#include <stdbool.h>
#include <stddef.h>

struct mk_config_conn;
typedef struct mk_pgcred mk_pgcred;

/* For cc's password_command (borrowed: the configuration outlives it). */
mk_pgcred *mk_pgcred_new(const struct mk_config_conn *cc, char *why, size_t whylen);
/* The same for a command answering JSON of the provider's own keys (s3:
 * access_key_id, secret_access_key, session_token): keys (static,
 * NULL-terminated; keys[0] required) and "expires_in", each a string but
 * expires_in. mk_pgcred_get then gives the JSON object of the strings
 * (compact text; the caller parses and wipes it). */
mk_pgcred *mk_pgcred_new_keys(const struct mk_config_conn *cc, const char *const *keys, char *why, size_t whylen);
void mk_pgcred_free(mk_pgcred *cr);
/* A copy of the current password (the caller wipes it), running the
 * command when there is none or it is near its end; by until_ms. NULL with
 * why (never the output) and *retry (a command that timed out, or was
 * killed by a signal, may answer next time). */
char *mk_pgcred_get(mk_pgcred *cr, double until_ms, bool *retry, char *why, size_t whylen);
/* Drop the kept password (the server refused it): true when it had been
 * used before, so a fresh one is worth a try. */
bool mk_pgcred_forget(mk_pgcred *cr);
/* Wipe and free a copy mk_pgcred_get gave. */
void mk_pgcred_wipe(char *pw);
/* How many times the command has run (for tests). */
int mk_pgcred_runs(const mk_pgcred *cr);

#endif
