/* cmd_approve — `moksha approve` (a signed approval of a plan's gates, an
 * override, a waiver, a break glass, a revocation or an acknowledgement,
 * written to a file: docs/trust.md, "Giving an approval") and `moksha
 * approval add|list` (handed to moksha-exec or the executor service).
 * argv[0] is the command's name; the exit status. */
#ifndef MK_CMD_APPROVE_H
#define MK_CMD_APPROVE_H

#include <jansson.h>

int mk_cmd_approve(int argc, char **argv);
int mk_cmd_approval(int argc, char **argv);
/* `moksha show PLAN`'s list of the gates of plan (a verified plan
 * document; model: it read), each with its group, count and the digests of
 * the changes it stands in front of: what `moksha approve` binds to.
 * Prints nothing for a plan without gates. */
struct mk_plan;
void mk_cmd_approve_show_gates(json_t *plan, const struct mk_plan *model);

#endif
