/* money — amounts of US dollars as a whole number of micro-dollars.
 *
 * note [money]: money is fixed-point, never binary floating point: an
 * mk_money counts 1e-6 USD, which holds the unit prices the catalogs give
 * (fractions of a cent: $0.0116 an hour) exactly and ±$9.2 trillion in all.
 * Sums and differences are exact; a product or quotient by a non-integer
 * number is rounded once, to the micro-dollar, half away from zero. Every
 * operation reports overflow (false) instead of wrapping. Figures are
 * rounded to the cent, half away from zero, only when they are shown
 * (mk_money_show, mk_money_decimal): $1.005 shows as $1.01, $55.845 as
 * $55.85, -$0.005 as -$0.01; sums are made of the exact amounts, so a total
 * is the exact total rounded once. mk_money_literal keeps every digit (the
 * moksha literal, for values stored in plans and state). */
#ifndef MK_MONEY_H
#define MK_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t mk_money;

#define MK_MONEY_UNIT INT64_C(1000000) /* micro-dollars in a dollar */
#define MK_MONEY_DIGITS 6              /* decimals a literal may have */

/* Text of a decimal amount without the `$`: digits, `_` between digits,
 * then `.` and at most 6 decimals ("12.50", "1_000", "0.000116"); an
 * optional leading `-`. False for anything else, more decimals, or an
 * amount out of range. */
bool mk_money_parse(const char *s, size_t n, mk_money *out);

bool mk_money_add(mk_money a, mk_money b, mk_money *out);
bool mk_money_sub(mk_money a, mk_money b, mk_money *out);
bool mk_money_neg(mk_money a, mk_money *out);
bool mk_money_mul_int(mk_money a, int64_t k, mk_money *out);
/* a × x and a ÷ x, rounded to the micro-dollar; false on overflow, a NaN or
 * an infinity, and (div) a zero x. */
bool mk_money_mul(mk_money a, double x, mk_money *out);
bool mk_money_div(mk_money a, double x, mk_money *out);
/* A dollar figure from a catalog or a number (12.5 → $12.50), rounded to the
 * micro-dollar. */
bool mk_money_from_usd(double usd, mk_money *out);
/* unit_usd × qty dollars (a catalog's unit price times a quantity), rounded
 * once to the micro-dollar: the one place a price meets binary floating point. */
bool mk_money_of(double unit_usd, double qty, mk_money *out);
/* a ÷ b as a number (a ratio of two amounts); b not 0. */
double mk_money_ratio(mk_money a, mk_money b);
/* Dollars as a double, for what only estimates (never for display). */
double mk_money_usd(mk_money a);

/* Whole cents, half away from zero. */
int64_t mk_money_cents(mk_money a);

enum { MK_MONEY_TEXT = 32 }; /* room for any figure of the formatters below */
/* "$55.85", "-$0.01": cents, half away from zero. Returns buf. */
char *mk_money_show(mk_money a, char buf[MK_MONEY_TEXT]);
/* "+$48.92", "-$0.01", "+$0.00": a difference, signed. */
char *mk_money_signed(mk_money a, char buf[MK_MONEY_TEXT]);
/* "55.85", "-0.01": the same figure without the `$` (JSON, docs/formats.md). */
char *mk_money_decimal(mk_money a, char buf[MK_MONEY_TEXT]);
/* "$1.005", "$12.50", "-$0.000116": exact, at least two decimals. */
char *mk_money_literal(mk_money a, char buf[MK_MONEY_TEXT]);

#endif
