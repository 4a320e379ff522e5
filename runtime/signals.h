/* signals — holding the stop signals over the short locked commands.
 *
 * note [signal hold]: the short commands that take the state lock (state
 * rm, key rotate, state unlock) hold SIGINT, SIGTERM and SIGHUP from before
 * the lock is taken until it is released: a signal then waits those few
 * milliseconds and stops the command after the lock is gone, so it never
 * leaves a lock behind nor a state half written. `apply` has its own
 * handlers (it rolls back). restore unblocks; a held signal then acts. */
#ifndef MK_RUNTIME_SIGNALS_H
#define MK_RUNTIME_SIGNALS_H

#include <signal.h>

void mk_signals_hold(sigset_t *old);
void mk_signals_restore(const sigset_t *old);

#endif
