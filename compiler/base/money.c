/* money — fixed-point US dollars (note [money] in money.h). */
#include "compiler/base/money.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

bool mk_money_parse(const char *s, size_t n, mk_money *out)
{
    size_t i = 0;
    bool neg = n > 0 && s[0] == '-';
    i += neg;
    uint64_t units = 0, limit = (uint64_t)INT64_MAX + neg; /* -$9,223,372,036,854.775808 is in range */
    int decimals = -1;                                      /* -1: before the point */
    bool digit = false, last_digit = false;
    for (; i < n; i++) {
        char ch = s[i];
        if (ch == '_' && last_digit && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') {
            last_digit = false;
            continue;
        }
        if (ch == '.' && decimals < 0 && digit) {
            decimals = 0, last_digit = false;
            continue;
        }
        if (ch < '0' || ch > '9' || (decimals >= 0 && ++decimals > MK_MONEY_DIGITS))
            return false;
        if (units > (limit - (uint64_t)(ch - '0')) / 10)
            return false;
        units = units * 10 + (uint64_t)(ch - '0');
        digit = last_digit = true;
    }
    if (!digit || (decimals == 0))
        return false;
    for (int d = decimals < 0 ? 0 : decimals; d < MK_MONEY_DIGITS; d++) {
        if (units > limit / 10)
            return false;
        units *= 10;
    }
    *out = neg ? (mk_money)(0 - units) : (mk_money)units;
    return true;
}

bool mk_money_add(mk_money a, mk_money b, mk_money *out) { return !__builtin_add_overflow(a, b, out); }
bool mk_money_sub(mk_money a, mk_money b, mk_money *out) { return !__builtin_sub_overflow(a, b, out); }
bool mk_money_neg(mk_money a, mk_money *out) { return !__builtin_sub_overflow((mk_money)0, a, out); }
bool mk_money_mul_int(mk_money a, int64_t k, mk_money *out) { return !__builtin_mul_overflow(a, k, out); }

/* A product in micro-dollars to an amount: rounded half away from zero
 * (llroundl), refused outside int64 (9.2e18 is just below 2^63). */
static bool from_micros(long double m, mk_money *out)
{
    if (!isfinite(m) || fabsl(m) >= 9.2e18L)
        return false;
    *out = (mk_money)llroundl(m);
    return true;
}

bool mk_money_mul(mk_money a, double x, mk_money *out) { return from_micros((long double)a * x, out); }

bool mk_money_div(mk_money a, double x, mk_money *out)
{
    return x != 0 && from_micros((long double)a / x, out);
}

bool mk_money_from_usd(double usd, mk_money *out) { return from_micros((long double)usd * MK_MONEY_UNIT, out); }

bool mk_money_of(double unit_usd, double qty, mk_money *out)
{
    return from_micros((long double)unit_usd * qty * MK_MONEY_UNIT, out);
}

double mk_money_ratio(mk_money a, mk_money b) { return (double)((long double)a / (long double)b); }

double mk_money_usd(mk_money a) { return (double)a / (double)MK_MONEY_UNIT; }

int64_t mk_money_cents(mk_money a)
{
    enum { PER_CENT = 10000 };
    int64_t c = a / PER_CENT, r = a % PER_CENT; /* C truncates towards zero: r has a's sign */
    if (r >= PER_CENT / 2)
        c++;
    else if (r <= -PER_CENT / 2)
        c--;
    return c;
}

char *mk_money_decimal(mk_money a, char buf[MK_MONEY_TEXT])
{
    int64_t c = mk_money_cents(a);
    uint64_t m = c < 0 ? 0 - (uint64_t)c : (uint64_t)c;
    snprintf(buf, MK_MONEY_TEXT, "%s%llu.%02llu", c < 0 ? "-" : "", (unsigned long long)(m / 100),
             (unsigned long long)(m % 100));
    return buf;
}

char *mk_money_show(mk_money a, char buf[MK_MONEY_TEXT])
{
    char d[MK_MONEY_TEXT];
    mk_money_decimal(a, d);
    snprintf(buf, MK_MONEY_TEXT, "%s$%s", d[0] == '-' ? "-" : "", d + (d[0] == '-'));
    return buf;
}

char *mk_money_signed(mk_money a, char buf[MK_MONEY_TEXT])
{
    mk_money_show(a, buf); /* at most 18 bytes: room for the sign */
    if (buf[0] != '-') {
        memmove(buf + 1, buf, strlen(buf) + 1);
        buf[0] = '+';
    }
    return buf;
}

char *mk_money_literal(mk_money a, char buf[MK_MONEY_TEXT])
{
    uint64_t m = a < 0 ? 0 - (uint64_t)a : (uint64_t)a;
    /* all six fraction digits, then trailing zeros dropped down to cents
     * (a fixed width keeps the output's bound plain to the compiler) */
    int n = snprintf(buf, MK_MONEY_TEXT, "%s$%llu.%06llu", a < 0 ? "-" : "",
                     (unsigned long long)(m / (uint64_t)MK_MONEY_UNIT), (unsigned long long)(m % (uint64_t)MK_MONEY_UNIT));
    for (int keep = MK_MONEY_DIGITS - 2; n > 0 && n < MK_MONEY_TEXT && keep > 0 && buf[n - 1] == '0'; keep--)
        buf[--n] = 0;
    return buf;
}
