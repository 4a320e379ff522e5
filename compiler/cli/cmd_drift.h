/* cmd_drift — the commands that read the world through the executor
 * (docs/drift.md): `moksha refresh`, `moksha drift`, `moksha reconcile`,
 * and the refresh `moksha plan --refresh` runs between its two plans.
 * argv[0] is the command's name; each returns the exit status. */
#ifndef MK_CMD_DRIFT_H
#define MK_CMD_DRIFT_H

#include <stdbool.h>

#include "compiler/pipeline.h"

int mk_cmd_refresh(int argc, char **argv);
int mk_cmd_drift(int argc, char **argv);
int mk_cmd_reconcile(int argc, char **argv);

/* plan --refresh (note [two passes]): plan r signed, have the executor
 * refresh with that plan, then plan r again into out (signed when sign),
 * as mk_run_plan does. The refresh's report is said on stderr; some
 * objects unreadable is a warning. False when a plan or the refresh
 * failed: *rc is then the exit status (out is planned, or zeroed, either
 * way for mk_pipeline_planned_free). */
bool mk_cmd_plan_refreshed(mk_pipeline_req *r, mk_planned *out, bool sign, int *rc);
/* The executor's options for that refresh (--parallelism, --timeout,
 * --retries; checked as apply checks them): false (said) on a bad one. */
bool mk_cmd_plan_refresh_option(const char *name, const char *value);

#endif
