/* outputscmd — `moksha-exec state outputs --stack S [--env E] [--from SELF]
 * [--format text|json]`: the outputs a stack's last apply recorded in its
 * state, read through its backend, for another stack's plan (docs/language.md,
 * "Reading another stack's outputs"). Read-only: it takes no lock and writes
 * nothing. A secret output is never printed, sealed or not: it is shown as
 * {"$secret": {"sensitive": true}}, which the compiler refuses to read. */
#ifndef MK_RUNTIME_OUTPUTSCMD_H
#define MK_RUNTIME_OUTPUTSCMD_H

/* argv[0] is "outputs". An exit code of runtime/exitcode.h; what went wrong
 * is said on stderr. */
int mk_outputscmd_run(int argc, char **argv);

#endif
