/* cfgload — for the configuration's unit tests: write an executor
 * configuration with one section into a temporary directory (mode 0600),
 * load it, and check a refusal names the file's key with the expected
 * words. Include after "tests/unit/unit.h". */
#ifndef MK_TESTS_UNIT_CFGLOAD_H
#define MK_TESTS_UNIT_CFGLOAD_H

#include <sys/stat.h>

#include "runtime/config.h"

/* {"format": …, SECTION: body} as DIR/exec.json, loaded into cfg. */
static inline bool mk_test_cfg_load(const char *dir, const char *section, const char *body, mk_config *cfg, char *why,
                                    size_t whylen)
{
    char text[8192], path[128];
    snprintf(text, sizeof text, "{\"format\": \"moksha.exec-config/v1\", \"%s\": %s}\n", section, body);
    mk_test_write(dir, "exec.json", text);
    snprintf(path, sizeof path, "%s/exec.json", dir);
    chmod(path, 0600);
    setenv("MOKSHA_EXEC_CONFIG", path, 1);
    return mk_config_load_for(cfg, NULL, why, whylen);
}

static inline void mk_test_cfg_refused(const char *dir, const char *section, const char *body, const char *key,
                                       const char *words)
{
    mk_config cfg;
    char why[1024];
    assert_false(mk_test_cfg_load(dir, section, body, &cfg, why, sizeof why));
    char want[160];
    snprintf(want, sizeof want, "exec.json: key `%s`: ", key);
    if (!strstr(why, want) || !strstr(why, words))
        fail_msg("for %s: %s (wanted %s … %s)", body, why, want, words);
}

#endif
