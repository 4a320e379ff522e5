/* provcall — the executor's providers: made from their blocks, and each
 * call retried (provcall.h). */
#include "runtime/provcall.h"

#include <stdio.h>
#include <string.h>

#include "runtime/clock.h"
#include "runtime/rand.h"

mk_prov *mk_provcall_provider(json_t *block, const char *alias, const struct mk_config *cfg, char *why, size_t whylen)
{
    const char *type = block ? json_string_value(json_object_get(block, "type")) : alias;
    json_t *settings = json_object_get(block, "settings");
    if (type && strcmp(type, "local") == 0)
        return mk_prov_local_new(settings, cfg, why, whylen);
    if (type && strcmp(type, "sim") == 0)
        return mk_prov_sim_new(settings, why, whylen);
    if (type && strcmp(type, "postgres") == 0)
        return mk_prov_postgres_new(settings, cfg, alias, why, whylen);
    if (type && strcmp(type, "s3") == 0)
        return mk_prov_s3_new(settings, cfg, alias, why, whylen);
    if (type && strcmp(type, "azure_blob") == 0)
        return mk_prov_azblob_new(settings, cfg, alias, why, whylen);
    if (type && strcmp(type, "http") == 0)
        return mk_prov_http_new(settings, cfg, alias, why, whylen);
    if (type && strcmp(type, "plugin") == 0)
        return mk_prov_plugin_new(settings, cfg, alias, why, whylen);
    snprintf(why, whylen, "no provider `%s` of a kind this executor knows (local, sim, postgres, s3, azure_blob, http, "
             "plugin)", alias);
    return NULL;
}

unsigned mk_provcall_caps(mk_prov *p, const char *type)
{
    return p->caps_of ? p->caps_of(p, type) : p->caps;
}

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
