/* serve — `moksha-exec serve`: the executor as a service of its own user
 * (docs/trust.md, "The service"; the frames: docs/executor.md, "The
 * service protocol"). It listens on the configured unix socket, whose
 * owner, group and mode say who may submit, and answers `info`, `state`,
 * `apply` and the stack ops (`state list` … `audit verify`, note [stack
 * ops] in serve.c); each apply or stack op runs in a worker process in
 * the stack's own directory under service.stacks, with the service's
 * environment and configuration, never the submitter's. It does not verify plans itself:
 * the worker runs the same apply as `moksha-exec apply` (runtime/exec.c). */
#ifndef MK_RUNTIME_SERVE_H
#define MK_RUNTIME_SERVE_H

/* Serve until SIGTERM, SIGINT or SIGHUP; socket overrides service.socket
 * (may be NULL). The exit code: 0 after a clean stop, 1 when it cannot
 * start (the reason on stderr). */
int mk_serve_run(const char *socket);

#endif
