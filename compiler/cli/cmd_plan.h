/* cmd_plan — `moksha plan`, `moksha show` and `moksha graph`; each takes its
 * arguments (argv[0] is the command's name) and returns the exit status. */
#ifndef MK_CMD_PLAN_H
#define MK_CMD_PLAN_H

#include <stdbool.h>

int mk_cmd_plan(int argc, char **argv);
int mk_cmd_show(int argc, char **argv);
int mk_cmd_graph(int argc, char **argv);

struct mk_planned;
/* A plan made (compiler/pipeline.h) as `plan` treats it: saved to out
 * (NULL: not; never when a policy failed), printed in format, its policy
 * results after it (prefix: markdown's --path-prefix); the exit status,
 * EXIT_CHANGES with detailed when there are changes. `state revert` too. */
int mk_cmd_plan_report(struct mk_planned *pl, const char *out, const char *format, const char *prefix, bool detailed);

#endif
