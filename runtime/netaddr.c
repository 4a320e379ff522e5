/* netaddr — numeric addresses, prefixes and the ranges a provider refuses
 * (netaddr.h). */
#include "runtime/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* An IPv6 address that carries an IPv4 one reaches it: judge it as that.
 * IPv4-mapped (::ffff:0:0/96), well-known NAT64 (64:ff9b::/96) and the
 * local-use NAT64 prefix (64:ff9b:1::/48, RFC 8215) in its /96 form; the
 * other forms of the local-use prefix, whose IPv4 part sits where only the
 * network's own NAT64 knows, are refused by mk_netaddr_refused. */
static void unwrap_v4(mk_netaddr *a)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char local64[12] = {0, 0x64, 0xff, 0x9b, 0, 1, 0, 0, 0, 0, 0, 0};
    if (a->family == AF_INET6 &&
        (!memcmp(a->b, mapped, 12) || !memcmp(a->b, nat64, 12) || !memcmp(a->b, local64, 12))) {
        memmove(a->b, a->b + 12, 4);
        memset(a->b + 4, 0, 12);
        a->family = AF_INET;
    }
}

bool mk_netaddr_parse(const char *s, mk_netaddr *a)
{
    memset(a, 0, sizeof *a);
    if (!s)
        return false;
    if (inet_pton(AF_INET, s, a->b) == 1)
        return a->family = AF_INET, true;
    if (inet_pton(AF_INET6, s, a->b) != 1)
        return false;
    a->family = AF_INET6;
    unwrap_v4(a);
    return true;
}

bool mk_netaddr_from_sockaddr(const struct sockaddr *sa, mk_netaddr *a)
{
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET) {
        memcpy(a->b, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        a->family = AF_INET;
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    memcpy(a->b, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    a->family = AF_INET6;
    unwrap_v4(a);
    return true;
}

static int width(const mk_netaddr *a) { return a->family == AF_INET ? 32 : 128; }

bool mk_netaddr_cidr_parse(const char *s, mk_netaddr_cidr *c, char *why, size_t whylen)
{
    char text[64];
    const char *slash = s ? strchr(s, '/') : NULL;
    size_t n = s ? (slash ? (size_t)(slash - s) : strlen(s)) : sizeof text;
    if (n >= sizeof text)
        return snprintf(why, whylen, "expected an address or a prefix (\"169.254.0.0/16\", \"fd00:ec2::/32\")"), false;
    memcpy(text, s, n);
    text[n] = 0;
    bool v6text = strchr(text, ':') != NULL;
    if (!mk_netaddr_parse(text, &c->net))
        return snprintf(why, whylen, "expected an address or a prefix (\"169.254.0.0/16\", \"fd00:ec2::/32\")"), false;
    int max = v6text ? 128 : 32, bits = max;
    if (slash) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || v < 0 || v > max || slash[1] == '+' || slash[1] == '-' || slash[1] == ' ')
            return snprintf(why, whylen, "the prefix length of %s is not 0 to %d", s, max), false;
        bits = (int)v;
    }
    if (v6text && c->net.family == AF_INET) { /* ::ffff:a.b.c.d/N: the IPv4 part's prefix */
        if (bits < 96)
            return snprintf(why, whylen, "%s: an IPv4 address written as IPv6 takes a prefix of 96 or more", s), false;
        bits -= 96;
    }
    c->bits = bits;
    for (int i = bits; i < width(&c->net); i++)
        if (c->net.b[i / 8] & (0x80 >> (i % 8))) {
            mk_netaddr_cidr net = *c;
            for (int j = bits; j < width(&net.net); j++)
                net.net.b[j / 8] &= (unsigned char)~(0x80 >> (j % 8));
            char buf[64];
            return snprintf(why, whylen, "%s has bits set past its prefix: the network is %s/%d", s,
                            mk_netaddr_text(&net.net, buf, sizeof buf), bits), false;
        }
    return true;
}

/* note [widest allowance]: the widest ranges refused are 0.0.0.0/8 and
 * fe80::/10; an allowance wider than /8 (IPv4) or /10 (IPv6) lets through
 * more than any refused range holds, which is the rule turned off for the
 * family, not a range opened. */
bool mk_netaddr_allow_parse(const char *s, mk_netaddr_cidr *c, char *why, size_t whylen)
{
    if (!mk_netaddr_cidr_parse(s, c, why, whylen))
        return false;
    int min = c->net.family == AF_INET ? 8 : 10;
    if (c->bits >= min)
        return true;
    snprintf(why, whylen, "%s is wider than /%d: it would let through every range the rule refuses, not open one "
             "(the widest refused is %s)", s, min, min == 8 ? "0.0.0.0/8" : "fe80::/10");
    return false;
}

bool mk_netaddr_in(const mk_netaddr *a, const mk_netaddr_cidr *c)
{
    if (a->family != c->net.family)
        return false;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(a->b, c->net.b, (size_t)full) != 0)
        return false;
    return !rest || ((a->b[full] ^ c->net.b[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* note [refused ranges]: where a cloud answers for the machine itself —
 * instance metadata (credentials of the instance's role) and the hosts'
 * own services — is no database server: a connection pointed there by a
 * name that resolves to it is refused unless allow_addresses says so. */
static const struct {
    const char *cidr, *words;
} refused[] = {
    {"169.254.0.0/16", "link-local (169.254.0.0/16, where clouds serve instance metadata)"},
    {"fe80::/10", "link-local (fe80::/10)"},
    {"fd00:ec2::254/128", "AWS's instance metadata (fd00:ec2::254)"},
    {"100.100.100.200/32", "Alibaba Cloud's instance metadata (100.100.100.200)"},
    {"168.63.129.16/32", "Azure's host services (168.63.129.16)"},
    {"0.0.0.0/8", "\"this network\" (0.0.0.0/8), which reaches the machine itself"},
    {"::/128", "the unspecified address (::)"},
};

/* ::a.b.c.d, IPv4-compatible (deprecated; ::/96 but :: and ::1): some
 * stacks still route it to the IPv4 address, which is not judged here. */
static bool compatible_v4(const mk_netaddr *a)
{
    static const unsigned char zero[12] = {0};
    return a->family == AF_INET6 && !memcmp(a->b, zero, 12) && (a->b[12] || a->b[13] || a->b[14] || a->b[15] > 1);
}

/* 64:ff9b:1::/48 past its /96 form (unwrap_v4 took that one): written
 * as a prefix it would itself be unwrapped, so it is compared here. */
static bool local_nat64(const mk_netaddr *a)
{
    static const unsigned char local64[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
    return a->family == AF_INET6 && !memcmp(a->b, local64, 6);
}

const char *mk_netaddr_refused(const mk_netaddr *a)
{
    if (compatible_v4(a))
        return "an IPv4-compatible IPv6 address (::a.b.c.d, deprecated), which may reach the IPv4 address unjudged";
    if (local_nat64(a))
        return "local-use NAT64 (64:ff9b:1::/48) with the IPv4 address it reaches placed where it cannot be judged";
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        mk_netaddr_cidr c;
        char why[8];
        if (mk_netaddr_cidr_parse(refused[i].cidr, &c, why, sizeof why) && mk_netaddr_in(a, &c))
            return refused[i].words;
    }
    return NULL;
}

bool mk_netaddr_loopback(const mk_netaddr *a)
{
    static const unsigned char one[16] = {[15] = 1};
    return (a->family == AF_INET && a->b[0] == 127) || (a->family == AF_INET6 && !memcmp(a->b, one, 16));
}

const char *mk_netaddr_text(const mk_netaddr *a, char *buf, size_t n)
{
    if (!inet_ntop(a->family, a->b, buf, (socklen_t)n))
        snprintf(buf, n, "?");
    return buf;
}
