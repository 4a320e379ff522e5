/* plugincmd — `moksha-exec plugin digest DIR` (the digest an allowlist
 * entry names) and `moksha-exec plugin test DIR` (the conformance test a
 * plugin passes before it is trusted: docs/plugins.md, "The conformance
 * test"). argv[0] is "plugin". Exit 0, 1 (a check failed), 2 (usage). */
#ifndef MK_PLUGINCMD_H
#define MK_PLUGINCMD_H

int mk_plugincmd_run(int argc, char **argv);

#endif
