/* cmd_trust — `moksha trust sign FILE --key ROOT.key` and `moksha trust
 * show FILE`: argv[0] is the command's name; the exit status. */
#ifndef MK_CMD_TRUST_H
#define MK_CMD_TRUST_H

int mk_cmd_trust(int argc, char **argv);

#endif
