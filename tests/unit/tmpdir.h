/* tmpdir — the temporary directory of a unit test that compiles stacks (or
 * reads a state): made in setup, files written into it by name, removed
 * whole in teardown. Include it after tests/unit/unit.h. Static inline: each
 * test binary is one .c, and not every one that includes this uses all. */
#ifndef MK_TEST_TMPDIR_H
#define MK_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* dir (at least 64 bytes) becomes a new directory named after tmpl, a
 * mkdtemp template such as "/tmp/mk-eval-XXXXXX". */
static inline void mk_test_tmpdir(char *dir, const char *tmpl)
{
    strcpy(dir, tmpl);
    assert_non_null(mkdtemp(dir));
}

/* Write text to the file name in dir, replacing what was there. */
static inline void mk_test_write(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static inline void mk_test_rmdir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

#endif
