/* fuzz_wire — what the service reads from a client it does not trust: the
 * frames (runtime/wire.c, mk_wire_recv) of one connection's bytes, and the
 * request a first `Q` frame carries (runtime/serve.c, mk_serve_parse: the
 * op, the stack id and the options' whitelist). The bytes are read from a
 * file, which read(2) serves as a socket would. Invariants beyond "no
 * crash":
 *
 * - the frames read are the bytes cut as docs/executor.md says (a type, a
 *   big-endian length, that many bytes), each NUL-terminated; the reading
 *   ends with 0 exactly at the end of the bytes, and with -1 at a torn
 *   frame or a length above the reader's limit (the request's for the
 *   first frame, a plan piece's after it, as the service reads them);
 * - a frame sent again by mk_wire_send (over a socket pair) reads back the
 *   same;
 * - a request found fit names a known op, each but info with a stack id of
 *   32 hex digits; apply only options of the whitelist, each with the
 *   value the request gave, within its bounds; a stack op (`state list` …
 *   `audit verify`) no field but its argument, of 1 to 1024 bytes. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/serve.h"
#include "runtime/wire.h"
#include "tests/fuzz/fuzz.h"

#define ROUND_TRIP_MAX 16384 /* within a socket pair's buffer: send does not block */

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_wire: %s\n", what);
    abort();
}

static bool hex32(const char *s) { return s && strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32; }

static void same_int(json_t *v, long long got, const char *what)
{
    if (v && json_integer_value(v) != got)
        broken(what);
}

/* apply's options as the request gave them. */
static void check_options(const mk_serve_req *r)
{
    json_t *o = json_object_get(r->doc, "options"), *v;
    const char *k;
    json_object_foreach(o, k, v) {
        static const char *const known[] = {"parallelism", "retries", "no_rollback", "timeout", "auto_approve_risk",
                                            "approve", NULL};
        size_t i = 0;
        while (known[i] && strcmp(known[i], k) != 0)
            i++;
        if (!known[i])
            broken("an apply option outside the whitelist was taken");
    }
    const mk_exec_opts *x = &r->opts;
    if (x->parallelism < 1 || x->parallelism > 1024 || x->retries < 0 || x->retries > 100 || !(x->timeout_ms > 0))
        broken("an apply option out of its bounds was taken");
    same_int(json_object_get(o, "parallelism"), x->parallelism, "parallelism is not the request's");
    same_int(json_object_get(o, "retries"), x->retries, "retries is not the request's");
    v = json_object_get(o, "no_rollback");
    if (v && json_is_true(v) != x->no_rollback)
        broken("no_rollback is not the request's");
    const char *risk = x->auto_approve_risk;
    if (risk && strcmp(risk, "low") && strcmp(risk, "medium") && strcmp(risk, "high"))
        broken("auto_approve_risk is not low, medium or high");
    if (x->napprove != json_array_size(json_object_get(o, "approve")))
        broken("not every approval of the request was taken");
    for (size_t i = 0; i < x->napprove; i++)
        if (!x->approve[i] || !*x->approve[i])
            broken("an empty approval was taken");
}

/* A stack op (note [stack ops] in serve.c) takes one argument or none. */
static void check_stack_op(const mk_serve_req *r)
{
    static const char *const ops[] = {"state list", "state show", "state rm", "state unlock", "audit show",
                                      "audit verify", NULL};
    size_t i = 0, keys = 2 + (r->arg != NULL);
    while (ops[i] && strcmp(ops[i], r->op) != 0)
        i++;
    if (!ops[i])
        broken("a request was found fit that names no known op");
    if (r->arg && (!*r->arg || strlen(r->arg) > 1024))
        broken("a stack op's argument was taken empty or over 1024 bytes");
    if (json_object_size(r->doc) != keys)
        broken("a stack op was found fit with a field besides op, stack_id and its argument");
}

static void request(const char *text, size_t n)
{
    mk_serve_req r;
    mk_serve_parse(text, n, &r);
    if (!*r.why) {
        if (!r.op)
            broken("a request was found fit that names no op");
        if (strcmp(r.op, "info") && !hex32(r.stack_id))
            broken("a request was found fit without a stack id of 32 hex digits");
        if (!strcmp(r.op, "apply"))
            check_options(&r);
        else if (strcmp(r.op, "info") && strcmp(r.op, "state"))
            check_stack_op(&r);
    }
    mk_serve_req_free(&r);
}

/* The frame sent again reads back the same. */
static void round_trip(int type, const char *p, size_t n)
{
    int sv[2], t2 = 0;
    char *back = NULL;
    size_t n2 = 0;
    if (n > ROUND_TRIP_MAX)
        return;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        broken("socketpair");
    if (!mk_wire_send(sv[0], type, p, n))
        broken("a frame could not be sent");
    close(sv[0]);
    if (mk_wire_recv(sv[1], &t2, &back, &n2, n) != 1 || t2 != type || n2 != n || memcmp(back, p, n) != 0)
        broken("a frame sent does not read back the same");
    free(back);
    close(sv[1]);
}

/* The frames of data as the protocol cuts them, one by one. */
static void frames(int fd, const uint8_t *data, size_t size)
{
    size_t at = 0;
    for (int i = 0;; i++) {
        size_t max = i == 0 ? MK_WIRE_MAX_REQUEST : MK_WIRE_MAX_PIECE, n = 0;
        int type = 0;
        char *p = NULL;
        int got = mk_wire_recv(fd, &type, &p, &n, max);
        size_t left = size - at;
        size_t len = left >= MK_WIRE_HEADER ? (size_t)data[at + 1] << 24 | (size_t)data[at + 2] << 16 |
                                                  (size_t)data[at + 3] << 8 | data[at + 4]
                                            : 0;
        bool whole = left >= MK_WIRE_HEADER && len <= max && left - MK_WIRE_HEADER >= len;
        int want = left == 0 ? 0 : whole ? 1 : -1;
        if (got != want)
            broken("a frame was read otherwise than the bytes cut it");
        if (got != 1) {
            if (p)
                broken("a payload was handed out with no frame");
            return;
        }
        if (type != data[at] || n != len || memcmp(p, data + at + MK_WIRE_HEADER, n) != 0 || p[n] != 0)
            broken("a frame's type, length or bytes are not those sent");
        if (i == 0 && type == MK_WIRE_REQUEST)
            request(p, n);
        round_trip(type, p, n);
        free(p);
        at += MK_WIRE_HEADER + len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = open(mk_fuzz_write("conn.bin", data, size), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        broken("cannot open the input");
    frames(fd, data, size);
    close(fd);
    /* the payload alone as a request, so that every input reaches the parser */
    request((const char *)data, size);
    return 0;
}
