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
#include <string.h>

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

/* dir (at least 64 bytes) becomes a new directory named after tmpl, a
 * mkdtemp template such as "/tmp/mk-eval-XXXXXX"; mk_test_rmdir removes it
 * whole in teardown. */
static inline void mk_test_tmpdir(char *dir, const char *tmpl)
{
    strcpy(dir, tmpl);
    assert_non_null(mkdtemp(dir));
}

static inline void mk_test_rmdir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

#endif
