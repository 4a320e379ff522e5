/* serve — `moksha-exec serve`: the executor as a service of its own user
 * (docs/trust.md, "The service"; the frames: docs/executor.md, "The
 * service protocol"). It listens on the configured unix socket, whose
 * owner, group and mode say who may submit, and answers `info`, `state`,
 * `observed`, `apply`, `refresh` and the stack ops (`state list` … `audit verify`, note [stack
 * ops] in serve.c); each apply or stack op runs in a worker process in
 * the stack's own directory under service.stacks, with the service's
 * environment and configuration, never the submitter's. It does not verify plans itself:
 * the worker runs the same apply as `moksha-exec apply` (runtime/exec.c). */
#ifndef MK_RUNTIME_SERVE_H
#define MK_RUNTIME_SERVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/exec.h"
#include "runtime/refresh.h"

/* Serve until SIGTERM, SIGINT or SIGHUP; socket overrides service.socket
 * (may be NULL). The exit code: 0 after a clean stop, 1 when it cannot
 * start (the reason on stderr). */
int mk_serve_run(const char *socket);

/* A request frame's JSON as the service reads it before acting on it: the
 * op, the stack id every op but info needs, apply's options (the
 * whitelist of docs/executor.md, "The service protocol") and a stack op's
 * argument. It touches no file: what the request asks is done by the
 * service. */
typedef struct mk_serve_req {
    json_t *doc;          /* the request; NULL when it is not JSON */
    const char *op;       /* NULL when the request names none; borrowed from doc */
    const char *stack_id; /* borrowed from doc; NULL when none */
    const char *arg;      /* a stack op's address, lock id or format; borrowed; NULL when none */
    const char *env;      /* the environment (runtime/paths.h) it is for; borrowed; NULL for none */
    mk_exec_opts opts;    /* the defaults, and apply's options over them */
    mk_refresh_opts ropts; /* refresh: the defaults, and its options over them */
    bool with_plan;       /* refresh: plan pieces follow the request ("plan": true) */
    char why[1024];       /* the refusal; "" when the request is fit */
} mk_serve_req;

/* Parse the n bytes of a request into r (always: free it with
 * mk_serve_req_free); r->why says what makes it unfit. */
void mk_serve_parse(const char *text, size_t n, mk_serve_req *r);
void mk_serve_req_free(mk_serve_req *r);

/* In trust mode (trust true) a fit `state rm` or `state unlock` is made
 * unfit, its refusal into r->why (note [operator ops] in serve.c). */
void mk_serve_check_trust(mk_serve_req *r, bool trust);

#endif
