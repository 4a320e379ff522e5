/* pipeline (compiler/pipeline.h): the driver runs a stack quietly — nothing
 * on stdout or stderr, whatever it finds — and hands back the program, the
 * plan, the diagnostics and the phases it went through, for the caller to
 * say. Each case plans a small stack in a directory of its own. */
#include "tests/unit/unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/back/planfile.h"
#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/pipeline.h"
#include "tests/unit/seal_open.h"

#define KEY "5f2a8c1e9b7d4036a1e2f3c4b5a69788c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2"

static char dir[64], top[4096], out_path[96], err_path[96];
static int saved_out, saved_err;

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(name, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(getcwd(top, sizeof top));
    strcpy(dir, "/tmp/mk-pipeline-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chdir(dir), 0);
    setenv("MOKSHA_KEY", KEY, 1);
    write_file("main.moksha", "provider local { root = \".moksha/out\" }\n"
                              "resource local.file a {\n  path    = \"a.txt\"\n  content = \"x\"\n}\n"
                              "resource local.file b {\n  path    = \"b.txt\"\n  content = local.file.a.path\n}\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unsetenv("MOKSHA_KEY");
    assert_int_equal(chdir(top), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* stdout and stderr (the descriptors, under the FILEs) into files of their
 * own while the driver runs. */
static void quiet_begin(void)
{
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    fflush(stdout);
    fflush(stderr);
    saved_out = dup(1), saved_err = dup(2);
    int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fo >= 0 && fe >= 0);
    dup2(fo, 1), dup2(fe, 2);
    close(fo), close(fe);
}

/* Back to the terminal; how many bytes each stream got meanwhile. */
static void quiet_end(long *nout, long *nerr)
{
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1), dup2(saved_err, 2);
    close(saved_out), close(saved_err);
    struct stat so, se;
    assert_int_equal(stat(out_path, &so), 0);
    assert_int_equal(stat(err_path, &se), 0);
    *nout = (long)so.st_size, *nerr = (long)se.st_size;
    unlink(out_path), unlink(err_path);
}

static void assert_phases(const mk_planned *pl, const char *const *names, size_t n)
{
    assert_int_equal(pl->nphases, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(pl->phases[i].name, names[i]);
        assert_true(pl->phases[i].ms >= 0);
        assert_true(i == 0 ? pl->phases[i].peak_rss_mib == -1 : pl->phases[i].peak_rss_mib > 0);
    }
}

static void test_plans_quietly(void **state)
{
    (void)state;
    const char *paths[] = {"main.moksha"};
    mk_pipeline_req r = {.paths = paths, .npaths = 1};
    mk_planned pl;
    long nout, nerr;
    quiet_begin();
    bool ok = mk_pipeline_plan(&r, &pl, true);
    quiet_end(&nout, &nerr);
    assert_true(ok);
    assert_int_equal(nout, 0);
    assert_int_equal(nerr, 0);
    assert_int_equal(mk_diag_reports(pl.p->diag), 0);
    assert_int_equal(pl.model->nchanges, 2);
    assert_int_equal(pl.model->totals.create, 2);
    assert_string_equal(pl.model->changes[1].address, "local.file.b");
    assert_non_null(pl.text);
    assert_int_equal(strncmp(pl.text, "{\"format\":\"moksha.plan/v1\"", 26), 0);
    assert_false(pl.replace_unmatched || pl.override_unmatched);
    assert_null(pl.placement); /* kept only for --explain */
    static const char *const phases[] = {"state", "compile", "diff", "cost", "policies", "sign"};
    assert_phases(&pl, phases, 6);
    mk_pipeline_planned_free(&pl);
}

/* What the command line gets wrong is the caller's to say: the driver only
 * records it. An unsigned plan has no sign phase. */
static void test_unmatched_names_are_recorded(void **state)
{
    (void)state;
    const char *paths[] = {"main.moksha"};
    mk_policy_override ov = {"no-such-policy", "because"};
    mk_pipeline_req r = {.paths = paths, .npaths = 1, .overrides = &ov, .noverrides = 1};
    mk_planned pl;
    long nout, nerr;
    quiet_begin();
    bool ok = mk_pipeline_plan(&r, &pl, false);
    quiet_end(&nout, &nerr);
    assert_false(ok);
    assert_int_equal(nout + nerr, 0);
    assert_true(pl.override_unmatched);
    assert_false(pl.replace_unmatched);
    assert_int_equal(mk_diag_errors(pl.p->diag), 0);
    assert_null(pl.text);
    static const char *const phases[] = {"state", "compile", "diff", "cost", "policies"};
    assert_phases(&pl, phases, 5);
    mk_pipeline_planned_free(&pl);
}

/* note [plan model]: the cost model, placement and the policies annotate
 * the plan's records: each change's exact cost and where it is placed, the
 * plan's totals, the gates a policy asks for (naming the change each holds)
 * and the risks it raises. */
static void test_records_carry_cost_placement_and_gates(void **state)
{
    (void)state;
    write_file("main.moksha", "stack annotate {}\n"
                              "resource network main { cidr = \"10.0.0.0/16\" }\n"
                              "resource compute web {\n  cpu = 4\n  memory = 8GiB\n  image = \"nginx:1.27\"\n"
                              "  network = network.main\n}\n"
                              "policy \"sre\" {\n  for c in changes where c.type == \"compute\" {\n"
                              "    require approval(\"sre\") : \"${c.address} needs sre\"\n  }\n}\n"
                              "policy \"networks\" {\n  for c in changes where c.type == \"network\" {\n"
                              "    require risk(\"high\") : \"networks are high\"\n  }\n}\n");
    const char *paths[] = {"main.moksha"};
    mk_pipeline_req r = {.paths = paths, .npaths = 1};
    mk_planned pl;
    long nout, nerr;
    quiet_begin();
    bool ok = mk_pipeline_plan(&r, &pl, false);
    quiet_end(&nout, &nerr);
    assert_true(ok);
    const mk_plan *m = pl.model;
    assert_int_equal(m->nchanges, 2);
    const mk_change *net = &m->changes[0], *web = &m->changes[1];
    assert_string_equal(net->address, "network.main");
    assert_string_equal(web->address, "compute.web");
    /* the cost model: exact figures (micro-dollars), the offering, where it is placed:
     * e2-standard-4 in us-central1 and its 20 GiB pd-standard root disk at $0.04 */
    assert_true(web->costed && web->priced);
    assert_int_equal(web->monthly, 98636790);
    assert_int_equal(web->delta, 98636790);
    assert_string_equal(web->offering, "e2-standard-4");
    assert_null(web->unpriced_because);
    assert_string_equal(web->cloud, "gcp");
    assert_string_equal(web->region, "us-central1");
    assert_string_equal(web->placed_offering, "e2-standard-4");
    assert_true(net->costed && net->priced);
    assert_int_equal(net->monthly, 0);
    assert_int_equal(net->delta, 0);
    assert_string_equal(net->cloud, "gcp");
    assert_string_equal(net->region, "us-central1");
    assert_null(net->placed_offering);
    assert_true(m->costed);
    assert_int_equal(m->monthly, 98636790);
    assert_int_equal(m->applied, 0);
    assert_int_equal(m->delta, 98636790);
    assert_int_equal(m->unpriced, 0);
    /* the policies: a gate holding the compute's change, the network's risk raised */
    assert_int_equal(json_array_size(m->policies), 2);
    assert_int_equal(m->ngates, 1);
    assert_int_equal(m->gates[0].id, 1);
    assert_string_equal(m->gates[0].policy, "sre");
    assert_string_equal(m->gates[0].group, "sre");
    assert_string_equal(m->gates[0].message, "compute.web needs sre");
    assert_string_equal(m->gates[0].address, "compute.web");
    assert_int_equal(m->gates[0].change, web->id);
    assert_int_equal(net->risk, MK_RISK_HIGH);
    assert_string_equal(net->risk_raised_by, "networks");
    assert_int_equal(web->risk, MK_RISK_LOW);
    assert_null(web->risk_raised_by);
    /* and the plan file says the same, rounded to the cent */
    mk_buf text = {0};
    mk_planfile_emit(m, &pl.key, false, &text);
    json_t *doc = json_loads(mk_buf_cstr(&text), 0, NULL);
    assert_non_null(doc);
    json_t *changes = json_object_get(doc, "changes");
    json_t *wc = json_object_get(json_array_get(changes, 1), "cost");
    assert_string_equal(json_string_value(json_object_get(wc, "monthly")), "98.64");
    assert_string_equal(json_string_value(json_object_get(json_array_get(changes, 0), "risk")), "high");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(doc, "gates"), 0), "change")), 2);
    json_decref(doc);
    mk_buf_free(&text);
    mk_pipeline_planned_free(&pl);
}

/* A stack with an error stops after the compile, its diagnostic kept. */
static void test_errors_stay_in_the_diagnostics(void **state)
{
    (void)state;
    write_file("main.moksha", "resource local.file a {\n  path = var.nope\n}\n");
    const char *paths[] = {"main.moksha"};
    const char *replace[] = {"local.file.zz"};
    mk_pipeline_req r = {.paths = paths, .npaths = 1, .replace_placement = replace, .nreplace_placement = 1};
    mk_planned pl;
    long nout, nerr;
    quiet_begin();
    bool ok = mk_pipeline_plan(&r, &pl, true);
    quiet_end(&nout, &nerr);
    assert_false(ok);
    assert_int_equal(nout + nerr, 0);
    assert_int_equal(mk_diag_errors(pl.p->diag), 1);
    assert_false(pl.replace_unmatched); /* (not looked at: the compile failed first) */
    assert_null(pl.model);
    static const char *const phases[] = {"state", "compile"};
    assert_phases(&pl, phases, 2);
    mk_pipeline_planned_free(&pl);
}

/* Sealing to the executor (docs/trust.md): MOKSHA_SEAL_TO is the key
 * secrets are sealed to, a bad one an error before any diff; a plan signed
 * with a planner key that holds a secret and has no MOKSHA_SEAL_TO is an
 * error (E0305) naming the secret, and one with it, or without secrets, is
 * not. */
static void test_planner_key_needs_somewhere_to_seal(void **state)
{
    (void)state;
    write_file("main.moksha", "var pw: secret\nprovider local { root = \".moksha/out\" }\n"
                              "resource local.file a {\n  path    = \"a.txt\"\n  content = var.pw\n}\n");
    setenv("MOKSHA_VAR_pw", "hunter2-plaintext", 1);
    const char *paths[] = {"main.moksha"};
    mk_pipeline_req r = {.paths = paths, .npaths = 1};
    mk_planned pl;
    long nout, nerr;
    setenv("MOKSHA_SEAL_TO", "x25519:not-a-key", 1);
    quiet_begin();
    bool ok = mk_pipeline_plan(&r, &pl, false);
    quiet_end(&nout, &nerr);
    assert_false(ok);
    assert_int_equal(mk_diag_count(pl.p->diag, "E0302"), 1);
    assert_null(pl.model);
    mk_pipeline_planned_free(&pl);

    setenv("MOKSHA_SEAL_TO", EXEC_PUBLIC, 1);
    quiet_begin();
    ok = mk_pipeline_plan(&r, &pl, false);
    quiet_end(&nout, &nerr);
    assert_true(ok);
    assert_int_equal(nout + nerr, 0);
    assert_true(pl.key.has_seal_to);
    assert_string_equal(pl.key.seal_to_id, EXEC_ID);
    assert_false(pl.key.has_fp_key); /* no state */
    EVP_PKEY *signer = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    pl.key.signer = signer;
    assert_true(mk_pipeline_sealable(&pl));
    pl.key.has_seal_to = false;
    assert_false(mk_pipeline_sealable(&pl));
    const char *code, *msg;
    mk_span at;
    assert_true(mk_diag_last_error(pl.p->diag, &code, &msg, &at));
    assert_string_equal(code, "E0305");
    assert_string_equal(msg, "the plan holds secrets (local.file.a.content) and is signed with a planner key, but has no "
                             "executor key to seal them to");
    pl.key.signer = NULL; /* the project key's plan: sealed with it */
    assert_true(mk_pipeline_sealable(&pl));
    mk_pipeline_planned_free(&pl);

    unsetenv("MOKSHA_SEAL_TO");
    write_file("main.moksha", "provider local { root = \".moksha/out\" }\n"
                              "resource local.file a {\n  path    = \"a.txt\"\n  content = \"open\"\n}\n");
    quiet_begin();
    ok = mk_pipeline_plan(&r, &pl, false);
    quiet_end(&nout, &nerr);
    assert_true(ok);
    pl.key.signer = signer;
    assert_true(mk_pipeline_sealable(&pl)); /* nothing to seal */
    pl.key.signer = NULL;
    mk_pipeline_planned_free(&pl);
    EVP_PKEY_free(signer);
    unsetenv("MOKSHA_VAR_pw");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plans_quietly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmatched_names_are_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_carry_cost_placement_and_gates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_stay_in_the_diagnostics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_planner_key_needs_somewhere_to_seal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
