/* cmd_revert — `moksha state revert N [-o PLAN]`: a plan whose desired
 * resources are state serial N's (docs/state.md, "History"); argv[0] is
 * "revert". Returns the exit status, as `moksha plan` does. */
#ifndef MK_CMD_REVERT_H
#define MK_CMD_REVERT_H

int mk_cmd_revert(int argc, char **argv);

#endif
