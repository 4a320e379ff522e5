/* test_money — the money type's contract (note [money] in compiler/base/money.h):
 * literals parse exactly to the micro-dollar, arithmetic is exact or rounded
 * once, overflow is reported, and figures are rounded to the cent, half away
 * from zero, only when shown. */
#include "tests/unit/unit.h"

#include <string.h>

#include "compiler/base/money.h"

static mk_money parse(const char *s)
{
    mk_money m = 0;
    assert_true(mk_money_parse(s, strlen(s), &m));
    return m;
}

static void test_parse(void **state)
{
    (void)state;
    assert_int_equal(parse("12.50"), 12500000);
    assert_int_equal(parse("1.005"), 1005000);
    assert_int_equal(parse("0.000116"), 116);
    assert_int_equal(parse("1_000"), 1000000000);
    assert_int_equal(parse("-3.2"), -3200000);
    assert_int_equal(parse("0"), 0);
    assert_int_equal(parse("9223372036854.775807"), INT64_MAX);
    assert_int_equal(parse("-9223372036854.775808"), INT64_MIN);
    mk_money m;
    static const char *const bad[] = {"", "-", ".5", "1.", "1.0000001", "1e3", "1__0", "_1", "1_", "$1",
                                      "9223372036854.775808", "99999999999999", "1.2.3", "12a"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(mk_money_parse(bad[i], strlen(bad[i]), &m));
}

static const char *show(mk_money m)
{
    static char buf[MK_MONEY_TEXT];
    return mk_money_show(m, buf);
}

static void test_rounding(void **state)
{
    (void)state;
    /* half a cent rounds away from zero, whatever binary floating point would say */
    assert_string_equal(show(parse("1.005")), "$1.01");
    assert_string_equal(show(parse("55.845")), "$55.85");
    assert_string_equal(show(parse("55.844999")), "$55.84");
    assert_string_equal(show(parse("-0.005")), "-$0.01");
    assert_string_equal(show(parse("-0.004999")), "$0.00");
    assert_string_equal(show(parse("0.004999")), "$0.00");
    assert_string_equal(show(parse("227.75")), "$227.75");
    assert_string_equal(show(0), "$0.00");
    assert_string_equal(show(INT64_MAX), "$9223372036854.78");
    assert_string_equal(show(INT64_MIN), "-$9223372036854.78");
    assert_int_equal(mk_money_cents(parse("2.675")), 268);
    assert_int_equal(mk_money_cents(parse("-2.675")), -268);
    char buf[MK_MONEY_TEXT];
    assert_string_equal(mk_money_decimal(parse("-12.5"), buf), "-12.50");
    assert_string_equal(mk_money_signed(parse("48.92"), buf), "+$48.92");
    assert_string_equal(mk_money_signed(parse("-0.005"), buf), "-$0.01");
    assert_string_equal(mk_money_signed(parse("-0.004"), buf), "+$0.00"); /* the sign of the figure shown */
    assert_string_equal(mk_money_decimal(parse("97.835"), buf), "97.84");
}

static void test_literal(void **state)
{
    (void)state;
    char buf[MK_MONEY_TEXT];
    assert_string_equal(mk_money_literal(parse("1.005"), buf), "$1.005");
    assert_string_equal(mk_money_literal(parse("12.5"), buf), "$12.50");
    assert_string_equal(mk_money_literal(parse("-0.000116"), buf), "-$0.000116");
    assert_string_equal(mk_money_literal(0, buf), "$0.00");
    /* a literal reads back as the same amount */
    assert_int_equal(parse(mk_money_literal(parse("1234.567891"), buf) + 1), 1234567891);
}

static void test_arithmetic(void **state)
{
    (void)state;
    mk_money r;
    /* 0.1 + 0.2 is 0.3 exactly */
    assert_true(mk_money_add(parse("0.1"), parse("0.2"), &r));
    assert_int_equal(r, parse("0.3"));
    assert_true(mk_money_sub(parse("1"), parse("1.005"), &r));
    assert_int_equal(r, parse("-0.005"));
    assert_true(mk_money_mul_int(parse("0.0765"), 730, &r));
    assert_int_equal(r, parse("55.845"));
    assert_true(mk_money_mul(parse("10"), 0.1, &r));
    assert_int_equal(r, parse("1"));
    assert_true(mk_money_div(parse("10"), 3, &r)); /* 3.3333333…: rounded to the micro-dollar */
    assert_int_equal(r, 3333333);
    assert_true(mk_money_div(parse("2"), 3, &r));
    assert_int_equal(r, 666667);
    assert_true(mk_money_mul(parse("0.000001"), 0.5, &r)); /* half a micro-dollar: away from zero */
    assert_int_equal(r, 1);
    assert_true(mk_money_from_usd(0.0765, &r));
    assert_int_equal(r, 76500);
    assert_true(mk_money_from_usd(-12.5, &r));
    assert_int_equal(r, -12500000);
    assert_true(mk_money_ratio(parse("3"), parse("2")) == 1.5);
    /* a catalog's unit price times a quantity, rounded once: c6a.large for a month */
    assert_true(mk_money_of(0.0765, 730, &r));
    assert_int_equal(r, parse("55.845"));
    assert_true(mk_money_of(0.0779358, 730, &r)); /* 56.893134 exactly, a finer price than a micro-dollar */
    assert_int_equal(r, parse("56.893134"));
    assert_false(mk_money_of(1e300, 1e300, &r));
}

static void test_overflow(void **state)
{
    (void)state;
    mk_money r = 42;
    assert_false(mk_money_add(INT64_MAX, 1, &r));
    assert_false(mk_money_sub(INT64_MIN, 1, &r));
    assert_false(mk_money_neg(INT64_MIN, &r));
    assert_false(mk_money_mul_int(parse("10000000"), 1000000, &r));
    assert_false(mk_money_mul(parse("1000000"), 1e10, &r));
    assert_false(mk_money_mul(parse("1"), 1.0 / 0.0, &r));
    assert_false(mk_money_mul(parse("1"), 0.0 / 0.0, &r));
    assert_false(mk_money_div(parse("1"), 0, &r));
    assert_false(mk_money_from_usd(1e13, &r));
    assert_true(mk_money_from_usd(9e12, &r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),      cmocka_unit_test(test_rounding), cmocka_unit_test(test_literal),
        cmocka_unit_test(test_arithmetic), cmocka_unit_test(test_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
