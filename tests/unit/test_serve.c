/* serve: a request's JSON as the service reads it (mk_serve_parse): the
 * op, the stack id every op but info needs, apply's whitelisted options
 * with their values over the defaults, a stack op's argument, and each
 * refusal's exact text. */
#include "tests/unit/unit.h"

#include "runtime/serve.h"

#define ID "0123456789abcdef0123456789abcdef"

static void parse(const char *text, mk_serve_req *r) { mk_serve_parse(text, strlen(text), r); }

static void refused(const char *text, const char *why)
{
    mk_serve_req r;
    parse(text, &r);
    assert_string_equal(r.why, why);
    mk_serve_req_free(&r);
}

static void test_fit_requests(void **state)
{
    (void)state;
    mk_serve_req r;
    parse("{\"op\":\"info\"}", &r);
    assert_string_equal(r.why, "");
    assert_string_equal(r.op, "info");
    assert_null(r.stack_id);
    mk_serve_req_free(&r);
    parse("{\"op\":\"state\",\"stack_id\":\"" ID "\"}", &r);
    assert_string_equal(r.why, "");
    assert_string_equal(r.stack_id, ID);
    mk_serve_req_free(&r);
}

static void test_apply_options(void **state)
{
    (void)state;
    mk_serve_req r;
    parse("{\"op\":\"apply\",\"stack_id\":\"" ID "\"}", &r);
    assert_string_equal(r.why, "");
    assert_int_equal(r.opts.parallelism, 10); /* the defaults of moksha-exec apply */
    assert_int_equal(r.opts.retries, 4);
    mk_serve_req_free(&r);
    parse("{\"op\":\"apply\",\"stack_id\":\"" ID "\",\"options\":{\"parallelism\":3,\"retries\":0,\"timeout\":\"30s\","
          "\"no_rollback\":true,\"auto_approve_risk\":\"medium\",\"approve\":[\"p\",\"q:bucket.logs\"]}}",
          &r);
    assert_string_equal(r.why, "");
    assert_int_equal(r.opts.parallelism, 3);
    assert_int_equal(r.opts.retries, 0);
    assert_true(r.opts.timeout_ms == 30000);
    assert_true(r.opts.no_rollback);
    assert_string_equal(r.opts.auto_approve_risk, "medium");
    assert_int_equal(r.opts.napprove, 2);
    assert_string_equal(r.opts.approve[1], "q:bucket.logs");
    mk_serve_req_free(&r);
}

static void test_refresh_ops(void **state)
{
    (void)state;
    mk_serve_req r;
    parse("{\"op\":\"refresh\",\"stack_id\":\"" ID "\"}", &r);
    assert_string_equal(r.why, "");
    assert_false(r.with_plan);
    assert_int_equal(r.ropts.x.parallelism, 10); /* the defaults of moksha-exec refresh */
    assert_string_equal(r.ropts.by, "refresh");
    assert_false(r.ropts.dry_run || r.ropts.json || r.ropts.detailed);
    mk_serve_req_free(&r);
    parse("{\"op\":\"refresh\",\"stack_id\":\"" ID "\",\"plan\":true,\"options\":{\"parallelism\":50,"
          "\"retries\":1,\"timeout\":\"2s\",\"dry_run\":true,\"format\":\"json\",\"detailed_exitcode\":true,"
          "\"by\":\"reconcile\"}}", &r);
    assert_string_equal(r.why, "");
    assert_true(r.with_plan);
    assert_int_equal(r.ropts.x.parallelism, 50);
    assert_int_equal(r.ropts.x.retries, 1);
    assert_true(r.ropts.x.timeout_ms == 2000);
    assert_true(r.ropts.dry_run && r.ropts.json && r.ropts.detailed);
    assert_string_equal(r.ropts.by, "reconcile");
    mk_serve_req_free(&r);
    parse("{\"op\":\"refresh\",\"stack_id\":\"" ID "\",\"options\":{\"approve\":[\"p\"]}}", &r);
    assert_string_equal(r.why, "refresh option `approve` is not one the service takes, or its value is bad");
    mk_serve_req_free(&r);
    parse("{\"op\":\"refresh\",\"stack_id\":\"" ID "\",\"plan\":\"yes\"}", &r);
    assert_string_equal(r.why, "`plan` is true (the plan's pieces follow) or false");
    mk_serve_req_free(&r);
    parse("{\"op\":\"observed\",\"stack_id\":\"" ID "\"}", &r);
    assert_string_equal(r.why, "");
    mk_serve_req_free(&r);
    parse("{\"op\":\"observed\"}", &r);
    assert_string_equal(r.why, "`observed` needs a stack_id of 32 hex digits");
    mk_serve_req_free(&r);
}

static void test_stack_ops(void **state)
{
    (void)state;
    mk_serve_req r;
    parse("{\"op\":\"state show\",\"stack_id\":\"" ID "\",\"address\":\"bucket.logs\"}", &r);
    assert_string_equal(r.why, "");
    assert_string_equal(r.arg, "bucket.logs");
    mk_serve_req_free(&r);
    parse("{\"op\":\"audit show\",\"stack_id\":\"" ID "\"}", &r);
    assert_string_equal(r.why, "");
    assert_null(r.arg); /* the format is optional: text */
    mk_serve_req_free(&r);
    refused("{\"op\":\"state rm\",\"stack_id\":\"" ID "\"}", "`state rm` needs `address`, a string of 1 to 1024 bytes");
    refused("{\"op\":\"state list\",\"stack_id\":\"" ID "\",\"address\":\"a\"}", "`state list` takes no `address`");
    refused("{\"op\":\"audit show\",\"stack_id\":\"" ID "\",\"format\":\"xml\"}",
            "`audit show` takes the format text or json, not `xml`");
    refused("{\"op\":\"audit verify\",\"stack_id\":\"x\"}", "`audit verify` needs a stack_id of 32 hex digits");
}

static void test_refusals(void **state)
{
    (void)state;
    refused("{\"op\":", "the request is not JSON naming an op");
    refused("{\"op\":\"info\",\"op\":\"state\"}", "the request is not JSON naming an op"); /* a field twice */
    refused("{\"op\":\"drop\"}", "unknown op `drop` (info, state, observed, apply, refresh, state list, state show, "
                                   "state rm, state unlock, audit show or audit verify)");
    refused("{\"op\":\"state\",\"stack_id\":\"../x\"}", "`state` needs a stack_id of 32 hex digits");
    refused("{\"op\":\"apply\"}", "the plan names no stack id (32 hex digits): the service keeps each stack by its id");
    refused("{\"op\":\"apply\",\"stack_id\":\"" ID "\",\"options\":[]}", "`options` is not an object");
    refused("{\"op\":\"apply\",\"stack_id\":\"" ID "\",\"options\":{\"parallelism\":0}}",
            "apply option `parallelism` is not one the service takes, or its value is bad");
    refused("{\"op\":\"apply\",\"stack_id\":\"" ID "\",\"options\":{\"approve\":[\"p\",\"\"]}}",
            "apply option `approve` is not one the service takes, or its value is bad");
    refused("{\"op\":\"apply\",\"stack_id\":\"" ID "\",\"options\":{\"progress\":1}}",
            "apply option `progress` is not one the service takes, or its value is bad");
}

/* in trust mode state rm and unlock are the operator's; zero-setup keeps them */
static void test_trust_mode_ops(void **state)
{
    (void)state;
    mk_serve_req r;
    parse("{\"op\":\"state rm\",\"stack_id\":\"" ID "\",\"address\":\"compute.c1\"}", &r);
    mk_serve_check_trust(&r, false);
    assert_string_equal(r.why, "");
    mk_serve_check_trust(&r, true);
    assert_string_equal(r.why, "in trust mode the service does not run `state rm`: it is the executor operator's "
                               "(`moksha-exec state rm` as the service's user, in the stack's directory under service.stacks)");
    mk_serve_req_free(&r);
    parse("{\"op\":\"state unlock\",\"stack_id\":\"" ID "\",\"lock_id\":\"l1\"}", &r);
    mk_serve_check_trust(&r, true);
    assert_string_equal(r.why, "in trust mode the service does not run `state unlock`: it is the executor operator's "
                               "(`moksha-exec state unlock` as the service's user, in the stack's directory under service.stacks)");
    mk_serve_req_free(&r);
    parse("{\"op\":\"state list\",\"stack_id\":\"" ID "\"}", &r);
    mk_serve_check_trust(&r, true);
    assert_string_equal(r.why, "");
    mk_serve_req_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_requests),
        cmocka_unit_test(test_apply_options),
        cmocka_unit_test(test_refresh_ops),
        cmocka_unit_test(test_stack_ops),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_trust_mode_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
