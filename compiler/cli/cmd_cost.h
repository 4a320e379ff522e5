/* cmd_cost — `moksha cost`: argv[0] is the command's name; the exit status. */
#ifndef MK_CMD_COST_H
#define MK_CMD_COST_H

int mk_cmd_cost(int argc, char **argv);

#endif
