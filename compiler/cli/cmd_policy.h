/* cmd_policy — `moksha policy check|test`: argv[0] is the command's name; the
 * exit status. */
#ifndef MK_CMD_POLICY_H
#define MK_CMD_POLICY_H

int mk_cmd_policy(int argc, char **argv);

#endif
