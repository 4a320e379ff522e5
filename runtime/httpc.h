/* httpc — every HTTP request a provider makes (s3, azure_blob, http),
 * through libcurl, under the rules of its connection (docs/providers.md,
 * "HTTP connections"):
 *
 * - only the connection's endpoint host: a request to another host is
 *   refused before it is sent; redirects are never followed (a 3xx is an
 *   error naming where it pointed);
 * - the host is resolved once per request and every address checked by
 *   runtime/netaddr.c (link-local and cloud metadata refused unless
 *   allow_addresses lets them through); the connection is pinned to the
 *   checked address (CURLOPT_RESOLVE), so a second lookup cannot move it;
 * - https verifies the peer and the host name (ca_file, else the system's
 *   CAs) unless allow_unverified_tls; http:// only to loopback unless
 *   allow_plaintext;
 * - no proxy from the environment, no netrc, no cookies, http and https
 *   only; connect_timeout for the connect, request_timeout for the whole
 *   request, never past the call's deadline;
 * - an answer larger than MK_HTTPC_MAX_BODY is refused;
 * - the lookup ends by the call's deadline (RETRYABLE when it does not);
 * - a path with a `.` or `..` segment, and a header holding a control
 *   byte (CR, LF, …), are refused before anything is sent; the path is
 *   sent as built (CURLOPT_PATH_AS_IS); a redirect's Location is quoted
 *   with its control bytes replaced.
 *
 * Thread-safe: one handle per request (libcurl's share of DNS is not used:
 * the lookup is ours). mk_httpc_init once before any thread starts. */
#ifndef MK_RUNTIME_HTTPC_H
#define MK_RUNTIME_HTTPC_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/providers/provider.h"

struct mk_config_conn;

#define MK_HTTPC_MAX_BODY (64u << 20)

typedef struct mk_httpc_req {
    const struct mk_config_conn *conn; /* the rules; conn->endpoint's scheme, host and port are the only ones allowed */
    const char *method;                /* "GET", "PUT", "POST", "PATCH", "DELETE", "HEAD" */
    const char *url;                   /* absolute, on the endpoint's host and port */
    const char *const *headers;        /* "Name: value" lines, NULL-terminated; may be NULL */
    const void *body;                  /* may be NULL */
    size_t body_len;
    /* libcurl's SigV4 (CURLOPT_AWS_SIGV4), "aws:amz:REGION:s3", with
     * userpwd "ACCESS_KEY_ID:SECRET"; NULL: none */
    const char *aws_sigv4;
    /* Basic auth "user:password" (with aws_sigv4 NULL); NULL: none */
    const char *userpwd;
    double deadline_ms;                /* mk_clock_now_ms() by which to give up (0: request_timeout alone) */
} mk_httpc_req;

typedef struct mk_httpc_resp {
    long status;                       /* 0 when no answer came */
    char *body;                        /* NUL-terminated, malloc'd (may be ""), len bytes before the NUL */
    size_t len;
    char **headers;                    /* "name: value" lines as received, names lowercased; NULL-terminated */
    size_t nheaders;
} mk_httpc_resp;

/* libcurl's global set-up; false when it fails. */
bool mk_httpc_init(void);
/* Send req; *resp gets the answer whatever its status. MK_PROV_OK when an
 * answer came (any status: the caller judges it), RETRYABLE for a timeout,
 * a refused or reset connection, a lookup that failed for now; FAILED for
 * what will fail again (a refused address, a host not the endpoint's, TLS
 * that does not verify, plaintext refused, an oversized answer). why never
 * holds a header or body sent. */
mk_prov_status mk_httpc_send(const mk_httpc_req *req, mk_httpc_resp *resp, char *why, size_t whylen);
/* The value of a response header (name lowercase), or NULL. */
const char *mk_httpc_header(const mk_httpc_resp *resp, const char *name);
void mk_httpc_resp_free(mk_httpc_resp *resp);
/* Is an HTTP status worth a retry (408, 425, 429, 500, 502, 503, 504)? */
bool mk_httpc_status_retryable(long status);
/* The endpoint joined with a path and an already-encoded query into buf:
 * "https://h/base" + "/bucket/key" → "https://h/base/bucket/key". False
 * when it does not fit. */
bool mk_httpc_url(const struct mk_config_conn *conn, const char *path, const char *query, char *buf, size_t n);
/* Replace each control byte of s (below 0x20, 0x7f) with a space, in
 * place: server text made fit for a terminal and a log. */
void mk_httpc_clean(char *s);
/* Does path (up to a '?' or '#') hold a segment that is `.` or `..`?
 * mk_httpc_send refuses such a request: it would reach another path. */
bool mk_httpc_dot_segment(const char *path);
/* Percent-encode s (RFC 3986 unreserved kept; '/' kept when keep_slash)
 * into a new string; NULL when out of memory. */
char *mk_httpc_escape(const char *s, bool keep_slash);

#endif
