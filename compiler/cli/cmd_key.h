/* cmd_key — `moksha key new NAME`: argv[0] is the command's name; the exit
 * status. */
#ifndef MK_CMD_KEY_H
#define MK_CMD_KEY_H

int mk_cmd_key(int argc, char **argv);

#endif
