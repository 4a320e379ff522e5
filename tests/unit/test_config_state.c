/* test_config_state — the executor configuration's `state` section
 * (runtime/config.c; docs/state.md "Choosing a backend"): read into
 * mk_config_state with its defaults, and refused, naming the file and the
 * key, when a key is unknown, a type is wrong, the conninfo carries a
 * password (as libpq reads it: keyword or URI form, any separator, a
 * percent-encoded name, inside a dbname), the schema is no plain identifier, an
 * environment's name is not one, or a stack is not a string; and where
 * other stacks' local states are (local_stacks). Each test
 * writes the file in a temporary directory, mode 0600. */
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/config.h"
#include "tests/unit/cfgload.h"

static char dir[64];

static int setup(void **st)
{
    (void)st;
    mk_test_tmpdir(dir, "/tmp/moksha-unit-cfgstate.XXXXXX");
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    mk_test_rmdir(dir);
    unsetenv("MOKSHA_EXEC_CONFIG");
    return 0;
}

static bool load(const char *state, mk_config *cfg, char *why, size_t whylen)
{
    return mk_test_cfg_load(dir, "state", state, cfg, why, whylen);
}

static void refused(const char *state, const char *key, const char *words)
{
    mk_test_cfg_refused(dir, "state", state, key, words);
}

static void test_defaults_without_section(void **st)
{
    (void)st;
    mk_config cfg;
    char why[1024];
    setenv("MOKSHA_EXEC_CONFIG", "", 1);
    setenv("HOME", dir, 1); /* no file there: every default */
    assert_true(mk_config_load_for(&cfg, NULL, why, sizeof why));
    assert_string_equal(cfg.state.backend, "local");
    assert_string_equal(cfg.state.pg.schema, "moksha");
    assert_string_equal(cfg.state.pg.conninfo, "");
    assert_int_equal(cfg.state.nstacks, 0);
    assert_int_equal(cfg.state.nenvs, 0);
    mk_config_free(&cfg);
}

static void test_full_section(void **st)
{
    (void)st;
    mk_config cfg;
    char why[1024];
    assert_true(load("{\"backend\": \"postgres\", \"postgres\": {\"conninfo\": \"host=/run/postgresql dbname=moksha "
                     "user=deploy\", \"schema\": \"team_state\"}, \"stacks\": [\"network\", \"web\"], \"environments\": "
                     "{\"dev\": {\"backend\": \"local\"}, \"prod\": {\"postgres\": {\"schema\": \"prod\"}}}}",
                     &cfg, why, sizeof why));
    assert_string_equal(cfg.state.backend, "postgres");
    assert_string_equal(cfg.state.pg.conninfo, "host=/run/postgresql dbname=moksha user=deploy");
    assert_string_equal(cfg.state.pg.schema, "team_state");
    assert_int_equal(cfg.state.nstacks, 2);
    assert_string_equal(cfg.state.stacks[1], "web");
    assert_int_equal(cfg.state.nenvs, 2);
    assert_string_equal(cfg.state.envs[0].name, "dev");
    assert_string_equal(cfg.state.envs[0].backend, "local");
    assert_string_equal(cfg.state.envs[1].name, "prod");
    assert_string_equal(cfg.state.envs[1].backend, "");
    assert_string_equal(cfg.state.envs[1].pg.schema, "prod");
    assert_string_equal(cfg.state.envs[1].pg.conninfo, "");
    mk_config_free(&cfg);
}

static void test_refusals(void **st)
{
    (void)st;
    refused("[]", "state", "expected an object");
    refused("{\"backend\": \"s3\"}", "state.backend", "expected \"local\" or \"postgres\"");
    refused("{\"backend\": 1}", "state.backend", "expected \"local\" or \"postgres\"");
    refused("{\"bakend\": \"local\"}", "state.bakend", "unknown setting");
    refused("{\"postgres\": {\"conninfo\": 5}}", "state.postgres.conninfo", "expected a libpq connection string");
    refused("{\"postgres\": {\"host\": \"x\"}}", "state.postgres.host", "unknown setting");
    refused("{\"postgres\": {\"schema\": \"Team\"}}", "state.postgres.schema", "expected a schema name");
    refused("{\"postgres\": {\"schema\": \"1st\"}}", "state.postgres.schema", "expected a schema name");
    refused("{\"postgres\": {\"schema\": \"a;drop\"}}", "state.postgres.schema", "expected a schema name");
    refused("{\"stacks\": \"web\"}", "state.stacks", "expected a list");
    refused("{\"stacks\": [\"web\", 3]}", "state.stacks[1]", "expected a stack's name");
    refused("{\"environments\": []}", "state.environments", "expected an object");
    refused("{\"environments\": {\"Prod\": {}}}", "state.environments.Prod", "not an environment's name");
    refused("{\"environments\": {\"dev\": {\"backend\": \"x\"}}}", "state.environments.dev.backend", "expected");
    refused("{\"environments\": {\"dev\": {\"kind\": \"local\"}}}", "state.environments.dev.kind", "unknown setting");
    refused("{\"environments\": {\"dev\": {\"postgres\": {\"schema\": \"\"}}}}", "state.environments.dev.postgres.schema",
            "expected a schema name");
}

/* state.local_stacks: where another stack's local state is (for its
 * outputs), by name, each directory absolute. */
static void test_local_stacks(void **st)
{
    (void)st;
    mk_config cfg;
    char why[1024];
    assert_true(load("{\"local_stacks\": {\"network\": \"/srv/network\", \"data\": \"/srv/data\"}}", &cfg, why,
                     sizeof why));
    assert_int_equal(cfg.state.nlocal_stacks, 2);
    assert_string_equal(cfg.state.local_stacks[0].name, "network");
    assert_string_equal(cfg.state.local_stacks[0].dir, "/srv/network");
    assert_string_equal(cfg.state.local_stacks[1].name, "data");
    assert_string_equal(cfg.state.local_stacks[1].dir, "/srv/data");
    mk_config_free(&cfg);
    refused("{\"local_stacks\": [\"network\"]}", "state.local_stacks", "expected an object");
    refused("{\"local_stacks\": {\"network\": \"network\"}}", "state.local_stacks", "expected an absolute path");
    refused("{\"local_stacks\": {\"network\": \"/srv/../etc\"}}", "state.local_stacks", "without `..`");
    refused("{\"local_stacks\": {\"\": \"/srv\"}}", "state.local_stacks", "a stack name is empty");
}

static void test_password_refused(void **st)
{
    (void)st;
    static const char *const with[] = {
        "password=hunter2 dbname=m", "dbname=m password = 'a b'", "host=h\\tpassword=x",
        "postgresql://deploy:hunter2@db/moksha", "postgres://db/moksha?sslmode=require&password=x",
        /* libpq's whitespace is C's isspace: \v and \f separate too */
        "dbname=postgres\\u000bpassword=SECRET", "dbname=postgres\\u000cpassword=SECRET",
        /* a URI's parameter names are percent-decoded */
        "postgresql://moksha@%2Ftmp%2Fsock:5432/postgres?pass%77ord=SECRET",
        /* a dbname that is a conninfo or a URI is expanded when connecting */
        "dbname='host=h password=SECRET'", "dbname=postgresql://u:SECRET@h/d",
    };
    for (size_t i = 0; i < sizeof with / sizeof *with; i++) {
        char state[256];
        snprintf(state, sizeof state, "{\"postgres\": {\"conninfo\": \"%s\"}}", with[i]);
        refused(state, "state.postgres.conninfo", "a password in the connection string is refused");
    }
    refused("{\"postgres\": {\"conninfo\": \"dbname='unterminated\"}}", "state.postgres.conninfo",
            "libpq cannot read this connection string");
    refused("{\"postgres\": {\"conninfo\": \"nosuchkey=1\"}}", "state.postgres.conninfo",
            "libpq cannot read this connection string");
    refused("{\"environments\": {\"prod\": {\"postgres\": {\"conninfo\": \"password=x\"}}}}",
            "state.environments.prod.postgres.conninfo", "refused");
    static const char *const without[] = {
        "host=/run/postgresql dbname=moksha user=deploy passfile=/home/d/.pgpass",
        "application_name='password=x' dbname=m", "postgresql://deploy@db:5432/moksha", "",
    };
    for (size_t i = 0; i < sizeof without / sizeof *without; i++) {
        char state[256], why[1024];
        mk_config cfg;
        snprintf(state, sizeof state, "{\"postgres\": {\"conninfo\": \"%s\"}}", without[i]);
        if (!load(state, &cfg, why, sizeof why))
            fail_msg("refused %s: %s", without[i], why);
        assert_string_equal(cfg.state.pg.conninfo, without[i]);
        mk_config_free(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_without_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_stacks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
