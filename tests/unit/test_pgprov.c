/* test_pgprov — the postgres provider's objects (runtime/providers/
 * postgres_role.c, postgres_database.c, postgres_schema.c) on a real
 * server: the suite's throwaway one (tests/with_pg.sh exports
 * MOKSHA_TEST_PG and libpq's PG* settings). Every operation of every type;
 * a read of what nobody touched equal to the state; drift out of band read
 * as it is; a foreign object refused, an earlier run's adopted, this run's
 * retried create not; fail_on rolling a change back; import; the SCRAM
 * verifier compared, never the password sent. Roles and databases are the
 * whole server's: each test names its own with a prefix of this process
 * and drops them. Skipped only when MOKSHA_TEST_PG is unset. */
#include "tests/unit/unit.h"

#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/keyring.h"
#include "runtime/planfile.h"
#include "runtime/providers/postgres.h"
#include "runtime/providers/postgres_role.h"
#include "runtime/providers/provider.h"

static mk_config cfg;
static mk_keyring ring;
static PGconn *admin;
static char dir[64], pfx[32];

#define NEED_PG()                                                                                                    \
    do {                                                                                                             \
        if (!getenv("MOKSHA_TEST_PG"))                                                                               \
            skip();                                                                                                  \
    } while (0)

static void load_config(void)
{
    char path[128], text[1024], why[600];
    snprintf(path, sizeof path, "%s/exec.json", dir);
    snprintf(text, sizeof text,
             "{\"format\": \"moksha.exec-config/v1\", \"connections\": {\"dev\": {\"kind\": \"postgres\", "
             "\"conninfo\": \"host=%s port=%s user=moksha dbname=postgres\", \"allow_fault_injection\": true}}}",
             getenv("PGHOST"), getenv("PGPORT"));
    mk_test_write(dir, "exec.json", text);
    chmod(path, 0600);
    setenv("MOKSHA_EXEC_CONFIG", path, 1);
    if (!mk_config_load_for(&cfg, NULL, why, sizeof why))
        fail_msg("%s", why);
}

static int setup(void **st)
{
    (void)st;
    mk_planfile_key k;
    memset(&k, 0, sizeof k);
    memset(k.sign, 's', sizeof k.sign);
    memset(k.seal, 'e', sizeof k.seal);
    mk_keyring_from_project(&ring, &k);
    snprintf(pfx, sizeof pfx, "t%d_", (int)getpid());
    if (!getenv("MOKSHA_TEST_PG"))
        return 0;
    mk_test_tmpdir(dir, "/tmp/moksha-unit-pgprov.XXXXXX");
    load_config();
    admin = PQconnectdb("dbname=postgres");
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    PQclear(PQexec(admin, "SET client_min_messages = warning"));
    return 0;
}

/* SQL as the administrator on the connection's database; the first value,
 * or "" (NULL as "(null)"). */
static char *sql1(const char *fmt, ...)
{
    static char out[512];
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(admin, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    snprintf(out, sizeof out, "%s", s != PGRES_TUPLES_OK || !PQntuples(r) ? "" : PQgetisnull(r, 0, 0) ? "(null)"
                                                                                : PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

static int teardown(void **st)
{
    (void)st;
    mk_keyring_free(&ring);
    if (!admin)
        return 0;
    /* whatever a failed test left: this process's roles and databases */
    PGresult *r = PQexecParams(admin, "SELECT datname FROM pg_database WHERE starts_with(datname, $1) OR "
                               "starts_with(datname, 'mk_stage_')", 1, NULL, (const char *[]){pfx}, NULL, NULL, 0);
    for (int i = 0; i < PQntuples(r); i++)
        sql1("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", PQgetvalue(r, i, 0));
    PQclear(r);
    r = PQexecParams(admin, "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", 1, NULL,
                     (const char *[]){pfx}, NULL, NULL, 0);
    for (int i = 0; i < PQntuples(r); i++)
        sql1("DROP ROLE IF EXISTS \"%s\"", PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(admin);
    admin = NULL;
    mk_config_free(&cfg);
    mk_test_rmdir(dir);
    return 0;
}

static mk_prov *pg(const char *settings)
{
    char why[600];
    json_t *s = json_loads(settings, 0, NULL);
    mk_prov *p = mk_prov_postgres_new(s, &cfg, "postgres", why, sizeof why);
    json_decref(s);
    if (!p)
        fail_msg("%s", why);
    return p;
}

static json_t *sealed(const char *address, const char *attr, const char *text)
{
    json_t *path = json_pack("[s]", attr);
    json_t *v = mk_keyring_seal_secret(&ring, text, strlen(text), address, path, NULL);
    json_decref(path);
    assert_non_null(v);
    return v;
}

/* A name of this process's: t<pid>_<rest>. */
static const char *nm(const char *rest)
{
    static char buf[4][80];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s%s", pfx, rest);
    return buf[i];
}

typedef struct {
    const char *stack, *run;
    bool adopted;
    char why[600];
} who;

static mk_prov_status call(mk_prov *p, mk_prov_fn fn, const char *address, const char *type, json_t *attrs,
                           json_t *prior, who *w, json_t **out)
{
    w->adopted = false;
    w->why[0] = 0;
    mk_prov_op op = {.address = address, .type = type, .attrs = attrs, .prior = prior, .keys = &ring,
                     .adopted = &w->adopted, .stack_id = w->stack, .run_id = w->run};
    json_t *o = NULL;
    mk_prov_status st = fn(p, &op, &o, w->why, sizeof w->why);
    if (out)
        *out = o;
    else
        json_decref(o);
    return st;
}

/* The state entry an apply records: the desired attributes and what the
 * create computed. */
static json_t *created(mk_prov *p, const char *address, const char *type, json_t *attrs, who *w)
{
    json_t *out = NULL;
    mk_prov_status st = call(p, p->create, address, type, attrs, NULL, w, &out);
    if (st != MK_PROV_OK)
        fail_msg("create %s: %s", address, w->why);
    json_t *state = json_deep_copy(attrs);
    json_object_update(state, out);
    json_decref(out);
    return state;
}

static json_t *readback(mk_prov *p, const char *address, const char *type, json_t *state)
{
    who w = {0};
    json_t *out = NULL;
    if (call(p, p->read, address, type, state, NULL, &w, &out) != MK_PROV_OK)
        fail_msg("read %s: %s", address, w.why);
    return out;
}

static void assert_json(json_t *got, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    assert_non_null(w);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
        fail_msg("got %s\nwant %s", g, want);
    }
    json_decref(w);
}

/* ---- postgres.role ---- */

static json_t *role_attrs(const char *name, const char *address, const char *password)
{
    json_t *a = json_pack("{s:s, s:b, s:I, s:b, s:b, s:b, s:[], s:n}", "name", name, "login", 1, "connection_limit",
                          (json_int_t)3, "createdb", 1, "createrole", 0, "inherit", 1, "member_of", "valid_until");
    json_object_set_new(a, "password", password ? sealed(address, "password", password) : json_null());
    return a;
}

/* Can name log in with password? (The verifier the server holds is of
 * that password.) */
static bool logs_in(const char *name, const char *password)
{
    const char *kw[] = {"host", "port", "user", "password", "dbname", NULL};
    const char *val[] = {getenv("PGHOST"), getenv("PGPORT"), name, password, "postgres", NULL};
    PGconn *c = PQconnectdbParams(kw, val, 0);
    bool ok = PQstatus(c) == CONNECTION_OK;
    PQfinish(c);
    return ok;
}

/* Does the server's log hold text? */
static bool logged(const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/data/server.log", getenv("MOKSHA_TEST_PG"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

static void role_create_read_update_delete(void **st)
{
    (void)st;
    NEED_PG();
    /* every statement of the provider's sessions logged: the password must not be */
    sql1("ALTER ROLE moksha SET log_statement = 'all'");
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *name = nm("app"), *group = nm("readers");
    sql1("CREATE ROLE \"%s\"", group);
    json_t *a = role_attrs(name, "postgres.role.app", "s3cret pw");
    json_array_append_new(json_object_get(a, "member_of"), json_string(group));
    who w = {.stack = "stack1", .run = "run1"};
    json_t *state = created(p, "postgres.role.app", "postgres.role", a, &w);
    assert_false(w.adopted);
    assert_string_equal(json_string_value(json_object_get(state, "id")), name);
    /* made as asked, tagged, the password a SCRAM verifier that opens a session */
    assert_string_equal(sql1("SELECT rolcanlogin::text || rolconnlimit || rolcreatedb::text || rolcreaterole::text "
                             "FROM pg_roles WHERE rolname = '%s'", name), "true3truefalse");
    assert_string_equal(sql1("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '%s'", name),
                        "{\"moksha\":{\"run\":\"run1\",\"stack\":\"stack1\"}}");
    assert_string_equal(sql1("SELECT left(rolpassword, 19) FROM pg_authid WHERE rolname = '%s'", name),
                        "SCRAM-SHA-256$4096:");
    assert_true(logs_in(name, "s3cret pw"));
    assert_false(logs_in(name, "s3cret pX"));
    /* nobody touched it: it reads back equal to the state, sealed password included */
    json_t *got = readback(p, "postgres.role.app", "postgres.role", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    /* changed out of band: read as it is */
    sql1("ALTER ROLE \"%s\" NOLOGIN CONNECTION LIMIT 5 VALID UNTIL '2031-02-03 04:05:06+00'", name);
    sql1("REVOKE \"%s\" FROM \"%s\"", group, name);
    got = readback(p, "postgres.role.app", "postgres.role", state);
    assert_false(json_is_true(json_object_get(got, "login")));
    assert_int_equal(json_integer_value(json_object_get(got, "connection_limit")), 5);
    assert_string_equal(json_string_value(json_object_get(got, "valid_until")), "2031-02-03T04:05:06Z");
    assert_int_equal(json_array_size(json_object_get(got, "member_of")), 0);
    assert_true(json_equal(json_object_get(got, "password"), json_object_get(state, "password")));
    json_decref(got);
    /* the update puts it back */
    assert_int_equal(call(p, p->update, "postgres.role.app", "postgres.role", a, state, &w, NULL), MK_PROV_OK);
    got = readback(p, "postgres.role.app", "postgres.role", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    assert_true(logs_in(name, "s3cret pw"));
    sql1("ALTER ROLE moksha RESET log_statement");
    assert_true(logged("ALTER ROLE"));
    assert_false(logged("s3cret"));
    /* delete, and again: what is gone is deleted */
    assert_int_equal(call(p, p->del, "postgres.role.app", "postgres.role", state, NULL, &w, NULL), MK_PROV_OK);
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = '%s'", name), "0");
    assert_int_equal(call(p, p->del, "postgres.role.app", "postgres.role", state, NULL, &w, NULL), MK_PROV_OK);
    w.why[0] = 1;
    assert_int_equal(call(p, p->read, "postgres.role.app", "postgres.role", state, NULL, &w, &got), MK_PROV_OK);
    assert_null(got);
    json_decref(state), json_decref(a);
    p->free(p);
}

/* note [pg password]: a password changed out of band reads as differing;
 * the same password set again (a new salt) as the recorded value; one
 * removed as differing; none recorded and none held as null. */
static void role_password_drift(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *name = nm("pw");
    json_t *a = role_attrs(name, "postgres.role.pw", "first one");
    who w = {.stack = "stack1", .run = "run1"};
    json_t *state = created(p, "postgres.role.pw", "postgres.role", a, &w);
    sql1("SET password_encryption = 'scram-sha-256'");
    sql1("ALTER ROLE \"%s\" PASSWORD 'another one'", name);
    json_t *got = readback(p, "postgres.role.pw", "postgres.role", state);
    assert_json(json_object_get(got, "password"), "{\"$secret\": {\"differs\": true}}");
    json_decref(got);
    sql1("ALTER ROLE \"%s\" PASSWORD 'first one'", name);
    got = readback(p, "postgres.role.pw", "postgres.role", state);
    assert_true(json_equal(json_object_get(got, "password"), json_object_get(state, "password")));
    json_decref(got);
    sql1("ALTER ROLE \"%s\" PASSWORD NULL", name);
    got = readback(p, "postgres.role.pw", "postgres.role", state);
    assert_json(json_object_get(got, "password"), "{\"$secret\": {\"differs\": true}}");
    json_decref(got);
    /* a role without one: null, until someone sets one */
    json_object_set_new(a, "password", json_null());
    json_object_set_new(state, "password", json_null());
    assert_int_equal(call(p, p->update, "postgres.role.pw", "postgres.role", a, state, &w, NULL), MK_PROV_OK);
    got = readback(p, "postgres.role.pw", "postgres.role", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    sql1("ALTER ROLE \"%s\" PASSWORD 'sneaky'", name);
    got = readback(p, "postgres.role.pw", "postgres.role", state);
    assert_json(json_object_get(got, "password"), "{\"$secret\": {\"differs\": true}}");
    json_decref(got);
    json_decref(state), json_decref(a);
    p->free(p);
}

/* RFC 5802's keys over a known salt (computed with Python's hashlib):
 * the same password matches, any other, a malformed verifier, md5 or an
 * absurd iteration count does not. */
static void scram_compare(void **st)
{
    (void)st;
    const char *v = "SCRAM-SHA-256$4096:bW9rc2hhLXNhbHQtMDAwMQ==$LsotjVRuNFsmovjOmoSlvm50PREerNgBjBLlUQFBCIc=:"
                    "E8P8Rbq33txAye1vPwE8FTvS9xrHQwD7h5Um8L1ctcA=";
    assert_int_equal(mk_prov_postgres_role_scram_compare(v, "correct horse"), MK_PGSCRAM_SAME);
    assert_int_equal(mk_prov_postgres_role_scram_compare(v, "correct horsE"), MK_PGSCRAM_DIFFERS);
    assert_int_equal(mk_prov_postgres_role_scram_compare(v, ""), MK_PGSCRAM_DIFFERS);
    assert_int_equal(mk_prov_postgres_role_scram_compare(v, "corr\xc3\xa9" "ct"), MK_PGSCRAM_CANNOT); /* SASLprep not redone */
    assert_int_equal(mk_prov_postgres_role_scram_compare("md5a3556571e93b0d20722ba62be61e8c2d", "x"), MK_PGSCRAM_DIFFERS);
    assert_int_equal(mk_prov_postgres_role_scram_compare("SCRAM-SHA-256$4096:bW9r$xx:yy", "x"), MK_PGSCRAM_DIFFERS);
    assert_int_equal(mk_prov_postgres_role_scram_compare("SCRAM-SHA-256$99999999:bW9rc2hhLXNhbHQtMDAwMQ==$LsotjVRuNFsmovjO"
                                                    "moSlvm50PREerNgBjBLlUQFBCIc=:E8P8Rbq33txAye1vPwE8FTvS9xrHQwD7h5Um"
                                                    "8L1ctcA=", "correct horse"), MK_PGSCRAM_DIFFERS);
    assert_int_equal(mk_prov_postgres_role_scram_compare("SCRAM-SHA-256$", "x"), MK_PGSCRAM_DIFFERS);
    assert_int_equal(mk_prov_postgres_role_scram_compare(NULL, "x"), MK_PGSCRAM_DIFFERS);
}

/* note [pg owner]: a role made outside moksha, or by another stack, is
 * foreign; one of an earlier run of this stack adopted; this run's own (a
 * retried create whose first reply was lost) taken over but not adopted. */
static void role_owners(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *name = nm("own"), *other = nm("foreign");
    sql1("CREATE ROLE \"%s\"", other);
    json_t *f = role_attrs(other, "postgres.role.f", NULL);
    who w = {.stack = "stack1", .run = "run1"};
    assert_int_equal(call(p, p->create, "postgres.role.f", "postgres.role", f, NULL, &w, NULL), MK_PROV_FAILED);
    char want[400];
    snprintf(want, sizeof want, "postgres: postgres.role.f: role %s already exists and this stack did not make it: not "
             "taken over; to manage it, `moksha import postgres.role.f %s`", other, other);
    assert_string_equal(w.why, want);
    assert_string_equal(sql1("SELECT rolcanlogin FROM pg_roles WHERE rolname = '%s'", other), "f"); /* untouched */
    /* nor does its delete drop it */
    assert_int_equal(call(p, p->del, "postgres.role.f", "postgres.role", f, NULL, &w, NULL), MK_PROV_FAILED);
    assert_non_null(strstr(w.why, "is not this stack's (it has no owner tag of moksha's): not dropped"));
    json_t *a = role_attrs(name, "postgres.role.own", "pw");
    json_decref(created(p, "postgres.role.own", "postgres.role", a, &w));
    /* the same run again (a retried call): taken, not adopted */
    json_t *s2 = created(p, "postgres.role.own", "postgres.role", a, &w);
    assert_false(w.adopted);
    json_decref(s2);
    /* a later run of the stack: adopted, the tag left as the run that made it */
    who later = {.stack = "stack1", .run = "run2"};
    s2 = created(p, "postgres.role.own", "postgres.role", a, &later);
    assert_true(later.adopted);
    json_decref(s2);
    assert_string_equal(sql1("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '%s'", name),
                        "{\"moksha\":{\"run\":\"run1\",\"stack\":\"stack1\"}}");
    /* and adopting it a second time in that run still says adopted */
    s2 = created(p, "postgres.role.own", "postgres.role", a, &later);
    assert_true(later.adopted);
    json_decref(s2);
    /* another stack's */
    who stranger = {.stack = "stack2", .run = "run9"};
    assert_int_equal(call(p, p->create, "postgres.role.own", "postgres.role", a, NULL, &stranger, NULL), MK_PROV_FAILED);
    assert_non_null(strstr(stranger.why, "already exists and this stack did not make it"));
    assert_int_equal(call(p, p->del, "postgres.role.own", "postgres.role", a, NULL, &stranger, NULL), MK_PROV_FAILED);
    assert_non_null(strstr(stranger.why, "another stack made it"));
    json_decref(a), json_decref(f);
    p->free(p);
}

/* fail_on: the change fails after its first statement, and its
 * transaction leaves nothing behind. */
static void role_fail_on(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\", \"fail_on\": [\"postgres.role.bad\"]}");
    const char *name = nm("bad");
    json_t *a = role_attrs(name, "postgres.role.bad", "pw");
    who w = {.stack = "stack1", .run = "run1"};
    assert_int_equal(call(p, p->create, "postgres.role.bad", "postgres.role", a, NULL, &w, NULL), MK_PROV_FAILED);
    assert_string_equal(w.why, "postgres: postgres.role.bad: injected failure (provider postgres, fail_on)");
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = '%s'", name), "0");
    /* its reads do not fail */
    json_t *got = (json_t *)1;
    assert_int_equal(call(p, p->read, "postgres.role.bad", "postgres.role", a, NULL, &w, &got), MK_PROV_OK);
    assert_null(got);
    json_decref(a);
    p->free(p);
}

/* import: a role made outside moksha is tagged and read whole, its
 * password unknown; one the spec names otherwise, or missing, refused. */
static void role_import(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *name = nm("legacy"), *group = nm("grp");
    sql1("CREATE ROLE \"%s\"", group);
    sql1("CREATE ROLE \"%s\" LOGIN CONNECTION LIMIT 7 PASSWORD 'old' IN ROLE \"%s\"", name, group);
    who w = {.stack = "stack1", .run = "run1"};
    json_t *want = json_pack("{s:s}", "name", name), *out = NULL;
    mk_prov_op op = {.address = "postgres.role.legacy", .type = "postgres.role", .attrs = want, .keys = &ring,
                     .stack_id = "stack1", .run_id = "run1", .import_id = name};
    assert_int_equal(p->read(p, &op, &out, w.why, sizeof w.why), MK_PROV_OK);
    char exp[600];
    snprintf(exp, sizeof exp, "{\"name\": \"%s\", \"login\": true, \"password\": {\"$secret\": {\"unknown\": true}}, "
             "\"connection_limit\": 7, \"createdb\": false, \"createrole\": false, \"inherit\": true, "
             "\"member_of\": [\"%s\"], \"valid_until\": null, \"id\": \"%s\"}", name, group, name);
    assert_json(out, exp);
    json_decref(out);
    assert_int_equal(p->import(p, &op, &out, w.why, sizeof w.why), MK_PROV_OK);
    snprintf(exp, sizeof exp, "{\"id\": \"%s\"}", name);
    assert_json(out, exp);
    json_decref(out);
    assert_string_equal(sql1("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '%s'", name),
                        "{\"moksha\":{\"run\":\"run1\",\"stack\":\"stack1\"}}");
    /* the spec names another role */
    json_object_set_new(want, "name", json_string(group));
    assert_int_equal(p->import(p, &op, &out, w.why, sizeof w.why), MK_PROV_FAILED);
    assert_non_null(strstr(w.why, "is not the role the spec names"));
    op.attrs = NULL, op.import_id = nm("nobody");
    assert_int_equal(p->import(p, &op, &out, w.why, sizeof w.why), MK_PROV_FAILED);
    assert_non_null(strstr(w.why, "no role"));
    json_decref(want);
    p->free(p);
}

/* check: refused before the first step — a valid_until the server cannot
 * read, a password not sealed or not opening, a connection user who cannot
 * manage roles. */
static void role_check(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    json_t *a = role_attrs(nm("chk"), "postgres.role.chk", "pw"), *out = NULL;
    char why[600];
    mk_prov_op op = {.address = "postgres.role.chk", .type = "postgres.role", .attrs = a, .keys = &ring,
                     .action = "create"};
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_object_set_new(a, "valid_until", json_string("next tuesday-ish"));
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "invalid input syntax for type timestamp with time zone"));
    json_object_set_new(a, "valid_until", json_string("2030-01-01T00:00:00Z"));
    json_object_set_new(a, "password", json_string("plain"));
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "postgres: postgres.role.chk: the password is not sealed: refused");
    mk_planfile_key k;
    mk_keyring other;
    memset(&k, 0, sizeof k);
    memset(k.sign, 's', sizeof k.sign);
    memset(k.seal, 'x', sizeof k.seal);
    mk_keyring_from_project(&other, &k);
    json_t *path = json_pack("[s]", "password");
    json_object_set_new(a, "password", mk_keyring_seal_secret(&other, "pw", 2, "postgres.role.chk", path, NULL));
    json_decref(path);
    mk_keyring_free(&other); /* sealed with a key this executor does not have */
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "postgres: postgres.role.chk: the password does not open with this executor's key");
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = '%s'", nm("chk")), "0");
    json_decref(a);
    p->free(p);
}

/* valid_until reads back in the form recorded while it is the same time. */
static void role_valid_until(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    json_t *a = role_attrs(nm("until"), "postgres.role.until", NULL);
    json_object_set_new(a, "valid_until", json_string("2030-06-01 12:00:00+02"));
    who w = {.stack = "stack1", .run = "run1"};
    json_t *state = created(p, "postgres.role.until", "postgres.role", a, &w);
    json_t *got = readback(p, "postgres.role.until", "postgres.role", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    sql1("ALTER ROLE \"%s\" VALID UNTIL 'infinity'", nm("until"));
    got = readback(p, "postgres.role.until", "postgres.role", state);
    assert_true(json_is_null(json_object_get(got, "valid_until")));
    json_decref(got), json_decref(state), json_decref(a);
    p->free(p);
}

/* A session the server ended is a retryable failure, and the next call
 * connects again. */
static void session_lost(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    json_t *a = role_attrs(nm("lost"), "postgres.role.lost", NULL);
    who w = {.stack = "stack1", .run = "run1"};
    json_t *state = created(p, "postgres.role.lost", "postgres.role", a, &w);
    sql1("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'moksha-exec' "
         "AND pid <> pg_backend_pid()");
    usleep(100000);
    json_t *got = NULL;
    assert_int_equal(call(p, p->read, "postgres.role.lost", "postgres.role", state, NULL, &w, &got),
                     MK_PROV_RETRYABLE);
    got = readback(p, "postgres.role.lost", "postgres.role", state);
    assert_true(json_equal(got, state));
    json_decref(got), json_decref(state), json_decref(a);
    p->free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scram_compare),
        cmocka_unit_test(role_create_read_update_delete),
        cmocka_unit_test(role_password_drift),
        cmocka_unit_test(role_owners),
        cmocka_unit_test(role_fail_on),
        cmocka_unit_test(role_import),
        cmocka_unit_test(role_check),
        cmocka_unit_test(role_valid_until),
        cmocka_unit_test(session_lost),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
