/* drift_out — the executor's refresh report (`moksha.drift/v1`,
 * docs/drift.md) as people read it: text for a terminal or a CI log,
 * markdown for a pull-request or issue comment, and the one line a
 * reconcile cycle or `plan --refresh` says of it. The report is the
 * executor's; this module only words it (json is passed through by the
 * command) and decides nothing about exit codes. It borrows the report. */
#ifndef MK_DRIFT_OUT_H
#define MK_DRIFT_OUT_H

#include <jansson.h>
#include <stdbool.h>

#include "compiler/base/buf.h"

/* Whether report is a moksha.drift/v1 report with its counts. */
bool mk_drift_out_is_report(json_t *report);

/* The report as "text" (coloured when color) or "markdown", into out. */
void mk_drift_out(json_t *report, const char *format, bool color, mk_buf *out);

/* Its counts in one sentence, without a line break: "No drift: all 6
 * resources read back as recorded." or "Drift: 2 of 6 resources changed
 * outside moksha (1 changed, 1 gone); 1 could not be read." */
void mk_drift_out_summary(json_t *report, mk_buf *out);

#endif
