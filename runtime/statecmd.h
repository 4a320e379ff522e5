/* statecmd — `moksha-exec state list | show ADDRESS | rm ADDRESS | unlock
 * ID` (docs/executor.md), in the stack in the working directory. Each
 * prints to stdout/stderr and returns an exit code of runtime/exitcode.h. */
#ifndef MK_RUNTIME_STATECMD_H
#define MK_RUNTIME_STATECMD_H

int mk_statecmd_list(void);
int mk_statecmd_show(const char *address);
/* Under the lock, signals held (note [signal hold] in signals.h). */
int mk_statecmd_rm(const char *address);
int mk_statecmd_unlock(const char *id);

#endif
