/* keycmd — `moksha-exec key new` and `key show`: the executor's own keys in
 * trust mode (docs/trust.md, "Keys"), made in and read from the key
 * directory of the configuration's trust section (or --dir DIR). Rotation
 * is runtime/rotate.c's. Each returns an exit code of runtime/exitcode.h
 * and says its errors on stderr. */
#ifndef MK_RUNTIME_KEYCMD_H
#define MK_RUNTIME_KEYCMD_H

/* key new [--dir DIR]: the directory (0700) and whichever of seal.key,
 * audit.key (0600) and seal.pub are missing; never overwrites, and refuses
 * when all three are there. */
int mk_keycmd_new(int argc, char **argv);
/* key show [--dir DIR] [--format text|json]: the seal.pub line and the key's id. */
int mk_keycmd_show(int argc, char **argv);

#endif
