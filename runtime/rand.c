/* rand — randomness from getrandom: hex tokens, lock and lineage ids (UUIDs),
 * and the jitter of retry delays. */
#include "runtime/rand.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "runtime/clock.h"

static void random_bytes(uint8_t *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);
        if (r > 0)
            got += (size_t)r;
        else if (errno != EINTR)
            break;
    }
    for (; got < n; got++) /* no entropy source: still unique enough for ids */
        b[got] = (uint8_t)(rand() ^ (int)mk_clock_now_ms());
}

void mk_rand_hex(char *out, size_t nbytes)
{
    uint8_t b[64];
    if (nbytes > sizeof b)
        nbytes = sizeof b;
    random_bytes(b, nbytes);
    for (size_t i = 0; i < nbytes; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * nbytes] = 0;
}

double mk_rand_unit(void)
{
    uint64_t v;
    random_bytes((uint8_t *)&v, sizeof v);
    return (double)(v >> 11) / 9007199254740992.0;
}

void mk_rand_uuid(char out[37])
{
    uint8_t b[16];
    random_bytes(b, 16);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}
