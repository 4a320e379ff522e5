/* netaddr — IP addresses and CIDR prefixes for the executor's address
 * rules (docs/providers.md, "Rules for every provider"): a provider may not
 * be talked into reaching a link-local or cloud-metadata address unless the
 * connection lets that range through (`allow_addresses`).
 *
 * Only numeric text is read (inet_pton): no name is ever looked up here.
 * An IPv4 address written as IPv6 (::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d
 * and 64:ff9b:1::a.b.c.d) is judged as the IPv4 address it reaches; the
 * forms that hide it (::a.b.c.d, other local-use NAT64) are refused. Not for firewall rules of a
 * stack (the compiler's cidr built-ins are those). */
#ifndef MK_RUNTIME_NETADDR_H
#define MK_RUNTIME_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

/* An address: 4 or 16 bytes; an IPv4 one in IPv6 form is kept as IPv4. */
typedef struct mk_netaddr {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char b[16];
} mk_netaddr;

typedef struct mk_netaddr_cidr {
    mk_netaddr net;
    int bits;                /* 0..32 or 0..128 */
} mk_netaddr_cidr;

/* "10.0.0.1" or "fe80::1" (no prefix) into *a. */
bool mk_netaddr_parse(const char *s, mk_netaddr *a);
/* A socket address (AF_INET/AF_INET6) into *a. */
bool mk_netaddr_from_sockaddr(const struct sockaddr *sa, mk_netaddr *a);
/* "169.254.0.0/16", "fd00:ec2::254" (a bare address: the one address)
 * into *c. False with why when it is not one, or has bits set past its
 * prefix ("169.254.169.254/16" — the network is 169.254.0.0/16). */
bool mk_netaddr_cidr_parse(const char *s, mk_netaddr_cidr *c, char *why, size_t whylen);
/* An allow_addresses entry: a prefix as above, no wider than /8 (IPv4)
 * or /10 (IPv6), else false with why (note [widest allowance]). */
bool mk_netaddr_allow_parse(const char *s, mk_netaddr_cidr *c, char *why, size_t whylen);
bool mk_netaddr_in(const mk_netaddr *a, const mk_netaddr_cidr *c);
/* Why a would be refused: the range's words ("link-local (169.254.0.0/16,
 * where clouds serve instance metadata)"), or NULL when it is not in one. */
const char *mk_netaddr_refused(const mk_netaddr *a);
bool mk_netaddr_loopback(const mk_netaddr *a);
/* The address as text into buf (>= 46 bytes). */
const char *mk_netaddr_text(const mk_netaddr *a, char *buf, size_t n);

#endif
