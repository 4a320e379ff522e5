/* clock — the executor's clocks: monotonic milliseconds for elapsed times
 * and deadlines, wall-clock time for the audit log and locks, sleeping,
 * and durations as the command line writes them. */
#include "runtime/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double mk_clock_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

void mk_clock_iso_time(char *out, size_t n)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    struct tm tm;
    gmtime_r(&t.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03ldZ", base, t.tv_nsec / 1000000);
}

void mk_clock_sleep_ms(double ms)
{
    if (ms <= 0)
        return;
    struct timespec t = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

bool mk_clock_parse_duration(const char *s, double *ms)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return false;
    static const struct { const char *unit; double ms; } U[] = {
        {"", 1}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}, {"d", 86400e3},
    };
    for (size_t i = 0; i < sizeof U / sizeof *U; i++)
        if (strcmp(end, U[i].unit) == 0) {
            *ms = v * U[i].ms;
            return true;
        }
    return false;
}
