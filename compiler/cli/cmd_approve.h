/* cmd_approve — `moksha approve` (a signed approval of a plan's gates, an
 * override, a waiver, a break glass, a revocation or an acknowledgement,
 * written to a file: docs/trust.md, "Giving an approval") and `moksha
 * approval add|list` (handed to moksha-exec or the executor service).
 * argv[0] is the command's name; the exit status. */
#ifndef MK_CMD_APPROVE_H
#define MK_CMD_APPROVE_H

int mk_cmd_approve(int argc, char **argv);
int mk_cmd_approval(int argc, char **argv);

#endif
