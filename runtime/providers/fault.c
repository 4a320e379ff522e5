/* fault — which changes a block's fail_on names (fault.h). */
#include "runtime/providers/fault.h"

#include <string.h>

bool mk_prov_fault_named(const json_t *fail_on, const char *address)
{
    size_t i;
    json_t *v;
    if (!address || !json_is_array(fail_on))
        return false;
    json_array_foreach((json_t *)fail_on, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), address) == 0)
            return true;
    return false;
}
