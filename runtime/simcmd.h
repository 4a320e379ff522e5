/* simcmd — `moksha-exec sim`: the simulated cloud changed out of band, as
 * a colleague with console access would change a real one, for tests and
 * demos (docs/drift.md, docs/providers.md). It works on .moksha/sim/ of the
 * stack in the working directory, takes no lock, and writes nothing else:
 * not the state, not the audit log. Prints to stdout/stderr and returns an
 * exit code of runtime/exitcode.h. */
#ifndef MK_RUNTIME_SIMCMD_H
#define MK_RUNTIME_SIMCMD_H

/* argv[0] is "sim"; argv[1] the subcommand. */
int mk_simcmd_run(int argc, char **argv);

#endif
