/* cli — what every command of the `moksha` binary shares: the global
 * options (--color, --stats, --env), the exit codes, colour and error lines. */
#ifndef MK_CLI_H
#define MK_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_CHANGES = 2, EXIT_POLICY = 3, EXIT_LOCKED = 6 };

typedef struct mk_cli_options {
    const char *color; /* auto, always, never */
    bool stats;
    const char *env;   /* --env NAME, else MOKSHA_ENV; NULL for none (docs/environments.md) */
} mk_cli_options;
extern mk_cli_options mk_cli_opts;

/* The environment name (NULL: MOKSHA_ENV's, if set and not empty) into
 * mk_cli_opts.env, when it is a name (1 to 63 of a-z, 0-9, `-`, `_`,
 * starting with a letter or digit) of an environment the stack knows:
 * env/NAME.yaml exists, or .moksha/env/NAME/ holds a state. Else said,
 * with a hint, and false. */
bool mk_cli_env_select(const char *name);

bool mk_cli_color(FILE *f);
void mk_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
