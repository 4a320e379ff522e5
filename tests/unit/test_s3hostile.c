/* test_s3hostile — runtime/httpc.c and the s3 provider against a server
 * that answers what an attacker would: a listing naming `../other/x`, an
 * error carrying a DTD and its entities, control bytes and the session
 * token in its words, a redirect to terminal escapes, a bucket name another
 * account holds, a bucket made again by someone else, a key longer than
 * the request buffer once escaped. The server is a thread of this test on
 * loopback; it records each request's method and path. */
#include "tests/unit/unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/httpc.h"
#include "runtime/providers/provider.h"

static mk_config cfg;
static char dir[64], endpoint[128];
static int lfd = -1;
static pthread_t server;

/* ---- the server ---- */

typedef struct answer {
    int status;
    const char *headers; /* extra lines, each ending "\r\n" */
    char *body;          /* malloc'd, or NULL */
} answer;

typedef void (*handler_fn)(const char *method, const char *path, const char *body, answer *a);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static handler_fn handler;
static char seen[200][5000]; /* "METHOD PATH" of each request */
static char seen_body[200][2000];
static size_t nseen;

static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        static char buf[1 << 16];
        size_t n = 0;
        char *end = NULL;
        buf[0] = 0;
        while (n < sizeof buf - 1 && !(end = strstr(buf, "\r\n\r\n"))) {
            ssize_t k = read(fd, buf + n, sizeof buf - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
            buf[n] = 0;
        }
        if (!end) {
            close(fd);
            continue;
        }
        const char *cl = strcasestr(buf, "\r\ncontent-length:");
        size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0, head = (size_t)(end + 4 - buf);
        while (n < head + want && n < sizeof buf - 1) {
            ssize_t k = read(fd, buf + n, sizeof buf - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
        }
        buf[n] = 0;
        char method[16] = "", path[4900] = "";
        sscanf(buf, "%15s %4899s", method, path);
        answer a = {.status = 404};
        pthread_mutex_lock(&mu);
        if (nseen < 200) {
            snprintf(seen[nseen], sizeof seen[0], "%s %s", method, path);
            snprintf(seen_body[nseen], sizeof seen_body[0], "%s", buf + head);
            nseen++;
        }
        handler_fn h = handler;
        pthread_mutex_unlock(&mu);
        if (h)
            h(method, path, buf + head, &a);
        char top[512];
        size_t bl = a.body ? strlen(a.body) : 0;
        int tl = snprintf(top, sizeof top, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                          a.status, bl, a.headers ? a.headers : "");
        if (write(fd, top, (size_t)tl) == tl && strcmp(method, "HEAD") != 0 && bl && write(fd, a.body, bl) < 0)
            fprintf(stderr, "fake s3: a short write\n");
        free(a.body);
        close(fd);
    }
}

static void serve_with(handler_fn h)
{
    pthread_mutex_lock(&mu);
    handler = h;
    nseen = 0;
    pthread_mutex_unlock(&mu);
}

/* Was a request "METHOD PATH" (PATH up to its query) seen? */
static bool was_seen(const char *method, const char *path)
{
    char want[5000];
    snprintf(want, sizeof want, "%s %s", method, path);
    size_t wl = strlen(want);
    bool yes = false;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < nseen; i++)
        yes |= strncmp(seen[i], want, wl) == 0 && (seen[i][wl] == 0 || seen[i][wl] == '?');
    pthread_mutex_unlock(&mu);
    return yes;
}


/* ---- set-up ---- */

static int setup(void **st)
{
    (void)st;
    mk_test_tmpdir(dir, "/tmp/mk-s3hostile-XXXXXX");
    chmod(dir, 0700);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 16), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", ntohs(sa.sin_port));
    assert_int_equal(pthread_create(&server, NULL, serve, NULL), 0);
    assert_true(mk_httpc_init());
    char text[2048], path[128], why[600];
    snprintf(text, sizeof text,
             "{\"format\": \"moksha.exec-config/v1\", \"connections\": {"
             "\"fake\": {\"kind\": \"s3\", \"endpoint\": \"%s\", \"implements\": []},"
             "\"faketag\": {\"kind\": \"s3\", \"endpoint\": \"%s\", \"implements\": [\"tagging\"]}}}",
             endpoint, endpoint);
    mk_test_write(dir, "exec.json", text);
    snprintf(path, sizeof path, "%s/exec.json", dir);
    chmod(path, 0600);
    setenv("MOKSHA_EXEC_CONFIG", path, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-key-0001", 1);
    setenv("AWS_SESSION_TOKEN", "sess-token-SECRET-77", 1);
    if (!mk_config_load_for(&cfg, NULL, why, sizeof why))
        fail_msg("%s", why);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    shutdown(lfd, SHUT_RDWR);
    close(lfd);
    pthread_join(server, NULL);
    mk_config_free(&cfg);
    mk_test_rmdir(dir);
    return 0;
}

static mk_prov *provider(const char *conn)
{
    char why[600];
    json_t *settings = json_pack("{s:s, s:s}", "connection", conn, "region", "us-east-1");
    mk_prov *p = mk_prov_s3_new(settings, &cfg, "store", why, sizeof why);
    json_decref(settings);
    if (!p)
        fail_msg("%s", why);
    return p;
}

static json_t *bucket(const char *name, bool force)
{
    return json_pack("{s:b, s:b, s:b, s:s, s:{}, s:n, s:s, s:b}", "encrypted", 0, "public", 0, "versioning", 0,
                     "storage_class", "standard", "tags", "public_access_block", "bucket_name", name, "force_destroy",
                     force);
}

static mk_prov_op op_for(const char *address, json_t *attrs, const char *stack, bool *adopted)
{
    return (mk_prov_op){.address = address, .type = "bucket", .attrs = attrs, .cloud = "aws", .region = "us-east-1",
                        .stack_id = stack, .run_id = "run1", .adopted = adopted};
}

static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

/* ---- httpc ---- */

static void ok_handler(const char *method, const char *path, const char *body, answer *a)
{
    (void)method, (void)path, (void)body;
    a->status = 200;
    a->body = strdup("ok");
}

static mk_prov_status send_to(const char *path, const char *const *headers, char *why, size_t whylen)
{
    char url[600];
    snprintf(url, sizeof url, "%s%s", endpoint, path);
    const mk_config_conn *c = mk_config_conn_find(&cfg, "fake");
    mk_httpc_req req = {.conn = c, .method = "GET", .url = url, .headers = headers};
    mk_httpc_resp r;
    mk_prov_status st = mk_httpc_send(&req, &r, why, whylen);
    mk_httpc_resp_free(&r);
    return st;
}

/* a path libcurl would rewrite is refused, never sent elsewhere */
static void test_dot_segments(void **st)
{
    (void)st;
    serve_with(ok_handler);
    char why[600];
    const char *bad[] = {"/bkt/../victim/obj", "/bkt/./obj", "/..", "/bkt/..?x=1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(send_to(bad[i], NULL, why, sizeof why), MK_PROV_FAILED);
        assert_non_null(strstr(why, "`.` or `..` segment"));
    }
    assert_false(was_seen("GET", "/victim/obj"));
    assert_false(was_seen("GET", "/bkt/obj"));
    assert_int_equal(nseen, 0);
    /* dots inside a segment are a name like any other */
    assert_int_equal(send_to("/bkt/..a/.b/c..", NULL, why, sizeof why), MK_PROV_OK);
    assert_true(was_seen("GET", "/bkt/..a/.b/c.."));
}

/* a header value with CR, LF or another control byte never splits the request */
static void test_header_controls(void **st)
{
    (void)st;
    serve_with(ok_handler);
    char why[600];
    const char *h1[] = {"x-amz-security-token: tok\r\nX-Injected: 1", NULL};
    const char *h2[] = {"Authorization: Bearer a\nb", NULL};
    const char *h3[] = {"X-A: a\x7f", NULL};
    assert_int_equal(send_to("/x", h1, why, sizeof why), MK_PROV_FAILED);
    assert_null(strstr(why, "tok"));
    assert_int_equal(send_to("/x", h2, why, sizeof why), MK_PROV_FAILED);
    assert_int_equal(send_to("/x", h3, why, sizeof why), MK_PROV_FAILED);
    assert_int_equal(nseen, 0);
    const char *fine[] = {"X-A: a\tb", NULL};
    assert_int_equal(send_to("/x", fine, why, sizeof why), MK_PROV_OK);
}

static void redirect_handler(const char *method, const char *path, const char *body, answer *a)
{
    (void)method, (void)path, (void)body;
    a->status = 302;
    a->headers = "Location: http://elsewhere/\x1b]0;owned\x07\x1b[2J\r\n";
}

/* a redirect's Location is quoted without its control bytes */
static void test_redirect_text(void **st)
{
    (void)st;
    serve_with(redirect_handler);
    char why[600];
    assert_int_equal(send_to("/x", NULL, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "a redirect to http://elsewhere/"));
    assert_false(has_control(why));
}

/* ---- s3 ---- */

/* bucket uploads lists a key reaching another bucket; victim must stay */
static void traversal_handler(const char *method, const char *path, const char *body, answer *a)
{
    (void)body;
    a->status = 200;
    if (strcmp(method, "HEAD") == 0)
        return;
    if (strcmp(method, "GET") == 0 && strncmp(path, "/uploads?", 9) == 0)
        a->body = strdup("<?xml version=\"1.0\"?><ListBucketResult><Contents><Key>../victim/precious.db</Key></Contents>"
                      "<Contents><Key>./x</Key></Contents></ListBucketResult>");
    else if (strcmp(method, "GET") == 0 && strcmp(path, "/uploads/.moksha-owner") == 0)
        a->body = strdup("{\"stack\": \"stack1\", \"run\": \"run1\", \"address\": \"bucket.uploads\"}");
    else if (strcmp(method, "DELETE") == 0)
        a->status = 204;
}

static void test_force_destroy_traversal(void **st)
{
    (void)st;
    serve_with(traversal_handler);
    mk_prov *p = provider("fake");
    char why[1000];
    json_t *a = bucket("uploads", true), *out = NULL;
    mk_prov_op op = op_for("bucket.uploads", a, "stack1", NULL);
    assert_int_equal(p->del(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "`.` or `..` segment"));
    assert_false(was_seen("DELETE", "/victim/precious.db"));
    assert_false(was_seen("DELETE", "/uploads"));
    json_decref(a);
    p->free(p);
}

/* an error with a DTD: its entities never expanded; control bytes and the
 * session token never quoted */
static void dtd_handler(const char *method, const char *path, const char *body, answer *a)
{
    (void)body, (void)path;
    a->status = 403;
    if (strcmp(method, "PUT") == 0)
        a->body = strdup("<?xml version=\"1.0\"?><!DOCTYPE Error [<!ENTITY a \"EXPANDED-ENTITY\">]>"
                      "<Error><Code>AccessDenied</Code><Message>&a;&a;&a;</Message></Error>");
}

static void words_handler(const char *method, const char *path, const char *body, answer *a)
{
    (void)body, (void)path, (void)method;
    a->status = 403;
    a->body = strdup("<?xml version=\"1.0\"?><Error><Code>Access\x1b[2JDenied</Code><Message>token "
                  "sess-token-SECRET-77 and secret fake-secret-key-0001 refused\x1b]0;t\x07</Message></Error>");
}

static void test_server_words(void **st)
{
    (void)st;
    mk_prov *p = provider("fake");
    char why[1000];
    json_t *a = bucket("words", false), *out = NULL;
    mk_prov_op op = op_for("bucket.words", a, "stack1", NULL);
    serve_with(dtd_handler);
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_null(strstr(why, "EXPANDED-ENTITY"));
    serve_with(words_handler);
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "CreateBucket"));
    assert_null(strstr(why, "sess-token-SECRET-77"));
    assert_null(strstr(why, "fake-secret-key-0001"));
    assert_false(has_control(why));
    json_decref(a);
    p->free(p);
}

/* a key whose escaped form is longer than 2 KiB: deleted by its whole name */
static char long_key[1001];
static void long_key_handler(const char *method, const char *path, const char *body, answer *a)
{
    (void)body;
    static bool deleted;
    a->status = 200;
    if (strcmp(method, "HEAD") == 0)
        return;
    if (strcmp(method, "GET") == 0 && strncmp(path, "/longk?", 7) == 0) {
        char text[2000];
        snprintf(text, sizeof text, "<ListBucketResult>%s%s%s</ListBucketResult>", deleted ? "" : "<Contents><Key>",
                 deleted ? "" : long_key, deleted ? "" : "</Key></Contents>");
        a->body = strdup(text);
    } else if (strcmp(method, "GET") == 0 && strcmp(path, "/longk/.moksha-owner") == 0)
        a->body = strdup("{\"stack\": \"stack1\", \"run\": \"run1\", \"address\": \"bucket.longk\"}");
    else if (strcmp(method, "DELETE") == 0) {
        a->status = 204;
        if (strlen(path) > 1000)
            deleted = true;
    }
}

static void test_long_key(void **st)
{
    (void)st;
    memset(long_key, '!', sizeof long_key - 1);
    serve_with(long_key_handler);
    mk_prov *p = provider("fake");
    char why[1000], want[4000] = "/longk/";
    for (size_t i = 0; i < sizeof long_key - 1; i++)
        strcat(want, "%21");
    json_t *a = bucket("longk", true), *out = NULL;
    mk_prov_op op = op_for("bucket.longk", a, "stack1", NULL);
    mk_prov_status s = p->del(p, &op, &out, why, sizeof why);
    assert_true(was_seen("DELETE", want));
    assert_int_equal(s, MK_PROV_OK);
    json_decref(a);
    p->free(p);
}

/* the name is held by another account: BucketAlreadyExists, and our
 * ListBuckets does not list it, whatever its policy lets us read */
static void sniped_handler(const char *method, const char *path, const char *body, answer *a)
{
    (void)body;
    a->status = 200;
    if (strcmp(method, "PUT") == 0 && strcmp(path, "/sniped") == 0) {
        a->status = 409;
        a->body = strdup("<Error><Code>BucketAlreadyExists</Code><Message>taken</Message></Error>");
    } else if (strcmp(method, "GET") == 0 && strcmp(path, "/") == 0)
        a->body = strdup("<ListAllMyBucketsResult><Buckets><Bucket><Name>mine</Name></Bucket></Buckets>"
                      "</ListAllMyBucketsResult>");
    else if (strcmp(method, "GET") == 0 && strncmp(path, "/sniped?", 8) == 0)
        a->body = strdup("<ListBucketResult></ListBucketResult>");
    else if (strcmp(method, "GET") == 0)
        a->status = 404;
}

static void test_sniped(void **st)
{
    (void)st;
    serve_with(sniped_handler);
    mk_prov *p = provider("fake");
    char why[1000];
    bool adopted = false;
    json_t *a = bucket("sniped", false), *out = NULL;
    mk_prov_op op = op_for("bucket.sniped", a, "stack1", &adopted);
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "not this account's"));
    assert_false(was_seen("PUT", "/sniped/.moksha-owner"));
    op.action = "create";
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "not this account's"));
    json_decref(a);
    p->free(p);
}

/* the bucket at the recorded name was made again by someone else */
static const char *marker_now;
static void remade_handler(const char *method, const char *path, const char *body, answer *a)
{
    (void)body;
    a->status = 200;
    if (strcmp(method, "GET") == 0 && strcmp(path, "/remade/.moksha-owner") == 0) {
        if (marker_now)
            a->body = strdup(marker_now);
        else
            a->status = 404;
    } else if (strcmp(method, "GET") == 0 && strncmp(path, "/remade?", 8) == 0)
        a->body = strdup("<ListBucketResult><Contents><Key>theirs.db</Key></Contents></ListBucketResult>");
    else if (strcmp(method, "DELETE") == 0)
        a->status = 204;
}

static void test_remade(void **st)
{
    (void)st;
    serve_with(remade_handler);
    mk_prov *p = provider("fake");
    char why[1000];
    json_t *a = bucket("remade", true), *out = NULL;
    mk_prov_op op = op_for("bucket.remade", a, "stack1", NULL);
    const char *markers[] = {NULL, "{\"stack\": \"stack2\", \"run\": \"r\", \"address\": \"bucket.remade\"}",
                             "{\"stack\": \"stack1\", \"run\": \"r\", \"address\": \"bucket.other\"}"};
    for (size_t i = 0; i < 3; i++) {
        marker_now = markers[i];
        serve_with(remade_handler);
        op.action = "delete";
        assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
        assert_non_null(strstr(why, "not deleted"));
        assert_int_equal(p->del(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
        assert_non_null(strstr(why, "not deleted"));
        op.action = "update";
        assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
        assert_non_null(strstr(why, "not changed"));
        assert_int_equal(p->update(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
        assert_non_null(strstr(why, "not changed"));
        assert_false(was_seen("DELETE", "/remade/theirs.db"));
        assert_false(was_seen("DELETE", "/remade"));
        assert_false(was_seen("PUT", "/remade/.moksha-owner"));
    }
    /* its own: deleted */
    marker_now = "{\"stack\": \"stack1\", \"run\": \"r\", \"address\": \"bucket.remade\"}";
    serve_with(remade_handler);
    assert_int_equal(p->update(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_decref(out);
    out = NULL;
    json_decref(a);
    p->free(p);
}

/* with tagging, the owner tag names the address: another resource of the
 * stack does not take the bucket over */
static void tagged_handler(const char *method, const char *path, const char *body, answer *a)
{
    (void)body;
    a->status = 200;
    if (strcmp(method, "PUT") == 0 && strcmp(path, "/shared") == 0) {
        a->status = 409;
        a->body = strdup("<Error><Code>BucketAlreadyOwnedByYou</Code><Message>yours</Message></Error>");
    } else if (strcmp(method, "GET") == 0 && strcmp(path, "/") == 0)
        a->body = strdup("<ListAllMyBucketsResult><Buckets><Bucket><Name>shared</Name></Bucket></Buckets>"
                      "</ListAllMyBucketsResult>");
    else if (strcmp(method, "GET") == 0 && strcmp(path, "/shared?tagging=") == 0)
        a->body = strdup("<Tagging><TagSet><Tag><Key>moksha-stack</Key><Value>stack1</Value></Tag>"
                      "<Tag><Key>moksha-run</Key><Value>run0</Value></Tag>"
                      "<Tag><Key>moksha-address</Key><Value>bucket.a</Value></Tag></TagSet></Tagging>");
    else if (strcmp(method, "GET") == 0 && strncmp(path, "/shared?", 8) == 0)
        a->body = strdup("<ListBucketResult></ListBucketResult>");
}

static void test_address_tag(void **st)
{
    (void)st;
    serve_with(tagged_handler);
    mk_prov *p = provider("faketag");
    char why[1000];
    bool adopted = false;
    json_t *a = bucket("shared", false), *out = NULL;
    mk_prov_op op = op_for("bucket.b", a, "stack1", &adopted);
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "two resources cannot share a bucket"));
    /* its own address: taken over, and the tag written names it */
    op.address = "bucket.a";
    serve_with(tagged_handler);
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_OK);
    bool tagged = false;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < nseen; i++)
        tagged |= strcmp(seen[i], "PUT /shared?tagging=") == 0 &&
                  strstr(seen_body[i], "<Key>moksha-address</Key><Value>bucket.a</Value>") != NULL;
    pthread_mutex_unlock(&mu);
    assert_true(tagged);
    json_decref(out);
    json_decref(a);
    p->free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dot_segments),    cmocka_unit_test(test_header_controls),
        cmocka_unit_test(test_redirect_text),   cmocka_unit_test(test_force_destroy_traversal),
        cmocka_unit_test(test_server_words),    cmocka_unit_test(test_long_key),
        cmocka_unit_test(test_sniped),          cmocka_unit_test(test_remade),
        cmocka_unit_test(test_address_tag),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
