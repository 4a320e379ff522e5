/* pgprobe — the startup packet that asks a server which authentication it
 * wants (pgprobe.h; the protocol: PostgreSQL's "Message Formats"). */
#include "runtime/pgprobe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/clock.h"

#define PROTOCOL_3_0 196608
#define SSL_REQUEST 80877103

static int wait_fd(int fd, short ev, double until_ms)
{
    for (;;) {
        double left = until_ms - mk_clock_now_ms();
        struct pollfd p = {.fd = fd, .events = ev};
        if (left <= 0)
            return errno = ETIMEDOUT, 0;
        int r = poll(&p, 1, (int)(left < 1 ? 1 : left));
        if (r == 0)
            errno = ETIMEDOUT;
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

static socklen_t address(const mk_pgprobe_target *t, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (t->socket) {
        struct sockaddr_un *un = (struct sockaddr_un *)ss;
        un->sun_family = AF_UNIX;
        snprintf(un->sun_path, sizeof un->sun_path, "%s/.s.PGSQL.%d", t->dir && *t->dir ? t->dir : MK_PGPROBE_SOCKET_DIR,
                 t->port);
        if (un->sun_path[0] == '@') /* libpq's abstract namespace */
            un->sun_path[0] = 0;
        return sizeof *un;
    }
    if (t->addr.family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET, in->sin_port = htons((uint16_t)t->port);
        memcpy(&in->sin_addr, t->addr.b, 4);
        return sizeof *in;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6, in6->sin6_port = htons((uint16_t)t->port);
    memcpy(&in6->sin6_addr, t->addr.b, 16);
    return sizeof *in6;
}

static int dial(const mk_pgprobe_target *t, double until_ms)
{
    struct sockaddr_storage ss;
    socklen_t len = address(t, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int err = 0;
    socklen_t el = sizeof err;
    if (connect(fd, (struct sockaddr *)&ss, len) == 0 ||
        (errno == EINPROGRESS && wait_fd(fd, POLLOUT, until_ms) > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
         err == 0))
        return fd;
    int e = err ? err : errno;
    close(fd);
    errno = e;
    return -1;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The session's startup packet, in libpq's order: user, database,
 * options, application_name, client_encoding, then the settings libpq
 * takes from the environment. Nothing secret. */
static size_t startup(const mk_pgprobe_target *t, unsigned char *buf, size_t cap)
{
    const char *kv[] = {"user", t->user, "database", t->db, "options", t->options, "application_name", t->appname,
                        "client_encoding", t->encoding, "datestyle", getenv("PGDATESTYLE"), "timezone", getenv("PGTZ"),
                        "geqo", getenv("PGGEQO")};
    size_t n = 8;
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i += 2) {
        if (!kv[i + 1] || !*kv[i + 1])
            continue;
        size_t a = strlen(kv[i]) + 1, b = strlen(kv[i + 1]) + 1;
        if (n + a + b + 1 > cap)
            return 0;
        memcpy(buf + n, kv[i], a), memcpy(buf + n + a, kv[i + 1], b);
        n += a + b;
    }
    buf[n++] = 0;
    put32(buf, (uint32_t)n), put32(buf + 4, PROTOCOL_3_0);
    return n;
}

/* A channel: the socket, and TLS over it once the server agreed. */
typedef struct {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
} chan;

/* OpenSSL's wish (read or write) as a poll event, or 0: a real failure. */
static short tls_wants(SSL *ssl, int r)
{
    int e = SSL_get_error(ssl, r);
    return e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
}

static bool io(chan *ch, unsigned char *buf, size_t n, bool out, double until_ms)
{
    for (size_t done = 0; done < n;) {
        ssize_t k;
        short ev = out ? POLLOUT : POLLIN;
        if (ch->ssl) {
            int r = out ? SSL_write(ch->ssl, buf + done, (int)(n - done)) : SSL_read(ch->ssl, buf + done, (int)(n - done));
            if (r > 0) {
                done += (size_t)r;
                continue;
            }
            if (!(ev = tls_wants(ch->ssl, r)) || wait_fd(ch->fd, ev, until_ms) <= 0)
                return false;
            continue;
        }
        if (wait_fd(ch->fd, ev, until_ms) <= 0)
            return false;
        k = out ? send(ch->fd, buf + done, n - done, MSG_NOSIGNAL) : recv(ch->fd, buf + done, n - done, 0);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k <= 0)
            return false;
        done += (size_t)k;
    }
    return true;
}

/* TLS as libpq does it under sslmode prefer or require: the certificate
 * is not checked (those modes do not; verify-ca and verify-full are never
 * probed), the name sent for SNI. */
static bool tls_start(chan *ch, const char *name, double until_ms)
{
    ch->ctx = SSL_CTX_new(TLS_client_method());
    if (!ch->ctx || !SSL_CTX_set_min_proto_version(ch->ctx, TLS1_2_VERSION) || !(ch->ssl = SSL_new(ch->ctx)) ||
        !SSL_set_fd(ch->ssl, ch->fd))
        return false;
    SSL_set_verify(ch->ssl, SSL_VERIFY_NONE, NULL);
    mk_netaddr a;
    if (name && *name && !mk_netaddr_parse(name, &a))
        SSL_set_tlsext_host_name(ch->ssl, name);
    for (;;) {
        int r = SSL_connect(ch->ssl);
        if (r == 1)
            return true;
        short ev = tls_wants(ch->ssl, r);
        if (!ev || wait_fd(ch->fd, ev, until_ms) <= 0)
            return false;
    }
}

/* The session libpq will have: for sslmode prefer and require over TCP,
 * TLS if the server agrees (pg_hba's hostssl and hostnossl lines differ);
 * for the others, plain. False when the channel broke. */
static bool negotiate(chan *ch, const mk_pgprobe_target *t, double until_ms)
{
    bool tls = !t->socket && t->sslmode && (!strcmp(t->sslmode, "prefer") || !strcmp(t->sslmode, "require"));
    if (!tls)
        return true;
    unsigned char req[8], answer;
    put32(req, 8), put32(req + 4, SSL_REQUEST);
    if (!io(ch, req, 8, true, until_ms) || !io(ch, &answer, 1, false, until_ms))
        return false;
    /* 'N' under require: libpq stops there itself, before any password */
    return answer == 'S' ? tls_start(ch, t->name, until_ms) : answer == 'N';
}

static void hang_up(chan *ch)
{
    SSL_free(ch->ssl);
    SSL_CTX_free(ch->ctx);
    if (ch->fd >= 0)
        close(ch->fd);
}

/* The server's first message: its type, and its body into body (NUL-ended). */
static bool first_message(chan *ch, double until_ms, char *type, unsigned char *body, size_t cap, size_t *len)
{
    unsigned char h[5];
    if (!io(ch, h, 5, false, until_ms))
        return false;
    uint32_t n = get32(h + 1);
    if (n < 4 || n - 4 >= cap)
        return false;
    *type = (char)h[0], *len = n - 4;
    body[*len] = 0;
    return io(ch, body, *len, false, until_ms);
}

/* An ErrorResponse's field f (code, message), or "". */
static const char *field(const unsigned char *body, size_t len, char f)
{
    for (size_t i = 0; i < len && body[i];) {
        const char *v = (const char *)body + i + 1;
        if (body[i] == f)
            return v;
        i += 1 + strlen(v) + 1;
    }
    return "";
}

static mk_pgprobe_answer refusal(const mk_pgprobe_target *t, const unsigned char *body, size_t len, char *why, size_t whylen)
{
    const char *code = field(body, len, 'C'), *msg = field(body, len, 'M');
    if (!strcmp(code, "53300") || !strncmp(code, "57P", 3) || !strncmp(code, "08", 2))
        return snprintf(why, whylen, "connection %s: the server says: %.200s (%s)", t->conn, msg, code), MK_PGPROBE_RETRY;
    snprintf(why, whylen, "connection %s: asked how it authenticates, the server says: %.200s (%s)", t->conn, msg, code);
    return MK_PGPROBE_REFUSED;
}

static mk_pgprobe_answer judge(const mk_pgprobe_target *t, int method, char *why, size_t whylen)
{
    if (method != 3 || t->allow_cleartext)
        return MK_PGPROBE_OK;
    snprintf(why, whylen, "connection %s: the server asks for the password in cleartext (pg_hba.conf method "
             "`password`): refused, the password is not sent; have the server use scram-sha-256 (md5 is weak too), or "
             "set allow_cleartext_password (docs/providers.md, \"Rules for every provider\")", t->conn);
    return MK_PGPROBE_REFUSED;
}

mk_pgprobe_answer mk_pgprobe_ask(const mk_pgprobe_target *t, double until_ms, int *method, char *why, size_t whylen)
{
    unsigned char buf[2048], body[4096];
    size_t n = startup(t, buf, sizeof buf), len = 0;
    char type = 0;
    *method = -1;
    if (!n)
        return snprintf(why, whylen, "connection %s: the user or database name is too long", t->conn), MK_PGPROBE_REFUSED;
    chan ch = {.fd = dial(t, until_ms)};
    if (ch.fd < 0)
        return snprintf(why, whylen, "connection %s: cannot reach the server: %s", t->conn, strerror(errno)),
               MK_PGPROBE_RETRY;
    bool got = negotiate(&ch, t, until_ms) && io(&ch, buf, n, true, until_ms) &&
               first_message(&ch, until_ms, &type, body, sizeof body, &len);
    hang_up(&ch);
    if (!got)
        return snprintf(why, whylen, "connection %s: the server did not say how it authenticates (no answer, or not "
                        "PostgreSQL's)", t->conn), MK_PGPROBE_RETRY;
    if (type == 'E')
        return refusal(t, body, len, why, whylen);
    if (type != 'R' || len < 4)
        return snprintf(why, whylen, "connection %s: the server's first answer is not PostgreSQL's", t->conn),
               MK_PGPROBE_REFUSED;
    *method = (int)get32(body);
    return judge(t, *method, why, whylen);
}
