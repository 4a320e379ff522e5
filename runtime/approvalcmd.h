/* approvalcmd — `moksha-exec approval add FILE` and `approval list
 * [--format json]` (docs/trust.md, "Approvals"): a signed approval
 * verified now against the trust file (signature, approver, stack and
 * environment, expiry) and kept by the stack (.moksha/approvals/ID.json,
 * per environment under .moksha/env/NAME/approvals/), audited; the kept
 * ones listed. Run from the command line or by `moksha-exec serve`. Each
 * prints to stdout/stderr and returns an exit code of runtime/exitcode.h. */
#ifndef MK_RUNTIME_APPROVALCMD_H
#define MK_RUNTIME_APPROVALCMD_H

#include <stdbool.h>
#include <stddef.h>

struct mk_exec_submitter;

/* The approval's text (n bytes; what names it in messages), checked and
 * kept under the stack's lock; by: who asked through the service (NULL:
 * the command line). */
int mk_approvalcmd_add_text(const char *text, size_t n, const char *what, const struct mk_exec_submitter *by);
/* The approvals the selected environment keeps, as text or JSON. */
int mk_approvalcmd_list(bool json);
/* `approval add FILE` | `approval list [--format json]`: argv[0] is "approval". */
int mk_approvalcmd_run(int argc, char **argv);

#endif
