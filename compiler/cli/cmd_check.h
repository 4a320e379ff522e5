/* cmd_check — `moksha check`: argv[0] is the command's name; the exit status. */
#ifndef MK_CMD_CHECK_H
#define MK_CMD_CHECK_H

int mk_cmd_check(int argc, char **argv);

#endif
