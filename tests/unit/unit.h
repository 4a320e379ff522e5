/* unit — what every cmocka unit test includes first: cmocka and the headers
 * it needs before it (allocation failure takes the library's default: say so
 * and abort). Include it from exactly one .c per binary. */
#ifndef MK_TEST_UNIT_H
#define MK_TEST_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#endif
