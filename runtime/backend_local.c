/* backend_local — the state in files under the stack's .moksha/ (the
 * environment's: runtime/paths.h), as docs/formats.md describes them
 * (runtime/backend.h). */
#include "runtime/backend_ops.h"

#include <stdlib.h>

static bool local_open(mk_backend *b, char *why, size_t whylen)
{
    (void)why, (void)whylen;
    b->impl = NULL;
    return true;
}

static void local_close(mk_backend *b) { (void)b; }

const mk_backend_ops mk_backend_local_ops = {
    .kind = "local",
    .open = local_open,
    .close = local_close,
};
