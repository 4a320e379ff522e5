/* against: the delta of a stack against its base branch — resources added,
 * removed and priced differently, each with its exact figures, unpriced
 * ones with their reason and no delta; policies whose verdict or violations
 * the change turns, and none that it leaves alone; and the words
 * (compiler/back/against_out.c) that text, markdown and JSON give them. */
#include "tests/unit/unit.h"

#include <jansson.h>

#include "compiler/back/against_out.h"
#include "compiler/middle/against.h"

#define USD(d) ((mk_money)((d) * 1000000 + 0.5))

typedef struct side {
    mk_instance in[4];
    mk_place_item items[4];
    mk_place_report rep;
} side;

/* A report of n items: address, price (negative: unpriced with why). */
static void add(side *s, const char *address, double usd, const char *why)
{
    size_t i = s->rep.nitems++;
    s->in[i].address = address;
    s->items[i].in = &s->in[i];
    s->items[i].q.status = usd < 0 ? MK_COST_UNPRICED : MK_COST_PRICED;
    s->items[i].q.monthly = usd < 0 ? 0 : USD(usd);
    s->items[i].q.why = why;
    s->rep.items = s->items;
    if (usd < 0)
        s->rep.nunpriced++;
    else
        s->rep.monthly += USD(usd);
}

static side base, head;

static int setup(void **state)
{
    (void)state;
    memset(&base, 0, sizeof base), memset(&head, 0, sizeof head);
    add(&base, "volume.data", 8, NULL);
    add(&base, "bucket.old", 2.14, NULL);
    add(&base, "compute.web", 55.845, NULL);
    add(&head, "compute.web", 55.845, NULL);
    add(&head, "volume.far", -1, "aws has no prices for region us-west-2");
    add(&head, "volume.data", 16, NULL);
    return 0;
}

static void test_lines_by_address_only_what_moves(void **state)
{
    (void)state;
    mk_against *a = mk_against_costs(&base.rep, &head.rep);
    assert_int_equal(a->nlines, 3); /* compute.web costs the same: not a line */
    assert_string_equal(a->lines[0].address, "bucket.old");
    assert_true(a->lines[0].in_base && !a->lines[0].in_head);
    assert_int_equal(a->lines[0].base, USD(2.14));
    assert_string_equal(a->lines[1].address, "volume.data");
    assert_int_equal(a->lines[1].base, USD(8));
    assert_int_equal(a->lines[1].head, USD(16));
    assert_string_equal(a->lines[2].address, "volume.far");
    assert_true(!a->lines[2].in_base && a->lines[2].in_head && !a->lines[2].head_priced);
    assert_string_equal(a->lines[2].head_why, "aws has no prices for region us-west-2");
    assert_int_equal(mk_against_delta(a), USD(71.845) - USD(65.985));
    assert_int_equal(a->head_unpriced, 1);
    assert_int_equal(a->base_unpriced, 0);
    mk_against_free(a);
}

static void test_text_and_markdown(void **state)
{
    (void)state;
    mk_against *a = mk_against_costs(&base.rep, &head.rep);
    mk_buf b = {0};
    mk_against_out_text(a, "../base", false, false, &b);
    assert_string_equal(mk_buf_cstr(&b),
                        "Against the base (../base): $65.99 → $71.85 a month (+$5.86); 0 unpriced in the base, 1 here.\n"
                        "    - bucket.old                       $2.14 (-$2.14)\n"
                        "    ~ volume.data                      $8.00 → $16.00 (+$8.00)\n"
                        "    + volume.far                       unpriced: aws has no prices for region us-west-2\n");
    b.len = 0;
    mk_against_out_text(a, "../base", false, true, &b);
    assert_non_null(strstr(mk_buf_cstr(&b), "| ✏️ | `volume.data` | $8.00 | $16.00 | +$8.00 |\n"));
    assert_non_null(strstr(mk_buf_cstr(&b), "| ➕ | `volume.far` | – | unpriced: aws has no prices for region us-west-2 | – |\n"));
    mk_buf_free(&b);
    mk_against_free(a);
}

static void test_json(void **state)
{
    (void)state;
    mk_against *a = mk_against_costs(&base.rep, &head.rep);
    json_t *j = mk_against_out_json(a, "../base", false);
    char *s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(s, "{\"path\":\"../base\",\"monthly\":\"65.99\",\"delta\":\"5.86\",\"unpriced\":0,\"resources\":["
                           "{\"address\":\"bucket.old\",\"base\":\"2.14\",\"head\":null,\"delta\":\"-2.14\",\"removed\":true},"
                           "{\"address\":\"volume.data\",\"base\":\"8.00\",\"head\":\"16.00\",\"delta\":\"8.00\"},"
                           "{\"address\":\"volume.far\",\"base\":null,\"head\":null,\"delta\":null,\"added\":true,"
                           "\"head_why\":\"aws has no prices for region us-west-2\"}]}");
    free(s);
    json_decref(j);
    mk_against_free(a);
}

static void test_same_reports_no_lines(void **state)
{
    (void)state;
    mk_against *a = mk_against_costs(&head.rep, &head.rep);
    assert_int_equal(a->nlines, 0);
    assert_int_equal(mk_against_delta(a), 0);
    mk_against_free(a);
}

static json_t *results(const char *text)
{
    json_error_t e;
    json_t *r = json_loads(text, 0, &e);
    assert_non_null(r);
    return r;
}

static void test_policies_turned(void **state)
{
    (void)state;
    json_t *b = results("[{\"name\": \"enc\", \"status\": \"pass\", \"violations\": []},"
                        " {\"name\": \"public\", \"status\": \"warn\", \"violations\": [{\"address\": \"bucket.old\", \"message\": \"public\"}]},"
                        " {\"name\": \"same\", \"status\": \"fail\", \"violations\": [{\"address\": \"x\", \"message\": \"m\"}]},"
                        " {\"name\": \"gone\", \"status\": \"pass\", \"violations\": []}]");
    json_t *h = results("[{\"name\": \"same\", \"status\": \"fail\", \"violations\": [{\"address\": \"x\", \"message\": \"m\"}]},"
                        " {\"name\": \"enc\", \"status\": \"warn\", \"violations\": [{\"address\": \"volume.far\", \"message\": \"encrypt it\"}]},"
                        " {\"name\": \"public\", \"status\": \"pass\", \"violations\": []}]");
    mk_against *a = mk_against_costs(&head.rep, &head.rep);
    mk_against_policies(a, b, h);
    char *s = json_dumps(a->policies, JSON_COMPACT);
    assert_string_equal(s, "[{\"name\":\"enc\",\"base\":\"pass\",\"head\":\"warn\",\"new\":[{\"address\":\"volume.far\",\"message\":\"encrypt it\"}],\"fixed\":[]},"
                           "{\"name\":\"gone\",\"base\":\"pass\",\"head\":null,\"new\":[],\"fixed\":[]},"
                           "{\"name\":\"public\",\"base\":\"warn\",\"head\":\"pass\",\"new\":[],\"fixed\":[{\"address\":\"bucket.old\",\"message\":\"public\"}]}]");
    free(s);
    mk_buf t = {0};
    mk_against_out_text(a, "b", true, false, &t);
    assert_non_null(strstr(mk_buf_cstr(&t), "Policies against the base:\n"
                                            "    enc: pass → warn; new: volume.far: encrypt it\n"
                                            "    gone: pass → not here\n"
                                            "    public: warn → pass; fixed: bucket.old: public\n"));
    mk_buf_free(&t);
    mk_against_free(a);
    json_decref(b), json_decref(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_lines_by_address_only_what_moves, setup),
        cmocka_unit_test_setup(test_text_and_markdown, setup),
        cmocka_unit_test_setup(test_json, setup),
        cmocka_unit_test_setup(test_same_reports_no_lines, setup),
        cmocka_unit_test_setup(test_policies_turned, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
