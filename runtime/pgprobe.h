/* pgprobe — ask a PostgreSQL server how it would authenticate a session,
 * before libpq is given a password to send (docs/providers.md, "Rules for
 * every provider"): libpq 15 has no require_auth, and answers a server's
 * request for a cleartext password with the password.
 *
 * The probe opens its own connection to the address pgconn checked, over
 * TLS when the session will be (sslmode prefer or require, the certificate
 * unchecked as those modes leave it), sends the session's own startup
 * packet (user, database, options, application_name "moksha-exec",
 * client_encoding, and what libpq takes from PGDATESTYLE, PGTZ and PGGEQO:
 * nothing secret, and nothing to tell it from the session by), reads the
 * server's first answer and closes. A request for the password in
 * cleartext (pg_hba `password`) is refused unless the connection sets
 * allow_cleartext_password; md5, SCRAM, GSSAPI, SSPI, trust and a
 * certificate are let through. It is no proof against an impostor, who
 * can answer the probe one way and the session another (counting
 * connections): the guard is pgconn's rule of where a password may go
 * (note [who hears the password], pgconn.c). It is the early, clear word
 * about a server configured to ask for cleartext. Not for anything but
 * that question. */
#ifndef MK_RUNTIME_PGPROBE_H
#define MK_RUNTIME_PGPROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/netaddr.h"

#define MK_PGPROBE_SOCKET_DIR "/var/run/postgresql" /* Debian's libpq's, for a conninfo without host */

typedef struct mk_pgprobe_target {
    bool socket;              /* a unix socket in dir ("": libpq's default directory) */
    mk_netaddr addr;          /* else this address */
    const char *dir;
    const char *name;         /* the host's name, sent for SNI over TLS */
    int port;
    const char *user, *db;    /* as the session will give them; db "" = the user's name */
    const char *appname;      /* the session's application_name; NULL: none */
    const char *options, *encoding; /* the session's options and client_encoding, or NULL */
    const char *sslmode;      /* the session's: prefer and require ask over TLS, as libpq will */
    const char *conn;         /* the connection's name, for why */
    bool allow_cleartext;     /* answer OK to a cleartext request (a test may still ask) */
} mk_pgprobe_target;

typedef enum { MK_PGPROBE_OK, MK_PGPROBE_REFUSED, MK_PGPROBE_RETRY } mk_pgprobe_answer;

/* The authentication the server asks for, as its protocol numbers it
 * (0 none, 3 cleartext, 5 md5, 7 GSSAPI, 9 SSPI, 10 SASL), and whether the
 * answer is acceptable; by until_ms. RETRY: no answer, or the server busy
 * or starting; REFUSED: a cleartext request, or the server refused the
 * startup (its message quoted). *method is -1 when it did not say. */
mk_pgprobe_answer mk_pgprobe_ask(const mk_pgprobe_target *t, double until_ms, int *method, char *why, size_t whylen);

#endif
