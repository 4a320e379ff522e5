/* rotate — `moksha-exec key rotate`: replace the project key and re-seal
 * every secret the state holds with the new one (docs/executor.md,
 * "Rotating the key"). Prints what it did; returns an exit code of
 * docs/executor.md. */
#ifndef MK_RUNTIME_ROTATE_H
#define MK_RUNTIME_ROTATE_H

int mk_rotate_key(void);

#endif
