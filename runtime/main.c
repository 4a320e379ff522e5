/* moksha-exec — the executor. It reads plan files only, never .moksha
 * source. This version verifies plans (`moksha-exec verify PLAN`); running
 * them against providers is being built. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/planfile.h"

static void usage(FILE *out)
{
    fputs("usage: moksha-exec verify [--moksha-dir DIR] PLAN\n"
          "       moksha-exec --version | --help\n"
          "\n"
          "The executor of moksha plans. `verify` checks a plan file's signature with the\n"
          "project key (MOKSHA_KEY, else .moksha/key) and prints what it would change;\n"
          "it exits 0 for a valid plan, 1 for one that was altered, signed with another\n"
          "key, or is not a plan.\n",
          out);
}

static int verify(const char *dir, const char *path)
{
    mk_exec_key key;
    char why[512];
    if (!mk_exec_key_load(&key, dir, why, sizeof why)) {
        fprintf(stderr, "moksha-exec: error: %s\n", why);
        return 1;
    }
    json_t *plan;
    if (mk_exec_plan_load(path, &key, &plan, why, sizeof why) != MK_EXEC_PLAN_OK) {
        fprintf(stderr, "moksha-exec: error: %s: %s\n", path, why);
        return 1;
    }
    json_t *t = json_object_get(plan, "totals");
    printf("%s: valid plan for stack %s (state serial %lld): %lld to create, %lld to update, %lld to replace, %lld to delete\n",
           path, json_string_value(json_object_get(plan, "stack")),
           (long long)json_integer_value(json_object_get(json_object_get(plan, "state"), "serial")),
           (long long)json_integer_value(json_object_get(t, "create")),
           (long long)json_integer_value(json_object_get(t, "update")),
           (long long)json_integer_value(json_object_get(t, "replace")),
           (long long)json_integer_value(json_object_get(t, "delete")));
    json_decref(plan);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("moksha-exec %s\n", MK_VERSION);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "verify") == 0)
        return verify(".moksha", argv[2]);
    if (argc == 5 && strcmp(argv[1], "verify") == 0 && strcmp(argv[2], "--moksha-dir") == 0)
        return verify(argv[3], argv[4]);
    usage(stderr);
    return 1;
}
