/* signals — holding the stop signals over a locked section (note [signal
 * hold] in signals.h). The apply has its own handlers (exec.c). */
#include "runtime/signals.h"

void mk_signals_hold(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, old);
}

void mk_signals_restore(const sigset_t *old)
{
    sigprocmask(SIG_SETMASK, old, NULL);
}
