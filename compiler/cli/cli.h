/* cli — what every command of the `moksha` binary shares: the global
 * options (--color, --stats), the exit codes, colour and error lines. */
#ifndef MK_CLI_H
#define MK_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_CHANGES = 2, EXIT_POLICY = 3, EXIT_LOCKED = 6 };

typedef struct mk_cli_options {
    const char *color; /* auto, always, never */
    bool stats;
} mk_cli_options;
extern mk_cli_options mk_cli_opts;

bool mk_cli_color(FILE *f);
void mk_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
