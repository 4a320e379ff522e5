/* notify — see notify.h. */
#include "runtime/notify.h"

void mk_notify(const mk_config *cfg, const char *event, json_t *details, json_t *audit)
{
    (void)cfg, (void)event, (void)details, (void)audit;
}
