/* migrate — `moksha-exec state migrate --to postgres|local [--stack NAME]`
 * (docs/state.md, "Migration"): one stack+environment's state, audit log
 * and observations copied from the backend the configuration names to the
 * other kind, under both locks, into a target that must be empty, and
 * verified by digest before it says so. The source is left as it was, but
 * for the audit entry that records where it went; pointing the
 * configuration at the target is the operator's. Returns an exit code of
 * runtime/exitcode.h. */
#ifndef MK_RUNTIME_MIGRATE_H
#define MK_RUNTIME_MIGRATE_H

/* argv[0] is "migrate" (the word after `state`). */
int mk_migrate_run(int argc, char **argv);

#endif
