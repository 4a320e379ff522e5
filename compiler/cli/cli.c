/* cli — what every command of the `moksha` binary shares: the global
 * options, colour, and the one form of an error line. Options of the
 * commands are options.c's; the driver is compiler/pipeline.c. */
#include "compiler/cli/cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

mk_cli_options mk_cli_opts = {"auto", false};

bool mk_cli_color(FILE *f)
{
    if (strcmp(mk_cli_opts.color, "always") == 0)
        return true;
    if (strcmp(mk_cli_opts.color, "never") == 0 || getenv("NO_COLOR"))
        return false;
    return isatty(fileno(f));
}

void mk_cli_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool c = mk_cli_color(stderr);
    fprintf(stderr, "%smoksha: error:%s ", c ? "\033[1;31m" : "", c ? "\033[0m" : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
