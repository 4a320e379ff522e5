/* pgconn — connections to the servers of the executor's configuration
 * ("connections", runtime/config.h), under the rules every provider keeps
 * (docs/providers.md, "Rules for every provider"):
 *
 *  - where and as whom come from the configuration alone: its conninfo
 *    over libpq's PG* environment, read once, with dbname replaced by the
 *    database asked for; one server per connection;
 *  - credentials from libpq's own sources (.pgpass, PGPASSFILE,
 *    PGPASSWORD: the executor's environment) or the connection's
 *    password_command (pgcred.c), run again before what it gave expires
 *    and once more when the server refuses it; never written anywhere,
 *    wiped when dropped;
 *  - the host's addresses resolved once per connect and checked
 *    (link-local and cloud metadata ranges refused unless allow_addresses
 *    lets them through: netaddr.c), the connection made to the addresses
 *    checked (hostaddr, host kept for TLS), so no second lookup can answer
 *    differently;
 *  - over TCP to anything but loopback, sslmode verify-ca/verify-full or
 *    channel_binding=require, unless allow_unverified_tls;
 *  - a password only where nobody but the server can ask for it in
 *    cleartext: verified TLS, channel binding, libpq 16's require_auth, a
 *    socket in a directory only its owner can write (or requirepeer);
 *    elsewhere (plain TCP, loopback too) only with allow_cleartext_password
 *    (note [who hears the password], pgconn.c). A session without verified
 *    TLS or channel binding is preceded by a question to the server
 *    (pgprobe.c), the early word on one configured to ask for cleartext;
 *  - connect_timeout (the whole connect, ours to keep), keepalives and
 *    tcp_user_timeout from it; each statement's timeout the lesser of
 *    statement_timeout and what is left of the call's deadline, kept by
 *    the server and by the client (mk_pgconn_exec);
 *  - a server's NOTICEs dropped; md5 let through with a warning, once.
 *
 * Errors come back in why in moksha's words plus the server's first line,
 * never the conninfo, the environment or a password. One mk_pgconn per
 * connection; mk_pgconn_connect may be called from many threads at once. */
#ifndef MK_RUNTIME_PGCONN_H
#define MK_RUNTIME_PGCONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct mk_config_conn;

typedef struct mk_pgconn mk_pgconn;

/* For the connection cc (borrowed: the configuration outlives it). */
mk_pgconn *mk_pgconn_new(const struct mk_config_conn *cc, char *why, size_t whylen);
void mk_pgconn_free(mk_pgconn *pc);

typedef enum { MK_PGCONN_OK, MK_PGCONN_FAILED, MK_PGCONN_RETRYABLE } mk_pgconn_status;

/* A new session on database dbname (NULL: the conninfo's), made by
 * deadline_ms (mk_clock_now_ms(); 0: connect_timeout alone). NULL with
 * *st (FAILED: refused, will fail again — a rule broken, authentication
 * refused, an unknown database; RETRYABLE: the server unreachable, starting
 * up, too many connections) and why. */
PGconn *mk_pgconn_connect(mk_pgconn *pc, const char *dbname, double deadline_ms, mk_pgconn_status *st, char *why,
                          size_t whylen);

/* One statement (values for $1…, text results) with a deadline kept by
 * the client: its result waited for until the lesser of deadline_ms
 * (0: none) and statement_timeout, plus a second for the server's own
 * timeout to answer first. OK with *res (the caller clears it); else the
 * status as mk_pgconn_classify has it, why the server's message, *res the
 * error result (or NULL). A server that does not answer in time: asked to
 * cancel, the session shut (PQstatus bad: finish it), RETRYABLE, "the
 * server did not answer in time". Neither sql nor params is ever in why. */
mk_pgconn_status mk_pgconn_exec(mk_pgconn *pc, PGconn *c, const char *sql, int n, const char *const *values,
                                double deadline_ms, PGresult **res, char *why, size_t whylen);

/* Set the session's statement_timeout for a statement due by deadline_ms. */
bool mk_pgconn_deadline(mk_pgconn *pc, PGconn *c, double deadline_ms, char *why, size_t whylen);

/* Whether a failed statement (r, NULL when there is no result) or a lost
 * session is worth trying again: connection exceptions (08…), serialization
 * failures and deadlocks (40001, 40P01), a server shutting down or
 * starting (57P…), too many connections (53300), a lock not available
 * (55P03), a statement timeout (57014). */
mk_pgconn_status mk_pgconn_classify(PGconn *c, const PGresult *r);

/* The server's message for r (or the session's), first line only, into
 * buf: "ERROR: role \"app\" already exists (42710)". */
const char *mk_pgconn_message(PGconn *c, const PGresult *r, char *buf, size_t n);

/* Where the connection goes, for a computed endpoint: the host as
 * configured ("localhost" for a unix socket) and the port. */
const char *mk_pgconn_host(const mk_pgconn *pc);
int mk_pgconn_port(const mk_pgconn *pc);

#endif
