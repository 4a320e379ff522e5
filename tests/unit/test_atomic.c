/* atomic (compiler/base/atomic.h): a file is replaced whole, with the mode
 * asked for or the one it had, and nothing is left beside it — also when
 * the write cannot happen. */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/atomic.h"

static char dir[64], path[96];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/mk-atomic-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f.moksha", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    return 0;
}

static void slurp(char *out, size_t n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t k = fread(out, 1, n - 1, f);
    out[k] = 0;
    fclose(f);
}

/* The names in dir: the file alone, no temp file. */
static int entries(void)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_keeps_the_mode(void **state)
{
    (void)state;
    FILE *f = fopen(path, "w");
    fputs("old", f);
    fclose(f);
    chmod(path, 0640);
    struct iovec parts[] = {{"new ", 4}, {"text\n", 5}};
    assert_true(mk_atomic_write(path, parts, 2, MK_ATOMIC_KEEP_MODE));
    char text[64];
    slurp(text, sizeof text);
    assert_string_equal(text, "new text\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(entries(), 1);
}

static void test_given_mode(void **state)
{
    (void)state;
    struct iovec part = {"plan", 4};
    assert_true(mk_atomic_write(path, &part, 1, 0600));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 4);
    assert_int_equal(entries(), 1);
}

static void test_failure_leaves_nothing(void **state)
{
    (void)state;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/missing/f", dir); /* no such directory: no temp file can be made */
    struct iovec part = {"x", 1};
    errno = 0;
    assert_false(mk_atomic_write(sub, &part, 1, 0600));
    assert_int_equal(errno, ENOENT);
    assert_int_equal(entries(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keeps_the_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_given_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_leaves_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
