/* cmd_fmt — `moksha fmt`: argv[0] is the command's name; the exit status. */
#ifndef MK_CMD_FMT_H
#define MK_CMD_FMT_H

int mk_cmd_fmt(int argc, char **argv);

#endif
