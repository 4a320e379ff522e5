/* clock — the executor's clocks: monotonic milliseconds for elapsed times
 * and deadlines, wall-clock time for the audit log and locks, sleeping, and
 * durations as the command line writes them. */
#ifndef MK_RUNTIME_CLOCK_H
#define MK_RUNTIME_CLOCK_H

#include <stdbool.h>
#include <stddef.h>

/* Monotonic milliseconds (for elapsed times and deadlines). */
double mk_clock_now_ms(void);
/* Wall-clock time as "2025-01-31T12:00:00.123Z" into out (>= 32 bytes). */
void mk_clock_iso_time(char *out, size_t n);
/* Sleep for ms milliseconds (restarting on signals). */
void mk_clock_sleep_ms(double ms);
/* Parse "20ms", "1.5s", "5m", "2h", "7d" or a bare number of milliseconds;
 * false when it is none of those. */
bool mk_clock_parse_duration(const char *s, double *ms);

#endif
