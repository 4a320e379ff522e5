/* test_pgconn — the connection rules (runtime/pgconn.c, pgprobe.c,
 * pgcred.c; docs/providers.md, "Rules for every provider") against real
 * servers: the suite's (a unix socket, SCRAM) and two of this test's own
 * listening on 127.0.0.1, one whose pg_hba asks TCP sessions for the
 * password in cleartext (tests/pg.sh --tcp --auth-host password), one that
 * asks only sessions over TLS (--ssl password). A cleartext request
 * refused, asked over TLS when the session will be, and allowed only with
 * allow_cleartext_password; a
 * link-local or metadata address refused before any packet, let through by
 * allow_addresses; TCP off loopback refused without verified TLS or
 * channel binding; a password_command's password used, kept while it
 * lasts, run again when it expires or the server refuses it, its failures
 * named without the password; statement timeouts. Skipped only when
 * MOKSHA_TEST_PG is unset. */
#include "tests/unit/unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/pgconn.h"
#include "runtime/pgprobe.h"
#include "runtime/providers/postgres.h"
#include "runtime/providers/provider.h"

static char dir[64];
static char clear_dir[256], clear_port[16], clear_pw[128]; /* the cleartext server */
static char tls_dir[256], tls_port[16], tls_pw[128];       /* cleartext over TLS only */
static PGconn *admin;

#define NEED_PG()                                                                                                    \
    do {                                                                                                             \
        if (!getenv("MOKSHA_TEST_PG"))                                                                               \
            skip();                                                                                                  \
    } while (0)

/* NAME='VALUE' from pg.sh's settings line into out. */
static void setting(const char *line, const char *name, char *out, size_t n)
{
    char key[32];
    snprintf(key, sizeof key, "%s='", name);
    const char *p = strstr(line, key);
    assert_non_null(p);
    p += strlen(key);
    snprintf(out, n, "%.*s", (int)strcspn(p, "'"), p);
}

/* The suite's password, put back after a test that changes it, however
 * the test ends. */
static char suite_pw[128];

static int keep_password(void **st)
{
    (void)st;
    snprintf(suite_pw, sizeof suite_pw, "%s", getenv("PGPASSWORD") ? getenv("PGPASSWORD") : "");
    return 0;
}

static int restore_password(void **st)
{
    (void)st;
    setenv("PGPASSWORD", suite_pw, 1);
    return 0;
}

/* A server of this test's own: tests/pg.sh start OPTIONS. */
static void server(const char *options, char *sdir, char *port, char *pw)
{
    char cmd[200], line[2048] = "";
    snprintf(cmd, sizeof cmd, "sh tests/pg.sh start %s", options);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    pclose(f);
    setting(line, "MOKSHA_TEST_PG", sdir, 256);
    setting(line, "PGPORT", port, 16);
    setting(line, "PGPASSWORD", pw, 128);
}

/* ---- a fake server on 127.0.0.1: it records each startup packet,
 * answers it (AuthenticationOk then ReadyForQuery, or an md5 request),
 * then reads and never answers; it notes a CancelRequest ---- */
typedef struct {
    int lfd, port, md5;
    pthread_t t;
    atomic_int stop, cancels, nstart;
    unsigned char start[4][512];
    size_t startlen[4];
} fake;

static void fake_send(int fd, const void *m, size_t n)
{
    assert_true(send(fd, m, n, MSG_NOSIGNAL) == (ssize_t)n);
}

/* One packet from a client: a startup (recorded and answered: 1), an
 * SSLRequest ('N': 0), a CancelRequest (counted: -1, closed). */
static int fake_packet(fake *f, int fd)
{
    unsigned char h[8], body[512];
    if (recv(fd, h, 8, MSG_WAITALL) != 8)
        return -1;
    uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    uint32_t code = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
    if (len < 8 || len > sizeof body || (len > 8 && recv(fd, body, len - 8, MSG_WAITALL) != (ssize_t)(len - 8)))
        return -1;
    if (code == 80877103 || code == 80877104) /* SSL, GSSENC: no */
        return fake_send(fd, "N", 1), 0;
    if (code == 80877102)
        return atomic_fetch_add(&f->cancels, 1), -1;
    int i = atomic_load(&f->nstart);
    if (i < 4)
        memcpy(f->start[i], body, len - 8), f->startlen[i] = len - 8, atomic_store(&f->nstart, i + 1);
    static const unsigned char ok[] = {'R', 0, 0, 0, 8, 0, 0, 0, 0, 'K', 0, 0, 0, 12, 0, 0, 0, 7, 0, 0, 0, 9,
                                       'Z', 0, 0, 0, 5, 'I'};
    static const unsigned char md5[] = {'R', 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4};
    if (f->md5)
        fake_send(fd, md5, sizeof md5);
    else
        fake_send(fd, ok, sizeof ok);
    return 1;
}

static void *fake_run(void *arg)
{
    fake *f = arg;
    struct pollfd p[8] = {{.fd = f->lfd, .events = POLLIN}};
    int started[8] = {0}, n = 1;
    while (!atomic_load(&f->stop)) {
        if (poll(p, (nfds_t)n, 50) <= 0)
            continue;
        for (int i = n - 1; i >= 1; i--) {
            if (!(p[i].revents & (POLLIN | POLLHUP)))
                continue;
            unsigned char junk[512];
            int k = started[i] ? (recv(p[i].fd, junk, sizeof junk, 0) > 0 ? 1 : -1) : fake_packet(f, p[i].fd);
            started[i] = k > 0;
            if (k < 0) {
                close(p[i].fd);
                p[i] = p[n - 1], started[i] = started[n - 1], n--;
            }
        }
        if ((p[0].revents & POLLIN) && n < 8)
            p[n].fd = accept(f->lfd, NULL, NULL), p[n].events = POLLIN, p[n].revents = 0, started[n++] = 0;
    }
    for (int i = 0; i < n; i++)
        close(p[i].fd);
    return NULL;
}

static void fake_start(fake *f, int md5)
{
    memset(f, 0, sizeof *f);
    f->md5 = md5;
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof in;
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&in, sizeof in), 0);
    assert_int_equal(listen(f->lfd, 8), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&in, &len), 0);
    f->port = ntohs(in.sin_port);
    assert_int_equal(pthread_create(&f->t, NULL, fake_run, f), 0);
}

static void fake_stop(fake *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->t, NULL);
}

static int group_setup(void **st)
{
    (void)st;
    if (!getenv("MOKSHA_TEST_PG")) {
        fprintf(stderr, "test_pgconn: MOKSHA_TEST_PG is unset (run under tests/with_pg.sh): skipped\n");
        return 0;
    }
    mk_test_tmpdir(dir, "/tmp/moksha-unit-pgconn.XXXXXX");
    server("--tcp --auth-host password", clear_dir, clear_port, clear_pw);
    server("--tcp --ssl password", tls_dir, tls_port, tls_pw);
    admin = PQconnectdb("dbname=postgres");
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    return 0;
}

static int group_teardown(void **st)
{
    (void)st;
    char cmd[400];
    const char *dirs[] = {clear_dir, tls_dir};
    for (int i = 0; i < 2; i++)
        if (dirs[i][0]) {
            snprintf(cmd, sizeof cmd, "sh tests/pg.sh stop '%s'", dirs[i]);
            assert_int_equal(system(cmd), 0);
        }
    if (dir[0])
        mk_test_rmdir(dir);
    PQfinish(admin);
    return 0;
}

/* A connection as the configuration would give it (defaults as config.c's). */
static mk_config_conn conn(const char *conninfo)
{
    mk_config_conn cc = {.name = "dev", .kind = "postgres", .credential_ttl_ms = 15 * 60 * 1000.0,
                         .connect_timeout_ms = 3000, .statement_timeout_ms = 60000};
    snprintf(cc.conninfo, sizeof cc.conninfo, "%s", conninfo);
    return cc;
}

/* Connect with cc to dbname: the status, why into why. */
static mk_pgconn_status try(const mk_config_conn *cc, const char *dbname, char *why, size_t whylen)
{
    mk_pgconn *pc = mk_pgconn_new(cc, why, whylen);
    if (!pc)
        return MK_PGCONN_FAILED;
    mk_pgconn_status st;
    PGconn *c = mk_pgconn_connect(pc, dbname, 0, &st, why, whylen);
    if (c)
        snprintf(why, whylen, "%s", PQparameterStatus(c, "application_name"));
    PQfinish(c);
    mk_pgconn_free(pc);
    return st;
}

static void test_socket_session(void **st)
{
    (void)st;
    NEED_PG();
    char ci[512], why[1024];
    snprintf(ci, sizeof ci, "host=%s port=%s user=moksha dbname=postgres", getenv("PGHOST"), getenv("PGPORT"));
    mk_config_conn cc = conn(ci);
    mk_pgconn *pc = mk_pgconn_new(&cc, why, sizeof why);
    assert_non_null(pc);
    assert_string_equal(mk_pgconn_host(pc), "localhost");
    assert_int_equal(mk_pgconn_port(pc), atoi(getenv("PGPORT")));
    mk_pgconn_status s;
    PGconn *c = mk_pgconn_connect(pc, "moksha", 0, &s, why, sizeof why);
    if (!c)
        fail_msg("%s", why);
    assert_int_equal(s, MK_PGCONN_OK);
    PGresult *r = PQexec(c, "SELECT current_database(), current_setting('application_name')");
    assert_string_equal(PQgetvalue(r, 0, 0), "moksha");
    assert_string_equal(PQgetvalue(r, 0, 1), "moksha-exec");
    PQclear(r);
    PQfinish(c);
    c = mk_pgconn_connect(pc, "no_such_db_pgconn", 0, &s, why, sizeof why);
    assert_null(c);
    assert_int_equal(s, MK_PGCONN_FAILED);
    if (!strstr(why, "connection dev: cannot connect: the server says: database \"no_such_db_pgconn\" does not exist (3D000)"))
        fail_msg("%s", why);
    /* a database name from a spec is a name, never a connection string */
    c = mk_pgconn_connect(pc, "host=169.254.169.254 dbname=postgres", 0, &s, why, sizeof why);
    assert_null(c);
    if (!strstr(why, "database \"host=169.254.169.254 dbname=postgres\" does not exist (3D000)"))
        fail_msg("%s", why);
    mk_pgconn_free(pc);
}

static void test_probe(void **st)
{
    (void)st;
    NEED_PG();
    char why[512];
    int method;
    mk_pgprobe_target t = {.socket = true, .dir = getenv("PGHOST"), .port = atoi(getenv("PGPORT")), .user = "moksha",
                           .db = "postgres", .sslmode = "prefer", .conn = "dev"};
    assert_int_equal(mk_pgprobe_ask(&t, mk_clock_now_ms() + 3000, &method, why, sizeof why), MK_PGPROBE_OK);
    assert_int_equal(method, 10); /* SASL: SCRAM-SHA-256 */
    t = (mk_pgprobe_target){.socket = false, .port = atoi(clear_port), .user = "moksha", .db = "postgres",
                            .sslmode = "disable", .conn = "dev"};
    mk_netaddr_parse("127.0.0.1", &t.addr);
    assert_int_equal(mk_pgprobe_ask(&t, mk_clock_now_ms() + 3000, &method, why, sizeof why), MK_PGPROBE_REFUSED);
    assert_int_equal(method, 3);
    assert_non_null(strstr(why, "connection dev: the server asks for the password in cleartext"));
    t.allow_cleartext = true;
    assert_int_equal(mk_pgprobe_ask(&t, mk_clock_now_ms() + 3000, &method, why, sizeof why), MK_PGPROBE_OK);
    t.port = 1; /* nothing listens there */
    assert_int_equal(mk_pgprobe_ask(&t, mk_clock_now_ms() + 3000, &method, why, sizeof why), MK_PGPROBE_RETRY);
    assert_int_equal(method, -1);
}

static void test_cleartext_refused(void **st)
{
    (void)st;
    NEED_PG();
    char ci[256], why[1024];
    setenv("PGPASSWORD", clear_pw, 1);
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%s user=moksha dbname=postgres sslmode=disable", clear_port);
    mk_config_conn cc = conn(ci);
    assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
    if (!strstr(why, "asks for the password in cleartext (pg_hba.conf method `password`): refused") || strstr(why, clear_pw))
        fail_msg("%s", why);
    cc.allow_cleartext_password = true;
    if (try(&cc, NULL, why, sizeof why) != MK_PGCONN_OK)
        fail_msg("allowed: %s", why);
    assert_string_equal(why, "moksha-exec");
    /* a name with two addresses, ::1 (nobody there) and 127.0.0.1 */
    snprintf(ci, sizeof ci, "host=localhost port=%s user=moksha dbname=postgres sslmode=disable", clear_port);
    cc = conn(ci);
    assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
    assert_non_null(strstr(why, "in cleartext"));
    cc.allow_cleartext_password = true;
    /* pinned: libpq connected to a checked address, under the name (which
     * TLS would check the certificate against) */
    mk_pgconn *pc = mk_pgconn_new(&cc, why, sizeof why);
    mk_pgconn_status s;
    PGconn *c = mk_pgconn_connect(pc, NULL, 0, &s, why, sizeof why);
    if (!c)
        fail_msg("localhost: %s", why);
    assert_string_equal(PQhost(c), "localhost");
    assert_string_equal(PQhostaddr(c), "127.0.0.1");
    PQfinish(c);
    mk_pgconn_free(pc);
}

/* pg_hba asks TLS sessions for cleartext, plain ones for SCRAM: the
 * question is asked the way the session will be made. */
static void test_cleartext_over_tls(void **st)
{
    (void)st;
    NEED_PG();
    char ci[256], why[1024];
    setenv("PGPASSWORD", tls_pw, 1);
    const char *modes[] = {"require", "prefer"};
    for (int i = 0; i < 2; i++) {
        snprintf(ci, sizeof ci, "host=127.0.0.1 port=%s user=moksha dbname=postgres sslmode=%s", tls_port, modes[i]);
        mk_config_conn cc = conn(ci);
        assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
        if (!strstr(why, "asks for the password in cleartext"))
            fail_msg("sslmode=%s: %s", modes[i], why);
    }
    /* plain TCP, loopback, a server asking for SCRAM: libpq 15 could not
     * refuse an impostor on that port asking for cleartext, so the password
     * goes only with the allowance (note [who hears the password]) */
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%s user=moksha dbname=postgres sslmode=disable", tls_port);
    mk_config_conn cc = conn(ci);
    if (PQlibVersion() < 160000) {
        assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
        char want[400];
        snprintf(want, sizeof want, "connection dev: the password would go over plain TCP to 127.0.0.1 port %s, and "
                 "libpq 15 cannot refuse whoever answers there asking for it in cleartext: use sslmode=verify-full",
                 tls_port);
        if (strncmp(why, want, strlen(want)) || strstr(why, tls_pw))
            fail_msg("plain: %s", why);
    }
    cc.allow_cleartext_password = true;
    if (try(&cc, NULL, why, sizeof why) != MK_PGCONN_OK)
        fail_msg("plain, allowed: %s", why);
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%s user=moksha dbname=postgres sslmode=require", tls_port);
    cc = conn(ci);
    cc.allow_cleartext_password = true;
    mk_pgconn *pc = mk_pgconn_new(&cc, why, sizeof why);
    mk_pgconn_status s;
    PGconn *c = mk_pgconn_connect(pc, NULL, 0, &s, why, sizeof why);
    if (!c)
        fail_msg("allowed: %s", why);
    assert_int_equal(PQsslInUse(c), 1);
    PQfinish(c);
    mk_pgconn_free(pc);
    int method;
    mk_pgprobe_target t = {.port = atoi(tls_port), .name = "localhost", .user = "moksha", .db = "postgres",
                           .sslmode = "require", .conn = "dev"};
    mk_netaddr_parse("127.0.0.1", &t.addr);
    assert_int_equal(mk_pgprobe_ask(&t, mk_clock_now_ms() + 3000, &method, why, sizeof why), MK_PGPROBE_REFUSED);
    assert_int_equal(method, 3);
    t.sslmode = "disable";
    assert_int_equal(mk_pgprobe_ask(&t, mk_clock_now_ms() + 3000, &method, why, sizeof why), MK_PGPROBE_OK);
    assert_int_equal(method, 10);
}

static void test_addresses(void **st)
{
    (void)st;
    NEED_PG();
    char why[1024], ci[256];
    mk_config_conn cc = conn("host=169.254.169.254 user=moksha");
    double t0 = mk_clock_now_ms();
    assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
    assert_string_equal(why, "connection dev: 169.254.169.254 resolves to 169.254.169.254, link-local (169.254.0.0/16, "
                             "where clouds serve instance metadata): refused unless allow_addresses lets it through");
    assert_true(mk_clock_now_ms() - t0 < 500); /* before any packet */
    cc = conn("hostaddr=::ffff:169.254.169.254 user=moksha");
    assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
    assert_non_null(strstr(why, "hostaddr ::ffff:169.254.169.254 is link-local"));
    /* what the environment fills in is judged the same way */
    setenv("PGHOSTADDR", "169.254.1.1", 1);
    cc = conn("user=moksha");
    assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
    unsetenv("PGHOSTADDR");
    assert_non_null(strstr(why, "hostaddr 169.254.1.1 is link-local"));
    cc = conn("host=fe80::1 user=moksha");
    assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
    assert_non_null(strstr(why, "link-local (fe80::/10)"));
    /* 0.0.0.0 reaches this machine: refused, then let through by
     * allow_addresses, then the TLS rule (it is no loopback address), then
     * allow_unverified_tls: the cleartext server answers */
    snprintf(ci, sizeof ci, "hostaddr=0.0.0.0 port=%s user=moksha dbname=postgres sslmode=disable", clear_port);
    cc = conn(ci);
    assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
    assert_non_null(strstr(why, "hostaddr 0.0.0.0 is \"this network\""));
    char *allow[] = {"0.0.0.0/8", NULL};
    cc.allow_addresses = allow, cc.nallow_addresses = 1;
    assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
    assert_non_null(strstr(why, "is reached over TCP without proof of who answers (sslmode=disable)"));
    cc.allow_unverified_tls = true;
    assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
    assert_non_null(strstr(why, "in cleartext"));
}

static void test_tls_rule(void **st)
{
    (void)st;
    NEED_PG();
    char why[1024], ci[512];
    mk_config_conn cc = conn("host=10.255.255.1 user=moksha sslmode=require");
    assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
    assert_string_equal(why, "connection dev: 10.255.255.1 is reached over TCP without proof of who answers "
                             "(sslmode=require): set sslmode=verify-full (or verify-ca) with the server's CA in "
                             "sslrootcert, or channel_binding=require, or allow_unverified_tls (docs/providers.md, "
                             "\"Rules for every provider\")");
    cc = conn("host=10.255.255.1 user=moksha sslmode=verify-full");
    cc.connect_timeout_ms = 1000;
    try(&cc, NULL, why, sizeof why);
    assert_null(strstr(why, "without proof"));
    /* channel binding asked for where there is no TLS: libpq refuses, and
     * that is no reason to try again */
    snprintf(ci, sizeof ci, "host=%s port=%s user=moksha dbname=postgres channel_binding=require", getenv("PGHOST"),
             getenv("PGPORT"));
    cc = conn(ci);
    assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
    assert_non_null(strstr(why, "channel binding"));
}

/* HOME without a password file, PGPASSWORD unset: libpq has nothing to send. */
static char home[256];

static int no_password(void **st)
{
    keep_password(st);
    snprintf(home, sizeof home, "%s", getenv("HOME") ? getenv("HOME") : "");
    unsetenv("PGPASSWORD");
    setenv("HOME", dir, 1);
    return 0;
}

static int restore_home(void **st)
{
    restore_password(st);
    if (home[0])
        setenv("HOME", home, 1);
    return 0;
}

/* The probe sends the session's own startup packet, byte for byte: a
 * listener cannot tell the question from the session by it. With no
 * password to give, plain TCP is let through. */
static void test_probe_is_the_session(void **st)
{
    (void)st;
    NEED_PG();
    fake f;
    fake_start(&f, 0);
    char ci[256], why[1024];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=moksha dbname=app sslmode=disable gssencmode=disable "
             "options=-cwork_mem=64kB", f.port);
    mk_config_conn cc = conn(ci);
    if (try(&cc, NULL, why, sizeof why) != MK_PGCONN_OK)
        fail_msg("%s", why);
    fake_stop(&f);
    assert_int_equal(atomic_load(&f.nstart), 2); /* the probe, then the session */
    assert_int_equal(f.startlen[0], f.startlen[1]);
    assert_memory_equal(f.start[0], f.start[1], f.startlen[0]);
    static const char want[] = "user\0moksha\0database\0app\0options\0-cwork_mem=64kB\0application_name\0moksha-exec\0";
    assert_memory_equal(f.start[0], want, sizeof want - 1);
}

/* A socket in a directory others can write: anyone could have put a
 * listener there; refused with a password, unless requirepeer names the
 * server's user or the directory is private. */
static void test_socket_directory(void **st)
{
    (void)st;
    NEED_PG();
    char open_dir[128], link[256], real[256], ci[512], why[1024];
    snprintf(open_dir, sizeof open_dir, "%s/open", dir);
    assert_int_equal(mkdir(open_dir, 0700), 0);
    assert_int_equal(chmod(open_dir, 0777), 0);
    snprintf(real, sizeof real, "%s/.s.PGSQL.%s", getenv("PGHOST"), getenv("PGPORT"));
    snprintf(link, sizeof link, "%s/.s.PGSQL.%s", open_dir, getenv("PGPORT"));
    assert_int_equal(symlink(real, link), 0);
    snprintf(ci, sizeof ci, "host=%s port=%s user=moksha dbname=postgres", open_dir, getenv("PGPORT"));
    mk_config_conn cc = conn(ci);
    if (PQlibVersion() < 160000) {
        assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
        if (!strstr(why, "the password would go over a unix socket in ") || !strstr(why, "/open, a directory others can write"))
            fail_msg("%s", why);
    }
    struct stat sb;
    assert_int_equal(stat(real, &sb), 0);
    struct passwd *pw = getpwuid(sb.st_uid);
    assert_non_null(pw);
    snprintf(ci, sizeof ci, "host=%s port=%s user=moksha dbname=postgres requirepeer=%s", open_dir, getenv("PGPORT"),
             pw->pw_name);
    cc = conn(ci);
    if (try(&cc, NULL, why, sizeof why) != MK_PGCONN_OK)
        fail_msg("requirepeer: %s", why);
    assert_int_equal(chmod(open_dir, 0755), 0);
    snprintf(ci, sizeof ci, "host=%s port=%s user=moksha dbname=postgres", open_dir, getenv("PGPORT"));
    cc = conn(ci);
    if (try(&cc, NULL, why, sizeof why) != MK_PGCONN_OK)
        fail_msg("private: %s", why);
    unlink(link);
    rmdir(open_dir);
}

/* A server that logs in and goes silent: a statement is given up at its
 * deadline (plus the grace for the server's own timeout), the server
 * asked to cancel it, the session shut; RETRYABLE. Keepalives and
 * tcp_user_timeout come from connect_timeout. */
static void test_silent_server(void **st)
{
    (void)st;
    NEED_PG();
    fake f;
    fake_start(&f, 0);
    char ci[256], why[1024];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=moksha dbname=postgres sslmode=disable gssencmode=disable",
             f.port);
    mk_config_conn cc = conn(ci);
    cc.allow_cleartext_password = true;
    mk_pgconn *pc = mk_pgconn_new(&cc, why, sizeof why);
    mk_pgconn_status s;
    PGconn *c = mk_pgconn_connect(pc, NULL, 0, &s, why, sizeof why);
    if (!c)
        fail_msg("%s", why);
    PQconninfoOption *opts = PQconninfo(c);
    int seen = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        const char *want = !strcmp(o->keyword, "keepalives_idle") ? "3" : !strcmp(o->keyword, "keepalives_interval") ? "1"
                           : !strcmp(o->keyword, "keepalives_count") ? "3" : !strcmp(o->keyword, "tcp_user_timeout") ? "3000"
                           : NULL;
        if (want && (++seen, !o->val || strcmp(o->val, want)))
            fail_msg("%s = %s, wanted %s", o->keyword, o->val ? o->val : "(unset)", want);
    }
    PQconninfoFree(opts);
    assert_int_equal(seen, 4);
    PGresult *r = (PGresult *)1;
    double t0 = mk_clock_now_ms();
    assert_int_equal(mk_pgconn_exec(pc, c, "SELECT $1", 1, (const char *const[]){"1"}, t0 + 1500, &r, why, sizeof why),
                     MK_PGCONN_RETRYABLE);
    double took = mk_clock_now_ms() - t0;
    assert_null(r);
    if (took < 2400 || took > 3500 || strncmp(why, "the server did not answer in time (", 35))
        fail_msg("%.0f ms: %s", took, why);
    assert_int_equal(PQstatus(c), CONNECTION_BAD); /* shut: nobody waits on it again */
    t0 = mk_clock_now_ms();
    assert_int_not_equal(mk_pgconn_exec(pc, c, "SELECT 1", 0, NULL, 0, &r, why, sizeof why), MK_PGCONN_OK);
    PQclear(r);
    assert_true(mk_clock_now_ms() - t0 < 100);
    for (int i = 0; i < 100 && atomic_load(&f.cancels) == 0; i++)
        mk_clock_sleep_ms(20);
    assert_int_equal(atomic_load(&f.cancels), 1);
    PQfinish(c);
    /* the SET statement_timeout of a session's start is bounded too */
    cc.statement_timeout_ms = 300;
    mk_pgconn_free(pc);
    pc = mk_pgconn_new(&cc, why, sizeof why);
    c = mk_pgconn_connect(pc, NULL, 0, &s, why, sizeof why);
    assert_non_null(c);
    t0 = mk_clock_now_ms();
    assert_false(mk_pgconn_deadline(pc, c, 0, why, sizeof why));
    assert_true(mk_clock_now_ms() - t0 < 2000);
    assert_non_null(strstr(why, "connection dev: the server did not answer in time"));
    PQfinish(c);
    mk_pgconn_free(pc);
    fake_stop(&f);
}

/* Run fn with stderr into the file err of dir; what it wrote, into out. */
static void with_stderr(void (*fn)(void *), void *arg, char *out, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/err", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2), close(fd);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2), close(saved);
    FILE *f = fopen(path, "r");
    size_t k = f ? fread(out, 1, n - 1, f) : 0;
    out[k] = 0;
    if (f)
        fclose(f);
}

static void notice(void *arg)
{
    PGconn *c = arg;
    PGresult *r = PQexec(c, "DO $$BEGIN RAISE NOTICE 'pgconn-notice-text'; RAISE WARNING 'pgconn-warning-text'; END$$");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

/* The server's NOTICEs and WARNINGs reach no stderr. */
static void test_notices_dropped(void **st)
{
    (void)st;
    NEED_PG();
    char ci[512], why[512], err[4096];
    snprintf(ci, sizeof ci, "host=%s port=%s user=moksha dbname=postgres", getenv("PGHOST"), getenv("PGPORT"));
    mk_config_conn cc = conn(ci);
    mk_pgconn *pc = mk_pgconn_new(&cc, why, sizeof why);
    mk_pgconn_status s;
    PGconn *c = mk_pgconn_connect(pc, NULL, 0, &s, why, sizeof why);
    if (!c)
        fail_msg("%s", why);
    with_stderr(notice, c, err, sizeof err);
    assert_string_equal(err, "");
    PQfinish(c);
    mk_pgconn_free(pc);
}

static void md5_twice(void *arg)
{
    char why[1024];
    mk_pgconn_status s;
    for (int i = 0; i < 2; i++) {
        PGconn *c = mk_pgconn_connect(arg, NULL, 0, &s, why, sizeof why);
        assert_null(c); /* the fake asks for md5 and there is no password to give */
    }
}

/* A server asking for md5 passes, with a warning, once per connection. */
static void test_md5_warning(void **st)
{
    (void)st;
    NEED_PG();
    fake f;
    fake_start(&f, 1);
    char ci[256], why[1024], err[4096];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=moksha dbname=postgres sslmode=disable gssencmode=disable",
             f.port);
    mk_config_conn cc = conn(ci);
    mk_pgconn *pc = mk_pgconn_new(&cc, why, sizeof why);
    with_stderr(md5_twice, pc, err, sizeof err);
    assert_string_equal(err, "moksha-exec: warning: connection dev: the server asks for the password by md5, which is "
                             "weak: have it use scram-sha-256 (password_encryption and pg_hba.conf)\n");
    mk_pgconn_free(pc);
    fake_stop(&f);
    assert_int_equal(atomic_load(&f.nstart), 4); /* two probes, two sessions */
}

/* fail_on is the spec's: a step it names is refused by the check unless
 * the connection allows fault injection, and is then injected. */
static void test_fault_injection_gate(void **st)
{
    (void)st;
    NEED_PG();
    char ci[512], why[1024];
    snprintf(ci, sizeof ci, "host=%s port=%s user=moksha dbname=postgres", getenv("PGHOST"), getenv("PGPORT"));
    mk_config_conn cc = conn(ci);
    mk_config cfg = {.conns = &cc, .nconns = 1};
    json_t *settings = json_pack("{s:s, s:[s]}", "connection", "dev", "fail_on", "postgres.role.bad");
    json_t *attrs = json_pack("{s:s}", "name", "t_gate_never_made");
    mk_prov_op op = {.address = "postgres.role.bad", .type = "postgres.role", .attrs = attrs};
    mk_prov_op other = {.address = "postgres.role.good", .type = "postgres.role", .attrs = attrs};
    for (int allowed = 0; allowed < 2; allowed++) {
        cc.allow_fault_injection = allowed;
        mk_prov *p = mk_prov_postgres_new(settings, &cfg, NULL, why, sizeof why);
        assert_non_null(p);
        json_t *out = NULL;
        why[0] = 0;
        mk_prov_status s = p->check(p, &op, &out, why, sizeof why);
        json_decref(out);
        if (allowed ? s != MK_PROV_OK : s != MK_PROV_FAILED)
            fail_msg("allowed=%d: %d %s", allowed, s, why);
        if (!allowed)
            assert_string_equal(why, "postgres: postgres.role.bad: provider postgres asks for injected failures "
                                     "(fail_on), which connection dev does not allow: set \"allow_fault_injection\": "
                                     "true on it in the executor's configuration (docs/providers.md, \"Rules for every "
                                     "provider\")");
        out = NULL;
        assert_int_equal(p->check(p, &other, &out, why, sizeof why), MK_PROV_OK); /* a step it does not name */
        json_decref(out);
        assert_int_equal(mk_prov_postgres_injected(p->impl, &op, why, sizeof why), allowed);
        p->free(p);
    }
    json_decref(settings);
    json_decref(attrs);
}

/* A password_command that prints the file pw, as text or as JSON with
 * expires_in, and counts its runs in the file runs. */
static void command(const char *mode)
{
    char text[1024];
    snprintf(text, sizeof text, "#!/bin/sh\necho x >>%s/runs\n%s\n", dir, mode);
    mk_test_write(dir, "cmd", text);
    char path[128];
    snprintf(path, sizeof path, "%s/cmd", dir);
    chmod(path, 0700);
    snprintf(path, sizeof path, "%s/runs", dir);
    unlink(path);
}

static int runs(void)
{
    char path[128], line[16];
    snprintf(path, sizeof path, "%s/runs", dir);
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n++;
    if (f)
        fclose(f);
    return n;
}

static void sql(const char *q)
{
    PGresult *r = PQexec(admin, q);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", q, PQresultErrorMessage(r));
    PQclear(r);
}

static void test_password_command(void **st)
{
    (void)st;
    NEED_PG();
    char ci[512], why[1024], role[64], q[256], pwfile[128];
    unsetenv("PGPASSWORD"); /* the command's password, or none */
    snprintf(role, sizeof role, "t%d_cmd", (int)getpid());
    snprintf(q, sizeof q, "CREATE ROLE %s LOGIN PASSWORD 'first-Secret-1'", role);
    sql(q);
    snprintf(pwfile, sizeof pwfile, "%s/pw", dir);
    mk_test_write(dir, "pw", "first-Secret-1");
    snprintf(ci, sizeof ci, "host=%s port=%s user=%s dbname=postgres", getenv("PGHOST"), getenv("PGPORT"), role);
    char script[256], path[128];
    snprintf(script, sizeof script, "printf '{\"password\": \"%%s\", \"expires_in\": 1}\\n' \"$(cat %s)\"", pwfile);
    command(script);
    snprintf(path, sizeof path, "%s/cmd", dir);
    char *argv[] = {path, NULL};
    mk_config_conn cc = conn(ci);
    cc.password_command = argv, cc.npassword_command = 1;
    mk_pgconn *pc = mk_pgconn_new(&cc, why, sizeof why);
    mk_pgconn_status s;
    PGconn *c = mk_pgconn_connect(pc, NULL, 0, &s, why, sizeof why);
    if (!c)
        fail_msg("%s", why);
    PQfinish(c);
    PQfinish(mk_pgconn_connect(pc, NULL, 0, &s, why, sizeof why));
    assert_int_equal(s, MK_PGCONN_OK);
    assert_int_equal(runs(), 1); /* kept while it lasts */
    mk_clock_sleep_ms(900);      /* past four fifths of its second */
    PQfinish(mk_pgconn_connect(pc, NULL, 0, &s, why, sizeof why));
    assert_int_equal(s, MK_PGCONN_OK);
    assert_int_equal(runs(), 2);
    /* revoked before its time: refused once, the command run again */
    snprintf(q, sizeof q, "ALTER ROLE %s PASSWORD 'second-Secret-2'", role);
    sql(q);
    mk_test_write(dir, "pw", "second-Secret-2");
    PQfinish(mk_pgconn_connect(pc, NULL, 0, &s, why, sizeof why));
    if (s != MK_PGCONN_OK)
        fail_msg("after the change: %s", why);
    assert_int_equal(runs(), 3);
    /* a wrong password is refused, and the why does not hold it */
    mk_test_write(dir, "pw", "wrong-Secret-3");
    mk_clock_sleep_ms(900);
    assert_null(mk_pgconn_connect(pc, NULL, 0, &s, why, sizeof why));
    assert_int_equal(s, MK_PGCONN_FAILED);
    if (!strstr(why, "password authentication failed for user") || !strstr(why, "(28P01)") || strstr(why, "Secret"))
        fail_msg("%s", why);
    mk_pgconn_free(pc);
    snprintf(q, sizeof q, "DROP ROLE %s", role);
    sql(q);
}

/* What a bad command gives: status and words; never its output. */
static void bad_command(const char *script, double timeout_ms, mk_pgconn_status want, const char *words)
{
    char why[1024], path[128];
    command(script);
    snprintf(path, sizeof path, "%s/cmd", dir);
    char *argv[] = {path, NULL};
    mk_config_conn cc = conn("host=/nonexistent user=moksha");
    cc.password_command = argv, cc.npassword_command = 1, cc.connect_timeout_ms = timeout_ms;
    cc.allow_cleartext_password = true; /* no probe: the command is what is tested */
    double t0 = mk_clock_now_ms();
    mk_pgconn_status s = try(&cc, NULL, why, sizeof why);
    if (s != want || !strstr(why, words) || strstr(why, "Secret"))
        fail_msg("%s: %d %s", script, s, why);
    assert_true(mk_clock_now_ms() - t0 < timeout_ms + 1000);
}

static void test_bad_commands(void **st)
{
    (void)st;
    NEED_PG();
    bad_command("echo oops-Secret >&2; exit 3", 3000, MK_PGCONN_FAILED,
                "connection dev: password_command exited with status 3 (what it said on stderr is not shown)");
    bad_command("printf 'a-Secret\\nb-Secret\\n'", 3000, MK_PGCONN_FAILED, "printed more than one line");
    bad_command("true", 3000, MK_PGCONN_FAILED, "password_command printed nothing");
    bad_command("echo '{\"password\": \"x-Secret\", \"expires\": 5}'", 3000, MK_PGCONN_FAILED,
                "printed JSON that is not {\"password\"");
    bad_command("echo '{\"password\": \"x-Secret\", \"expires_in\": -1}'", 3000, MK_PGCONN_FAILED, "printed JSON");
    bad_command("sleep 30", 1000, MK_PGCONN_RETRYABLE, "password_command did not finish in time");
    /* stdout closed is not the end: it must exit by the deadline */
    bad_command("echo pw-Secret; exec >&-; sleep 30", 1000, MK_PGCONN_RETRYABLE, "password_command did not finish in time");
    /* a grandchild holding stdout: the whole group killed */
    char script[256], gcpath[128], line[32] = "";
    snprintf(gcpath, sizeof gcpath, "%s/gc", dir);
    snprintf(script, sizeof script, "sh -c 'echo $$ >%s; exec sleep 30' & echo pw-Secret", gcpath);
    bad_command(script, 1000, MK_PGCONN_RETRYABLE, "password_command did not finish in time");
    FILE *gf = fopen(gcpath, "r");
    assert_non_null(gf);
    assert_non_null(fgets(line, sizeof line, gf));
    fclose(gf);
    pid_t gc = (pid_t)atoi(line);
    assert_true(gc > 1);
    bool gone = false;
    for (int i = 0; i < 50 && !gone; i++) {
        char stat_path[64], text[256] = "";
        snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", (int)gc);
        FILE *sf = fopen(stat_path, "r");
        size_t k = sf ? fread(text, 1, sizeof text - 1, sf) : 0;
        text[k] = 0;
        if (sf)
            fclose(sf);
        const char *close_paren = strrchr(text, ')');
        gone = !sf || (close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z'); /* gone, or dead and unreaped */
        if (!gone)
            mk_clock_sleep_ms(20);
    }
    if (!gone)
        kill(gc, SIGKILL);
    if (!gone)
        fail_msg("the grandchild %d was left running", (int)gc);
    char why[512];
    char *argv[] = {"/nonexistent/db-token", NULL};
    mk_config_conn cc = conn("host=/nonexistent user=moksha");
    cc.password_command = argv, cc.npassword_command = 1, cc.allow_cleartext_password = true;
    assert_int_equal(try(&cc, NULL, why, sizeof why), MK_PGCONN_FAILED);
    assert_non_null(strstr(why, "cannot run /nonexistent/db-token: No such file or directory"));
}

static void test_statement_timeout(void **st)
{
    (void)st;
    NEED_PG();
    char ci[512], why[512];
    snprintf(ci, sizeof ci, "host=%s port=%s user=moksha dbname=postgres", getenv("PGHOST"), getenv("PGPORT"));
    mk_config_conn cc = conn(ci);
    cc.statement_timeout_ms = 1500;
    mk_pgconn *pc = mk_pgconn_new(&cc, why, sizeof why);
    mk_pgconn_status s;
    PGconn *c = mk_pgconn_connect(pc, NULL, 0, &s, why, sizeof why);
    if (!c)
        fail_msg("%s", why);
    assert_true(mk_pgconn_deadline(pc, c, 0, why, sizeof why));
    PGresult *r = PQexec(c, "SHOW statement_timeout");
    assert_string_equal(PQgetvalue(r, 0, 0), "1500ms");
    PQclear(r);
    assert_true(mk_pgconn_deadline(pc, c, mk_clock_now_ms() + 200, why, sizeof why));
    r = PQexec(c, "SELECT pg_sleep(2)");
    assert_int_equal(mk_pgconn_classify(c, r), MK_PGCONN_RETRYABLE);
    assert_string_equal(mk_pgconn_message(c, r, why, sizeof why), "canceling statement due to statement timeout (57014)");
    PQclear(r);
    r = PQexec(c, "SELECT 1/0");
    assert_int_equal(mk_pgconn_classify(c, r), MK_PGCONN_FAILED);
    PQclear(r);
    PQfinish(c);
    mk_pgconn_free(pc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_socket_session),   cmocka_unit_test(test_probe),
        cmocka_unit_test_setup_teardown(test_cleartext_refused, keep_password, restore_password),
        cmocka_unit_test_setup_teardown(test_cleartext_over_tls, keep_password, restore_password),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_tls_rule),
        cmocka_unit_test_setup_teardown(test_password_command, keep_password, restore_password),
        cmocka_unit_test(test_bad_commands),      cmocka_unit_test(test_statement_timeout),
        cmocka_unit_test_setup_teardown(test_probe_is_the_session, no_password, restore_home),
        cmocka_unit_test(test_socket_directory),  cmocka_unit_test(test_silent_server),
        cmocka_unit_test(test_notices_dropped),   cmocka_unit_test(test_fault_injection_gate),
        cmocka_unit_test_setup_teardown(test_md5_warning, no_password, restore_home),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
