/* test_pgselfhosted — the abstract `database` on a PostgreSQL server
 * (runtime/providers/postgres_selfhosted.c) and the self_hosted section of
 * a connection that vouches for it (runtime/config.c). The configuration
 * tests need no server; the provider's run on the suite's throwaway one
 * (tests/with_pg.sh), each on roles and databases of this process's name
 * (t<pid>_…), dropped at the end, and check the server's own catalogs.
 * Those are skipped only when MOKSHA_TEST_PG is unset. */
#include "tests/unit/unit.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/keyring.h"
#include "runtime/planfile.h"
#include "runtime/providers/provider.h"
#include "tests/unit/pgtest.h"

static char dir[64], pfx[32];
static mk_keyring ring;
static PGconn *admin;

#define NEED_PG()                                                                                                    \
    do {                                                                                                             \
        if (!admin)                                                                                                  \
            skip();                                                                                                  \
    } while (0)

#define sql1(...) mk_test_pg_value(admin, __VA_ARGS__)

/* The configuration with connection dev's self_hosted section as given
 * (JSON text, NULL: none): loaded into cfg, or false with why. */
static bool load(mk_config *cfg, const char *self_hosted, char *why, size_t whylen)
{
    char text[2048], path[128];
    snprintf(text, sizeof text, "{\"format\": \"moksha.exec-config/v1\", \"connections\": {\"dev\": {\"kind\": "
             "\"postgres\", \"conninfo\": \"host=%s port=%s user=moksha dbname=postgres\", \"allow_fault_injection\": true%s%s}}}",
             getenv("PGHOST") ? getenv("PGHOST") : "/tmp", getenv("PGPORT") ? getenv("PGPORT") : "5432",
             self_hosted ? ", \"self_hosted\": " : "", self_hosted ? self_hosted : "");
    mk_test_write(dir, "exec.json", text);
    snprintf(path, sizeof path, "%s/exec.json", dir);
    chmod(path, 0600);
    setenv("MOKSHA_EXEC_CONFIG", path, 1);
    memset(cfg, 0, sizeof *cfg);
    return mk_config_load_for(cfg, NULL, why, whylen);
}

static int setup(void **st)
{
    (void)st;
    mk_planfile_key k = {0};
    memset(k.seal, 'e', sizeof k.seal); /* a project key of the test's: secrets seal and open with it */
    mk_keyring_from_project(&ring, &k);
    snprintf(pfx, sizeof pfx, "t%d_", (int)getpid());
    mk_test_tmpdir(dir, "/tmp/mk-pgselfhosted-XXXXXX");
    if (!getenv("MOKSHA_TEST_PG")) {
        fprintf(stderr, "test_pgselfhosted: MOKSHA_TEST_PG is unset (run under tests/with_pg.sh): the server's "
                "tests skipped\n");
        return 0;
    }
    admin = PQconnectdb("dbname=postgres");
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    PQclear(PQexec(admin, "SET client_min_messages = warning"));
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    mk_keyring_free(&ring);
    if (admin) {
        mk_test_pg_drop_prefixed(admin, pfx);
        PQfinish(admin);
    }
    mk_test_rmdir(dir);
    return 0;
}

/* ---- the configuration ---- */

static void test_config_accepts(void **state)
{
    (void)state;
    mk_config cfg;
    char why[600];
    if (!load(&cfg, "{\"encrypted\": true, \"public\": false, \"multi_az\": false, \"backup_retention\": \"7d\", "
              "\"audit_logging\": true, \"capacity\": {\"cpu\": 8, \"memory\": \"32GiB\", \"storage\": \"500GB\"}}",
              why, sizeof why))
        fail_msg("%s", why);
    const mk_config_conn *cc = mk_config_conn_find(&cfg, "dev");
    assert_non_null(cc);
    assert_string_equal(json_string_value(json_object_get(cc->self_hosted, "backup_retention")), "7d");
    mk_config_free(&cfg);
    assert_true(load(&cfg, NULL, why, sizeof why));
    assert_null(mk_config_conn_find(&cfg, "dev")->self_hosted);
    mk_config_free(&cfg);
}

static void test_config_refuses(void **state)
{
    (void)state;
    static const struct { const char *sh, *key, *says; } bad[] = {
        {"[]", "connections.dev.self_hosted", "expected {"},
        {"{\"encryption\": true}", "connections.dev.self_hosted.encryption", "unknown setting"},
        {"{\"public\": \"no\"}", "connections.dev.self_hosted.public", "expected true or false"},
        {"{\"backup_retention\": 7}", "connections.dev.self_hosted.backup_retention", "expected a duration"},
        {"{\"backup_retention\": \"a week\"}", "connections.dev.self_hosted.backup_retention", "expected a duration"},
        {"{\"capacity\": 8}", "connections.dev.self_hosted.capacity", "expected {\"cpu\""},
        {"{\"capacity\": {\"cpus\": 8}}", "connections.dev.self_hosted.capacity.cpus", "unknown setting"},
        {"{\"capacity\": {\"cpu\": 0}}", "connections.dev.self_hosted.capacity.cpu", "a count of 1 or more"},
        {"{\"capacity\": {\"cpu\": \"8\"}}", "connections.dev.self_hosted.capacity.cpu", "a count of 1 or more"},
        {"{\"capacity\": {\"memory\": \"lots\"}}", "connections.dev.self_hosted.capacity.memory", "expected a size"},
        {"{\"capacity\": {\"storage\": \"1.5TiB\"}}", "connections.dev.self_hosted.capacity.storage", "expected a size"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mk_config cfg;
        char why[600] = "", key[160];
        assert_false(load(&cfg, bad[i].sh, why, sizeof why));
        snprintf(key, sizeof key, "key `%s`: ", bad[i].key);
        if (!strstr(why, key) || !strstr(why, bad[i].says) || !strstr(why, "exec.json"))
            fail_msg("%s: %s", bad[i].sh, why);
        mk_config_free(&cfg);
    }
}

static void test_sizes(void **state)
{
    (void)state;
    double b = 0;
    assert_true(mk_config_size("32GiB", &b));
    assert_true(b == 34359738368.0);
    assert_true(mk_config_size("500GB", &b));
    assert_true(b == 5e11);
    assert_true(mk_config_size("0B", &b));
    assert_true(b == 0);
    assert_false(mk_config_size("GiB", &b));
    assert_false(mk_config_size("1.5GiB", &b));
    assert_false(mk_config_size("8 GiB", &b));
    assert_false(mk_config_size("-8GiB", &b));
    assert_false(mk_config_size("8gib", &b));
    assert_false(mk_config_size(NULL, &b));
}

/* ---- the provider ---- */

static const char *VOUCHED = "{\"encrypted\": true, \"public\": false, \"backup_retention\": \"7d\", "
                             "\"capacity\": {\"cpu\": 8, \"memory\": \"32GiB\", \"storage\": \"500GiB\"}}";

static mk_prov *open_pg(mk_config *cfg, const char *self_hosted)
{
    char why[600];
    if (!load(cfg, self_hosted, why, sizeof why))
        fail_msg("%s", why);
    json_t *s = json_pack("{s:s, s:b, s:[s]}", "connection", "dev", "databases", 1, "fail_on", "database.broken");
    mk_prov *p = mk_prov_postgres_new(s, cfg, "postgres", why, sizeof why);
    json_decref(s);
    if (!p)
        fail_msg("%s", why);
    return p;
}

static int server_major(void) { return atoi(sql1("SHOW server_version_num")) / 10000; }

/* A database as the compiler plans one: the defaults, a name of ours, a
 * sealed password when given. */
static json_t *db(const char *address, const char *user, const char *password)
{
    char v[16], u[64];
    snprintf(v, sizeof v, "%d", server_major());
    snprintf(u, sizeof u, "%s%s", pfx, user);
    json_t *a = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:s, s:n, s:n, s:n, s:n, s:n, s:n, s:n, "
                          "s:n, s:n, s:n, s:n, s:n, s:n, s:{}}",
                          "engine", "postgres", "version", v, "cpu", 2, "memory", "4GiB", "storage", "20GiB",
                          "backup_retention", "1d", "encrypted", 1, "multi_az", 0, "public", 0,
                          "deletion_protection", 0, "username", u, "password", "instance_class", "edition",
                          "replicas", "storage_type", "iops", "kms_key", "flags", "audit_logging", "audit_retention",
                          "private_endpoint", "backup_plan", "network", "tags");
    if (password) {
        json_t *path = json_pack("[s]", "password");
        json_object_set_new(a, "password", mk_keyring_seal_secret(&ring, password, strlen(password), address, path, NULL));
        json_decref(path);
    }
    char name[64];
    snprintf(name, sizeof name, "%s%s", pfx, strrchr(address, '.') + 1);
    json_object_set_new(a, "db_name", json_string(name));
    return a;
}

static mk_prov_status call(mk_prov *p, mk_prov_fn fn, const char *address, json_t *attrs, json_t *prior,
                           const char *action, json_t **out, char *why)
{
    mk_prov_op op = {.address = address, .type = "database", .attrs = attrs, .prior = prior, .keys = &ring,
                     .stack_id = "stack1", .run_id = "run1", .action = action};
    json_t *o = NULL;
    why[0] = 0;
    mk_prov_status st = fn(p, &op, &o, why, 600);
    if (out)
        *out = o;
    else
        json_decref(o);
    return st;
}

/* Every attribute asking for what the connection does not vouch for is
 * listed, each with the key that would allow it; what a server can never
 * be is refused as such. */
static void test_check_vouched(void **state)
{
    (void)state;
    NEED_PG();
    mk_config cfg;
    mk_prov *p = open_pg(&cfg, VOUCHED);
    json_t *a = db("database.chk", "chk", NULL), *out;
    char why[600];
    if (call(p, p->check, "database.chk", a, NULL, "create", &out, why) != MK_PROV_OK)
        fail_msg("check: %s", why);
    json_object_set_new(a, "backup_retention", json_string("14d"));
    json_object_set_new(a, "cpu", json_integer(16));
    json_object_set_new(a, "multi_az", json_true());
    json_object_set_new(a, "kms_key", json_string("arn:aws:kms:key"));
    json_object_set_new(a, "replicas", json_integer(2));
    assert_int_equal(call(p, p->check, "database.chk", a, NULL, "create", &out, why), MK_PROV_FAILED);
    assert_string_equal(why, "postgres: database.chk: connection dev does not vouch for what this database asks "
                        "(docs/providers.md, \"Self-hosted databases\"): multi_az = true (connections.dev.self_hosted."
                        "multi_az: true); backup_retention = 14d (connections.dev.self_hosted.backup_retention: 14d "
                        "or more); cpu = 16 (connections.dev.self_hosted.capacity.cpu: 16 or more); kms_key = (set) "
                        "(a self-hosted server cannot enforce it); replicas = (more than 0) (a self-hosted server "
                        "cannot enforce it)");
    p->free(p), mk_config_free(&cfg);
    /* nothing vouched: the defaults themselves ask for encryption and privacy */
    p = open_pg(&cfg, NULL);
    json_decref(a);
    a = db("database.chk", "chk", NULL);
    assert_int_equal(call(p, p->check, "database.chk", a, NULL, "create", &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "): encrypted = true (connections.dev.self_hosted.encrypted: true); public = false "
                           "(connections.dev.self_hosted.public: false); backup_retention = 1d"));
    assert_non_null(strstr(why, "memory = 4GiB (connections.dev.self_hosted.capacity.memory: 4GiB or more)"));
    p->free(p), mk_config_free(&cfg);
    json_decref(a);
}

static void test_check_server(void **state)
{
    (void)state;
    NEED_PG();
    mk_config cfg;
    mk_prov *p = open_pg(&cfg, VOUCHED);
    json_t *a = db("database.chk", "chk", NULL), *out;
    char why[600], want[300];
    json_object_set_new(a, "version", json_string("9"));
    assert_int_equal(call(p, p->check, "database.chk", a, NULL, "create", &out, why), MK_PROV_FAILED);
    snprintf(want, sizeof want, "postgres: database.chk: version = 9: the server behind connection dev is "
             "PostgreSQL %d", server_major());
    assert_string_equal(why, want);
    json_object_set_new(a, "version", json_string("14"));
    json_object_set_new(a, "engine", json_string("mysql"));
    assert_int_equal(call(p, p->check, "database.chk", a, NULL, "create", &out, why), MK_PROV_FAILED);
    assert_string_equal(why, "postgres: database.chk: engine = mysql: a self-hosted database on connection dev is "
                        "postgres only");
    json_object_set_new(a, "engine", json_string("postgres"));
    json_object_set_new(a, "db_name", json_string("mk_stage_0123"));
    json_object_set_new(a, "version", json_null());
    assert_int_equal(call(p, p->check, "database.chk", a, NULL, "create", &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "starts with mk_stage_"));
    /* deletion_protection: the delete is refused before the first step */
    json_object_set_new(a, "deletion_protection", json_true());
    assert_int_equal(call(p, p->check, "database.chk", a, NULL, "delete", &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "deletion_protection is true"));
    p->free(p), mk_config_free(&cfg);
    json_decref(a);
}

/* The name on the server without db_name: the resource's, made safe. */
static void test_derived_name(void **state)
{
    (void)state;
    NEED_PG();
    mk_config cfg;
    mk_prov *p = open_pg(&cfg, VOUCHED);
    json_t *a = db("database.x", "dn", NULL), *out = NULL;
    json_object_del(a, "db_name");
    char addr[96], why[600], want[64];
    snprintf(addr, sizeof addr, "module.m.database.%sshard[\"a.b\"]", pfx);
    assert_int_equal(call(p, p->create, addr, a, NULL, NULL, &out, why), MK_PROV_OK);
    snprintf(want, sizeof want, "%sshard__a_b__", pfx);
    assert_string_equal(json_string_value(json_object_get(out, "id")), want);
    assert_string_equal(sql1("SELECT count(*) FROM pg_database WHERE datname = '%s'", want), "1");
    json_decref(out);
    assert_int_equal(call(p, p->del, addr, a, NULL, NULL, NULL, why), MK_PROV_OK);
    p->free(p), mk_config_free(&cfg);
    json_decref(a);
}

/* Made (role, database, flags, tags), read back as recorded, drift seen
 * and undone by an update, refused a drop under deletion_protection,
 * dropped, gone. */
static void test_lifecycle(void **state)
{
    (void)state;
    NEED_PG();
    mk_config cfg;
    mk_prov *p = open_pg(&cfg, VOUCHED);
    json_t *a = db("database.main", "owner", "s3cret-pw"), *out = NULL;
    json_object_set_new(a, "flags", json_pack("{s:s}", "work_mem", "64MB"));
    json_object_set_new(a, "tags", json_pack("{s:s}", "team", "data"));
    char why[600], name[64], user[64];
    snprintf(name, sizeof name, "%smain", pfx);
    snprintf(user, sizeof user, "%sowner", pfx);
    if (call(p, p->create, "database.main", a, NULL, NULL, &out, why) != MK_PROV_OK)
        fail_msg("create: %s", why);
    assert_string_equal(json_string_value(json_object_get(out, "id")), name);
    assert_non_null(json_string_value(json_object_get(out, "endpoint")));
    assert_int_equal(json_integer_value(json_object_get(out, "port")), atoi(getenv("PGPORT")));
    json_object_update(a, out);
    json_decref(out);
    assert_string_equal(sql1("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '%s'", name), user);
    assert_string_equal(sql1("SELECT rolcanlogin::text || left(rolpassword, 14) FROM pg_authid WHERE rolname = '%s'",
                             user), "trueSCRAM-SHA-256$");
    assert_string_equal(sql1("SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s JOIN pg_database d ON "
                             "d.oid = s.setdatabase WHERE d.datname = '%s'", name), "work_mem=64MB");
    assert_string_equal(sql1("SELECT shobj_description(oid, 'pg_database')::json->'tags'->>'team' FROM pg_database "
                             "WHERE datname = '%s'", name), "data");
    assert_string_equal(sql1("SELECT shobj_description(oid, 'pg_database')::json->'moksha'->>'stack' FROM pg_database "
                             "WHERE datname = '%s'", name), "stack1");
    /* nobody touched it: it reads back equal to the state */
    assert_int_equal(call(p, p->read, "database.main", a, NULL, NULL, &out, why), MK_PROV_OK);
    char *x = json_dumps(a, JSON_SORT_KEYS), *y = out ? json_dumps(out, JSON_SORT_KEYS) : strdup("gone");
    assert_string_equal(y, x);
    free(x), free(y), json_decref(out);
    /* out of band: a flag, a tag, the password */
    sql1("ALTER DATABASE %s SET work_mem TO '1MB'", name);
    sql1("ALTER DATABASE %s SET search_path TO 'x'", name);
    sql1("COMMENT ON DATABASE %s IS '{\"moksha\": {\"stack\": \"stack1\", \"run\": \"run1\"}}'", name);
    sql1("ALTER ROLE %s PASSWORD 'other'", user);
    sql1("ALTER DATABASE %s OWNER TO moksha", name);
    assert_int_equal(call(p, p->read, "database.main", a, NULL, NULL, &out, why), MK_PROV_OK);
    x = json_dumps(json_object_get(out, "flags"), JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(x, "{\"search_path\":\"x\",\"work_mem\":\"1MB\"}");
    free(x);
    assert_int_equal(json_object_size(json_object_get(out, "tags")), 0);
    assert_true(json_is_true(json_object_get(json_object_get(json_object_get(out, "password"), "$secret"), "differs")));
    assert_string_equal(json_string_value(json_object_get(out, "username")), "moksha");
    json_decref(out);
    assert_int_equal(call(p, p->update, "database.main", a, a, NULL, &out, why), MK_PROV_OK);
    json_decref(out);
    assert_int_equal(call(p, p->read, "database.main", a, NULL, NULL, &out, why), MK_PROV_OK);
    x = json_dumps(a, JSON_SORT_KEYS), y = json_dumps(out, JSON_SORT_KEYS);
    assert_string_equal(y, x);
    free(x), free(y), json_decref(out);
    /* deletion_protection: the drop is refused, nothing dropped */
    json_object_set_new(a, "deletion_protection", json_true());
    assert_int_equal(call(p, p->del, "database.main", a, NULL, NULL, NULL, why), MK_PROV_FAILED);
    assert_string_equal(sql1("SELECT count(*) FROM pg_database WHERE datname = '%s'", name), "1");
    json_object_set_new(a, "deletion_protection", json_false());
    assert_int_equal(call(p, p->del, "database.main", a, NULL, NULL, NULL, why), MK_PROV_OK);
    assert_string_equal(sql1("SELECT count(*) FROM pg_database WHERE datname = '%s'", name), "0");
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = '%s'", user), "0");
    assert_int_equal(call(p, p->read, "database.main", a, NULL, NULL, &out, why), MK_PROV_OK);
    assert_null(out);
    assert_int_equal(call(p, p->del, "database.main", a, NULL, NULL, NULL, why), MK_PROV_OK); /* gone: done */
    assert_int_equal(p->caps_of(p, "database") & MK_PROV_CAN_RECREATE, 0);
    p->free(p), mk_config_free(&cfg);
    json_decref(a);
}

/* A failure injected after the first statement (fail_on) leaves neither
 * role nor database. A database someone else made is not taken over by a
 * create; an import takes it, with its owner, once the owner is the
 * username the spec names. */
static void test_injected_and_foreign(void **state)
{
    (void)state;
    NEED_PG();
    mk_config cfg;
    mk_prov *p = open_pg(&cfg, VOUCHED);
    json_t *a = db("database.broken", "br", NULL), *out = NULL;
    char why[600], name[64];
    snprintf(name, sizeof name, "%sbroken", pfx);
    assert_int_equal(call(p, p->create, "database.broken", a, NULL, NULL, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "injected failure"));
    assert_string_equal(sql1("SELECT count(*) FROM pg_database WHERE datname = '%s'", name), "0");
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = '%sbr'", pfx), "0");
    p->free(p), mk_config_free(&cfg);
    json_decref(a);
    /* another database, made outside moksha: refused, left as it was */
    p = open_pg(&cfg, VOUCHED);
    a = db("database.theirs", "th", NULL);
    snprintf(name, sizeof name, "%stheirs", pfx);
    sql1("CREATE DATABASE %s", name);
    assert_int_equal(call(p, p->create, "database.theirs", a, NULL, NULL, &out, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "this stack did not make it"));
    assert_string_equal(sql1("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '%s'",
                             name), "(null)");
    /* import: the owner must be the username asked for, then it is ours */
    mk_prov_op op = {.address = "database.theirs", .type = "database", .attrs = a, .keys = &ring, .stack_id = "stack1",
                     .run_id = "run1", .import_id = name};
    assert_int_equal(p->import(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "is owned by moksha, not the username the spec names"));
    char user[64];
    snprintf(user, sizeof user, "%sth", pfx);
    sql1("ALTER DATABASE %s OWNER TO %s", name, user); /* the role the failed create made */
    if (p->import(p, &op, &out, why, sizeof why) != MK_PROV_OK)
        fail_msg("import: %s", why);
    assert_string_equal(json_string_value(json_object_get(out, "id")), name);
    json_decref(out);
    assert_string_equal(sql1("SELECT shobj_description(oid, 'pg_database')::json->'moksha'->>'stack' FROM pg_database "
                             "WHERE datname = '%s'", name), "stack1");
    p->free(p), mk_config_free(&cfg);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_accepts), cmocka_unit_test(test_config_refuses),
        cmocka_unit_test(test_sizes),          cmocka_unit_test(test_check_vouched),
        cmocka_unit_test(test_check_server),   cmocka_unit_test(test_derived_name),
        cmocka_unit_test(test_lifecycle),      cmocka_unit_test(test_injected_and_foreign),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
