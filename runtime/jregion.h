/* jregion — jansson's allocations from one prefaulted region while a plan
 * is loaded. note [plan memory] (jregion.c): jansson's values come from one
 * region of about `bytes` until mk_jregion_end; freeing them is a no-op,
 * other values go through malloc as before. For loading a plan. */
#ifndef MK_RUNTIME_JREGION_H
#define MK_RUNTIME_JREGION_H

#include <stddef.h>

void mk_jregion_begin(size_t bytes);
void mk_jregion_end(void);

#endif
