/* wire: a frame sent is the frame read (type, length, bytes, a NUL after
 * them), on the wire as the type byte and a big-endian length; a peer that
 * closes between frames is an end (0), one that closes inside a frame or
 * announces more than the reader takes is a torn frame (-1). */
#include "tests/unit/unit.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/wire.h"

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    int sv[2], type = 0;
    char *p = NULL;
    size_t n = 0;
    pair(sv);
    assert_true(mk_wire_say(sv[0], MK_WIRE_REQUEST, "{\"op\":\"info\"}"));
    assert_true(mk_wire_send(sv[0], MK_WIRE_EXIT, "\4", 1));
    assert_true(mk_wire_send(sv[0], MK_WIRE_PLAN, "", 0));
    assert_int_equal(mk_wire_recv(sv[1], &type, &p, &n, 64), 1);
    assert_int_equal(type, 'Q');
    assert_int_equal(n, 13);
    assert_string_equal(p, "{\"op\":\"info\"}");
    free(p);
    assert_int_equal(mk_wire_recv(sv[1], &type, &p, &n, 64), 1);
    assert_int_equal(type, 'X');
    assert_int_equal(n, 1);
    assert_int_equal(p[0], 4);
    free(p);
    assert_int_equal(mk_wire_recv(sv[1], &type, &p, &n, 64), 1);
    assert_int_equal(type, 'P');
    assert_int_equal(n, 0);
    assert_string_equal(p, "");
    free(p);
    close(sv[0]);
    assert_int_equal(mk_wire_recv(sv[1], &type, &p, &n, 64), 0); /* closed between frames */
    assert_null(p);
    close(sv[1]);
}

/* The bytes on the wire: the type, four bytes of length, the payload. */
static void test_layout(void **state)
{
    (void)state;
    int sv[2];
    unsigned char got[16];
    pair(sv);
    assert_true(mk_wire_say(sv[0], MK_WIRE_STDOUT, "ok\n"));
    assert_int_equal(read(sv[1], got, sizeof got), 8);
    const unsigned char want[8] = {'O', 0, 0, 0, 3, 'o', 'k', '\n'};
    assert_memory_equal(got, want, 8);
    close(sv[0]);
    close(sv[1]);
}

static void test_torn_and_oversized(void **state)
{
    (void)state;
    int sv[2], type = 0;
    char *p = NULL;
    size_t n = 0;
    pair(sv);
    const unsigned char big[5] = {'S', 0, 1, 0, 0}; /* 65536 bytes announced, more than the reader takes */
    assert_int_equal(write(sv[0], big, 5), 5);
    assert_int_equal(mk_wire_recv(sv[1], &type, &p, &n, 1024), -1);
    assert_null(p);
    close(sv[0]);
    close(sv[1]);
    pair(sv);
    const unsigned char torn[7] = {'E', 0, 0, 0, 9, 'a', 'b'}; /* 9 announced, 2 sent, then closed */
    assert_int_equal(write(sv[0], torn, 7), 7);
    close(sv[0]);
    assert_int_equal(mk_wire_recv(sv[1], &type, &p, &n, 1024), -1);
    assert_null(p);
    close(sv[1]);
    pair(sv);
    assert_int_equal(write(sv[0], "C\0", 2), 2); /* a header cut short */
    close(sv[0]);
    assert_int_equal(mk_wire_recv(sv[1], &type, &p, &n, 1024), -1);
    close(sv[1]);
}

/* A peer gone: sending fails (no SIGPIPE kills the sender). */
static void test_send_to_closed(void **state)
{
    (void)state;
    int sv[2];
    pair(sv);
    close(sv[1]);
    assert_false(mk_wire_say(sv[0], MK_WIRE_STDERR, "nobody reads this\n"));
    close(sv[0]);
}

/* a peer trickling a byte every 30 ms never lets a read wait long, yet
 * the frame's deadline, 150 ms off, cuts it off */
static void test_deadline(void **state)
{
    (void)state;
    int sv[2], type = 0;
    char *p = NULL;
    size_t n = 0;
    pair(sv);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static const unsigned char h[] = {'Q', 0, 0, 0, 64};
        for (size_t i = 0; i < 69; i++) {
            if (write(sv[1], i < 5 ? &h[i] : (const unsigned char *)"x", 1) != 1)
                _exit(1);
            usleep(30000);
        }
        _exit(0);
    }
    close(sv[1]);
    double t0 = mk_clock_now_ms();
    assert_int_equal(mk_wire_recv_by(sv[0], &type, &p, &n, 1024, t0 + 150), -1);
    double took = mk_clock_now_ms() - t0;
    assert_int_equal(errno, ETIMEDOUT);
    assert_null(p);
    assert_true(took >= 150 && took < 1000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(sv[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_torn_and_oversized),
        cmocka_unit_test(test_send_to_closed),
        cmocka_unit_test(test_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
