/* unit — what every cmocka unit test includes first: cmocka and the headers
 * it needs before it, and the out-of-memory hook the library leaves to each
 * program (a test simply aborts). Include it from exactly one .c per binary. */
#ifndef MK_TEST_UNIT_H
#define MK_TEST_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

_Noreturn void mk_mem_oom(void);
_Noreturn void mk_mem_oom(void) { abort(); }

#endif
