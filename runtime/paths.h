/* paths — where the executor's files are in a stack: the directory
 * .moksha under the working directory (moksha-exec -C DIR changes it) and
 * the state, its lock, the audit log and the last refresh's observations
 * inside it. A header of constants
 * only; the key files are named where they are read (planfile.c,
 * rotate.c), and the audit head after the log (audit.c). */
#ifndef MK_RUNTIME_PATHS_H
#define MK_RUNTIME_PATHS_H

#define MK_PATH_DIR ".moksha"
#define MK_PATH_STATE ".moksha/state.json"
#define MK_PATH_LOCKFILE ".moksha/state.lock"
#define MK_PATH_AUDIT ".moksha/audit.jsonl"
#define MK_PATH_OBSERVED ".moksha/observed.json" /* what the last refresh saw (runtime/refresh.c) */

#endif
