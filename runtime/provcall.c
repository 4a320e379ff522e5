/* provcall — the retry loop around a provider call (provcall.h). */
#include "runtime/provcall.h"

#include "runtime/clock.h"
#include "runtime/rand.h"

bool mk_provcall_retry(mk_prov *p, mk_prov_fn fn, mk_prov_op *op, const mk_exec_opts *o,
                       const volatile sig_atomic_t *interrupts, json_t **out, char *why, size_t whylen, int *attempts)
{
    double delay = o->backoff_ms;
    for (int attempt = 0;; attempt++) {
        op->deadline_ms = mk_clock_now_ms() + o->timeout_ms;
        if (attempts)
            (*attempts)++;
        *out = NULL;
        mk_prov_status st = fn(p, op, out, why, whylen);
        if (st == MK_PROV_OK)
            return true;
        json_decref(*out);
        *out = NULL;
        if (st != MK_PROV_RETRYABLE || attempt >= o->retries || (interrupts && *interrupts >= 2))
            return false;
        mk_clock_sleep_ms(delay * (0.5 + mk_rand_unit()));
        delay = delay * 2 > 10000 ? 10000 : delay * 2;
    }
}
