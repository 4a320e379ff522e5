/* wire — the frames of the service protocol (docs/executor.md, "The
 * service protocol"): a type byte, the payload's length as 4 bytes
 * big-endian, the payload. It reads and writes whole frames on a stream
 * socket and knows the frame types; what a request means is serve.c's.
 * It is not a parser of the JSON a request carries, nor a buffer: a frame
 * is sent with one writev and read into memory the caller frees. The
 * client in compiler/cli/submit.c speaks the same frames with code of its
 * own (runtime/ and compiler/ share none). */
#ifndef MK_RUNTIME_WIRE_H
#define MK_RUNTIME_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    /* client → service */
    MK_WIRE_REQUEST = 'Q', /* JSON: {"op": "info" | "state" | "apply" | a stack op, …} */
    MK_WIRE_PLAN = 'P',    /* a piece of the plan's bytes; an empty one ends the plan */
    MK_WIRE_CANCEL = 'C',  /* stop the apply (a second one: stop its rollback too) */
    /* service → client */
    MK_WIRE_INFO = 'I',    /* JSON: version, trust, seal key */
    MK_WIRE_STATE = 'S',   /* the stack's state file, as its bytes */
    MK_WIRE_NONE = 'N',    /* the stack has no state yet */
    MK_WIRE_STDOUT = 'O',  /* the apply's output, as it comes */
    MK_WIRE_STDERR = 'E',
    MK_WIRE_EXIT = 'X'     /* one byte: the exit code; the last frame */
};

#define MK_WIRE_HEADER 5
#define MK_WIRE_MAX_REQUEST (64u << 10)
#define MK_WIRE_MAX_PIECE (1u << 20) /* a plan's, an output's or a state's piece */

/* Send one frame; false with errno set (EPIPE when the peer is gone: the
 * caller ignores SIGPIPE or this sends with MSG_NOSIGNAL). */
bool mk_wire_send(int fd, int type, const void *payload, size_t n);
/* Send a string as one frame. */
bool mk_wire_say(int fd, int type, const char *text);
/* Read one frame of at most max bytes: 1 with *type, *payload (malloc'd,
 * NUL-terminated, the caller frees) and *n; 0 when the peer closed before
 * a frame began; -1 on a torn or oversized frame, or an error (errno). */
int mk_wire_recv(int fd, int *type, char **payload, size_t *n, size_t max);
/* mk_wire_recv, but -1 with ETIMEDOUT once the monotonic clock
 * (mk_clock_now_ms) passes deadline, however the bytes trickle in; a
 * deadline of 0 is none. */
int mk_wire_recv_by(int fd, int *type, char **payload, size_t *n, size_t max, double deadline);

#endif
