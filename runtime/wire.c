/* wire — whole frames on a stream socket (wire.h). A short read or write
 * is continued, EINTR retried: a signal that arrives mid-frame (the
 * service's own SIGCHLD) must not tear it. */
#include "runtime/wire.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/clock.h"

static bool send_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        s += w, n -= (size_t)w;
    }
    return true;
}

bool mk_wire_send(int fd, int type, const void *payload, size_t n)
{
    if (n > UINT32_MAX) {
        errno = EMSGSIZE;
        return false;
    }
    unsigned char h[MK_WIRE_HEADER] = {(unsigned char)type, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                                       (unsigned char)(n >> 8), (unsigned char)n};
    return send_all(fd, h, sizeof h) && send_all(fd, payload, n);
}

bool mk_wire_say(int fd, int type, const char *text)
{
    return mk_wire_send(fd, type, text, strlen(text));
}

/* Wait until fd is readable or the deadline (monotonic ms; 0: none) has
 * passed: a deadline over the whole read, not one restarted by each byte,
 * so a client trickling a byte at a time is still cut off. */
static bool readable_by(int fd, double deadline)
{
    for (;;) {
        if (!deadline)
            return true;
        double left = deadline - mk_clock_now_ms();
        if (left <= 0)
            return errno = ETIMEDOUT, false;
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, (int)ceil(left));
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

/* n bytes into p: 1, or 0 at a clean end before the first byte, -1 torn
 * or past the deadline. */
static int recv_all(int fd, void *p, size_t n, double deadline)
{
    char *s = p;
    size_t got = 0;
    while (got < n) {
        if (!readable_by(fd, deadline))
            return -1;
        ssize_t r = read(fd, s + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return got == 0 && r == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return 1;
}

int mk_wire_recv(int fd, int *type, char **payload, size_t *n, size_t max)
{
    return mk_wire_recv_by(fd, type, payload, n, max, 0);
}

int mk_wire_recv_by(int fd, int *type, char **payload, size_t *n, size_t max, double deadline)
{
    unsigned char h[MK_WIRE_HEADER];
    *payload = NULL;
    int r = recv_all(fd, h, sizeof h, deadline);
    if (r <= 0)
        return r;
    size_t len = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
    if (len > max) {
        errno = EMSGSIZE;
        return -1;
    }
    char *buf = malloc(len + 1);
    if (!buf || (len && recv_all(fd, buf, len, deadline) != 1)) {
        free(buf);
        return -1;
    }
    buf[len] = 0;
    *type = h[0], *payload = buf, *n = len;
    return 1;
}
