/* fault — a provider block's fault injection (`fail_on`, docs/providers.md
 * "Timeouts, retries, refusals"): which changes it names. Whether it is
 * honoured is the connection's `allow_fault_injection` (or, for a plugin,
 * its allowlist entry's), which each provider asks itself. */
#ifndef MK_PROV_FAULT_H
#define MK_PROV_FAULT_H

#include <jansson.h>
#include <stdbool.h>

/* Does fail_on (a list of addresses; NULL: none) name address? */
bool mk_prov_fault_named(const json_t *fail_on, const char *address);

#endif
