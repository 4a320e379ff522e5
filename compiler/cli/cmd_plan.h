/* cmd_plan — `moksha plan`, `moksha show` and `moksha graph`; each takes its
 * arguments (argv[0] is the command's name) and returns the exit status. */
#ifndef MK_CMD_PLAN_H
#define MK_CMD_PLAN_H

int mk_cmd_plan(int argc, char **argv);
int mk_cmd_show(int argc, char **argv);
int mk_cmd_graph(int argc, char **argv);

#endif
