/* cmd_revert — `moksha state revert N` (cmd_revert.h). A revert is never
 * a rewrite of the state: serial N's bytes come from the executor, which
 * alone reads the backend, and the pipeline plans them as the desired
 * resources (compiler/front/revert.h) against the current state — diffed,
 * priced, policy-checked, gated and signed like any plan, saying which
 * serial it reverts to. Applying it writes a new serial. */
#include "compiler/cli/cmd_revert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/back/planfile.h"
#include "compiler/base/buf.h"
#include "compiler/base/mem.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/cmd_plan.h"
#include "compiler/cli/options.h"
#include "compiler/cli/run.h"
#include "compiler/cli/spawn.h"
#include "compiler/cli/submit.h"

static const char REVERT_HELP[] =
    "usage: moksha state revert N [options] [PATH...]\n"
    "\n"
    "Plan the changes that bring the world back to state serial N: the desired\n"
    "resources are the ones serial N recorded (type, provider, attributes,\n"
    "placement, lifecycle), not the spec's; what the state has now and N had not\n"
    "is deleted, what N had and the state has not is created, what differs is\n"
    "updated or replaced as any plan decides. It is an ordinary plan: priced,\n"
    "checked by the stack's policies, gated, signed, and it says which serial it\n"
    "reverts to. Serial N's secrets stay sealed as the state holds them. Applying\n"
    "it (moksha apply PLAN) writes a new serial: history only grows.\n"
    "Serial N is read by moksha-exec (`state pull --serial N`) from the stack's\n"
    "backend; the local backend keeps the current serial and the previous one.\n"
    "\n"
    "options:\n"
    "  -o, --out FILE         write the signed plan file for `moksha apply`\n"
    "  --format text|json|markdown   how to print the plan (default text)\n"
    "  --detailed-exitcode    exit 0 when there are no changes, 2 when there are\n"
    "  --signing-key FILE, --policies DIR, --override NAME --reason TEXT, --waiver FILE,\n"
    "  --var NAME=VALUE, --var-file FILE   as for moksha plan (the spec gives the\n"
    "                         revert its policies, providers and types)\n"
    "  -h, --help             show this help\n"
    "\n"
    "exit status: 0 success, 1 error (no serial N), 2 changes present\n"
    "(--detailed-exitcode), 3 a policy failed\n";

typedef struct revert_args {
    long long serial;
    bool has_serial;
} revert_args;

static bool serial_arg(void *ud, const char *s, bool *bad)
{
    revert_args *a = ud;
    if (a->has_serial || !*s || strspn(s, "0123456789") != strlen(s))
        return false;
    a->serial = strtoll(s, NULL, 10);
    a->has_serial = true;
    if (a->serial <= 0 || errno == ERANGE) {
        mk_cli_err("revert takes a serial the state went through (1 or more), not `%s`", s);
        *bad = true;
    }
    return true;
}

/* note [serial text]: serial N's bytes, from the executor (`moksha-exec
 * state pull --serial N`), whichever backend keeps the stack: only the
 * executor reads one. NULL (said) when it keeps no such serial. */
static char *serial_text(long long serial, size_t *len)
{
    char n[24];
    snprintf(n, sizeof n, "%lld", serial);
    const char *args[] = {"state", "pull", "--serial", n};
    mk_buf out = {0};
    int rc = mk_spawn_exec(args, 4, &out);
    if (rc != 0 || out.len == 0) {
        mk_buf_free(&out);
        if (rc == 0)
            mk_cli_err("the stack has no state: there is no serial %lld to revert to", serial);
        else
            mk_cli_err("no serial %lld to revert to (moksha state history lists the serials kept): nothing was planned",
                       serial);
        return NULL;
    }
    *len = out.len;
    return mk_buf_take(&out);
}

static bool revert_ok(const mk_pipeline_req *r, const revert_args *a, const char *format, const char *out)
{
    char why[1024];
    if (!a->has_serial)
        mk_cli_err("revert needs the serial to go back to, e.g. `moksha state revert 4` (moksha state history lists them)");
    else if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "markdown"))
        mk_cli_err("--format takes text, json or markdown, not `%s`", format);
    else if (out && !mk_planfile_target_ok(out, why, sizeof why))
        mk_cli_err("refusing to write the plan: %s (choose another file, e.g. -o revert.plan)", why);
    else if (mk_submit_socket())
        mk_cli_err("state revert reads serial N through moksha-exec; with MOKSHA_EXEC_SOCKET it is not offered yet");
    else
        return mk_options_overrides_ok(r) && mk_spawn_found();
    return false;
}

int mk_cmd_revert(int argc, char **argv)
{
    mk_pipeline_req r = {0};
    revert_args a = {0};
    const char *format = "text", *out = NULL;
    bool detailed = false;
    const mk_option opts[] = {
        {"--format", true, .str = &format}, {"--out", true, .str = &out}, {"-o", true, .str = &out},
        {"--detailed-exitcode", false, .flag = &detailed}, {"--signing-key", true, .str = &r.signing_key},
    };
    mk_options spec = {"state revert", "state revert", REVERT_HELP, opts, sizeof opts / sizeof *opts, .ud = &a,
                       .stack = &r, .arg = serial_arg};
    int parsed = mk_options_parse(&spec, argc, argv);
    int rc = parsed == MK_OPTIONS_HELP ? EXIT_OK : EXIT_INPUT;
    if (parsed == MK_OPTIONS_OK && revert_ok(&r, &a, format, out) &&
        (r.revert_text = serial_text(a.serial, &r.revert_len)) != NULL) {
        mk_planned pl;
        r.revert_serial = a.serial;
        bool sign = out || strcmp(format, "json") == 0;
        if (mk_run_plan(&r, &pl, sign))
            rc = mk_cmd_plan_report(&pl, out, format, NULL, detailed);
        mk_pipeline_planned_free(&pl);
    }
    mk_mem_free(r.revert_text);
    mk_options_req_free(&r);
    return rc;
}
