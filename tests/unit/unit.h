/* unit — what every cmocka unit test includes first: cmocka and the headers
 * it needs before it (allocation failure takes the library's default: say so
 * and abort), and a helper or two every test needs. Include it from
 * exactly one .c per binary. */
#ifndef MK_TEST_UNIT_H
#define MK_TEST_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <stdio.h>

/* Write text to DIR/NAME (a test's stack, state or variables file). */
static inline void mk_test_write(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

#endif
