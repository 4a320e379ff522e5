/* plugin — the plugin provider (docs/providers.md). Not built yet: every block
 * of this kind is refused when the apply starts, before the first step. */
#include <stdio.h>

#include "runtime/providers/provider.h"

mk_prov *mk_prov_plugin_new(json_t *settings, const struct mk_config *cfg, const char *alias, char *why, size_t whylen)
{
    (void)settings, (void)cfg;
    snprintf(why, whylen, "provider `%s`: this executor cannot serve plugin yet", alias);
    return NULL;
}
