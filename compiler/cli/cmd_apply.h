/* cmd_apply — `moksha apply`, `destroy`, `import`, `state` and `audit`, which hand over
 * to moksha-exec: argv[0] is the command's name; the exit status. */
#ifndef MK_CMD_APPLY_H
#define MK_CMD_APPLY_H

int mk_cmd_apply(int argc, char **argv);
int mk_cmd_destroy(int argc, char **argv);
int mk_cmd_state(int argc, char **argv);
int mk_cmd_import(int argc, char **argv);
int mk_cmd_audit(int argc, char **argv);
/* `moksha env list`: moksha-exec's, as it says. */
int mk_cmd_env(int argc, char **argv);

#endif
