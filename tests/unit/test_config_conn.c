/* test_config_conn — the executor configuration's `connections` section
 * (runtime/config.c; docs/executor.md, "The executor's configuration"):
 * every key read into mk_config_conn with its default, and each wrong value
 * refused naming the file and the key — a password in the conninfo, a list
 * of hosts, a hostaddr that is a name, a program found through PATH, a
 * credential_ttl without a command, an address prefix with host bits, a
 * duration out of range, an unknown key. And the address rules themselves
 * (runtime/netaddr.c): which addresses are refused, IPv4 in IPv6 clothing
 * judged as IPv4. */
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "runtime/config.h"
#include "runtime/netaddr.h"
#include "tests/unit/cfgload.h"

static char dir[64];

static int setup(void **st)
{
    (void)st;
    mk_test_tmpdir(dir, "/tmp/moksha-unit-cfgconn.XXXXXX");
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    mk_test_rmdir(dir);
    unsetenv("MOKSHA_EXEC_CONFIG");
    return 0;
}

/* A configuration whose connection "dev" is conn (JSON text). */
static bool load(const char *conn, mk_config *cfg, char *why, size_t whylen)
{
    char body[4096];
    snprintf(body, sizeof body, "{\"dev\": %s}", conn);
    return mk_test_cfg_load(dir, "connections", body, cfg, why, whylen);
}

static void refused(const char *conn, const char *key, const char *words)
{
    char body[4096];
    snprintf(body, sizeof body, "{\"dev\": %s}", conn);
    mk_test_cfg_refused(dir, "connections", body, key, words);
}

static void test_defaults(void **st)
{
    (void)st;
    mk_config cfg;
    char why[1024];
    assert_true(load("{\"kind\": \"postgres\", \"conninfo\": \"host=/run/postgresql user=deploy\"}", &cfg, why, sizeof why));
    assert_int_equal(cfg.nconns, 1);
    const mk_config_conn *cc = mk_config_conn_find(&cfg, "dev");
    assert_non_null(cc);
    assert_null(mk_config_conn_find(&cfg, "prod"));
    assert_string_equal(cc->kind, "postgres");
    assert_string_equal(cc->conninfo, "host=/run/postgresql user=deploy");
    assert_null(cc->password_command);
    assert_true(cc->credential_ttl_ms == 15 * 60 * 1000.0);
    assert_true(cc->connect_timeout_ms == 10 * 1000.0);
    assert_true(cc->statement_timeout_ms == 60 * 1000.0);
    assert_false(cc->allow_cleartext_password);
    assert_false(cc->allow_unverified_tls);
    assert_int_equal(cc->nallow_addresses, 0);
    assert_null(cc->self_hosted);
    mk_config_free(&cfg);
}

static void test_every_key(void **st)
{
    (void)st;
    mk_config cfg;
    char why[1024];
    bool ok = load("{\"kind\": \"postgres\", \"conninfo\": \"host=db.internal port=5433 user=deploy sslmode=verify-full\", "
                   "\"password_command\": [\"/usr/local/bin/db-token\", \"--role\", \"deploy\"], \"credential_ttl\": \"5m\", "
                   "\"allow_cleartext_password\": true, \"allow_unverified_tls\": true, \"allow_fault_injection\": true, "
                   "\"allow_addresses\": [\"169.254.10.0/24\", \"fd00:ec2::254\"], \"connect_timeout\": \"3s\", "
                   "\"statement_timeout\": \"90s\"}", &cfg, why, sizeof why);
    if (!ok)
        fail_msg("%s", why);
    const mk_config_conn *cc = &cfg.conns[0];
    assert_int_equal(cc->npassword_command, 3);
    assert_string_equal(cc->password_command[0], "/usr/local/bin/db-token");
    assert_string_equal(cc->password_command[2], "deploy");
    assert_null(cc->password_command[3]);
    assert_true(cc->credential_ttl_ms == 5 * 60 * 1000.0);
    assert_true(cc->allow_cleartext_password);
    assert_true(cc->allow_unverified_tls);
    assert_true(cc->allow_fault_injection);
    assert_int_equal(cc->nallow_addresses, 2);
    assert_string_equal(cc->allow_addresses[1], "fd00:ec2::254");
    assert_true(cc->connect_timeout_ms == 3000.0);
    assert_true(cc->statement_timeout_ms == 90000.0);
    mk_config_free(&cfg);
}

static void test_refusals(void **st)
{
    (void)st;
    const char *k = "\"kind\": \"postgres\", \"conninfo\": \"host=db\"";
    char c[1024];
    refused("[]", "connections.dev", "expected {");
    refused("{\"conninfo\": \"\"}", "connections.dev.kind", "expected \"postgres\"");
    refused("{\"kind\": \"postgres\"}", "connections.dev.conninfo", "missing: where the server is");
    refused("{\"kind\": \"mysql\"}", "connections.dev.kind", "expected \"postgres\"");
#define R(extra, key, words) (snprintf(c, sizeof c, "{%s, %s}", k, extra), refused(c, key, words))
#define RC(extra, key, words) (snprintf(c, sizeof c, "{\"kind\": \"postgres\", %s}", extra), refused(c, key, words))
    R("\"host\": \"x\"", "connections.dev.host", "unknown setting");
    RC("\"conninfo\": \"host=db password=hunter2\"", "connections.dev.conninfo", "a password in the connection string is refused");
    RC("\"conninfo\": \"postgresql://u:hunter2@db/x\"", "connections.dev.conninfo", "a password");
    RC("\"conninfo\": \"host=db sslpassword=k\"", "connections.dev.conninfo", "`sslpassword` is refused");
    RC("\"conninfo\": \"service=prod\"", "connections.dev.conninfo", "`service` is refused");
    RC("\"conninfo\": \"host=a,b\"", "connections.dev.conninfo", "one server per connection: `host` is a list");
    RC("\"conninfo\": \"host=a port=1,2\"", "connections.dev.conninfo", "`port` is a list");
    RC("\"conninfo\": \"hostaddr=db.example.com\"", "connections.dev.conninfo", "`hostaddr` is not a numeric address");
    RC("\"conninfo\": \"host=db sslmode=verify\"", "connections.dev.conninfo", "`sslmode` is not one of");
    RC("\"conninfo\": \"host=db channel_binding=yes\"", "connections.dev.conninfo", "`channel_binding` is not one of");
    R("\"password_command\": \"/bin/token\"", "connections.dev.password_command", "expected a command as a list");
    R("\"password_command\": []", "connections.dev.password_command", "expected a command as a list");
    R("\"password_command\": [\"db-token\"]", "connections.dev.password_command[0]", "absolute path");
    R("\"password_command\": [\"/usr/../bin/sh\"]", "connections.dev.password_command[0]", "absolute path without `..`");
    R("\"password_command\": [\"/bin/t\", 5]", "connections.dev.password_command[1]", "expected a string");
    R("\"credential_ttl\": \"5m\"", "connections.dev.credential_ttl", "there is no password_command");
    R("\"password_command\": [\"/bin/t\"], \"credential_ttl\": \"0s\"", "connections.dev.credential_ttl", "1s to 24h");
    R("\"password_command\": [\"/bin/t\"], \"credential_ttl\": 300", "connections.dev.credential_ttl", "expected a duration");
    R("\"allow_cleartext_password\": \"yes\"", "connections.dev.allow_cleartext_password", "expected true or false");
    R("\"allow_unverified_tls\": 1", "connections.dev.allow_unverified_tls", "expected true or false");
    R("\"allow_addresses\": \"169.254.0.0/16\"", "connections.dev.allow_addresses", "expected a list");
    R("\"allow_addresses\": [\"169.254.169.254/16\"]", "connections.dev.allow_addresses[0]",
      "has bits set past its prefix: the network is 169.254.0.0/16");
    R("\"allow_addresses\": [\"10.0.0.0/33\"]", "connections.dev.allow_addresses[0]", "not 0 to 32");
    R("\"allow_addresses\": [\"10.0.0.0/\"]", "connections.dev.allow_addresses[0]", "not 0 to 32");
    R("\"allow_addresses\": [\"metadata.google.internal\"]", "connections.dev.allow_addresses[0]", "expected an address");
    R("\"allow_addresses\": [\"::ffff:169.254.0.0/80\"]", "connections.dev.allow_addresses[0]", "96 or more");
    R("\"allow_addresses\": [7]", "connections.dev.allow_addresses[0]", "as a string");
    /* note [widest allowance]: wider than any refused range is the rule off */
    R("\"allow_addresses\": [\"10.0.0.0/8\", \"0.0.0.0/0\"]", "connections.dev.allow_addresses[1]",
      "0.0.0.0/0 is wider than /8: it would let through every range the rule refuses, not open one (the widest "
      "refused is 0.0.0.0/8)");
    R("\"allow_addresses\": [\"128.0.0.0/1\"]", "connections.dev.allow_addresses[0]", "wider than /8");
    R("\"allow_addresses\": [\"::/0\"]", "connections.dev.allow_addresses[0]", "::/0 is wider than /10");
    R("\"allow_addresses\": [\"fe80::/9\"]", "connections.dev.allow_addresses[0]", "wider than /10");
    R("\"allow_addresses\": [\"::ffff:0.0.0.0/96\"]", "connections.dev.allow_addresses[0]", "wider than /8");
    R("\"allow_fault_injection\": \"yes\"", "connections.dev.allow_fault_injection", "expected true or false");
    R("\"connect_timeout\": \"0.5s\"", "connections.dev.connect_timeout", "1s to 1h");
    R("\"connect_timeout\": \"2h\"", "connections.dev.connect_timeout", "1s to 1h");
    R("\"statement_timeout\": \"soon\"", "connections.dev.statement_timeout", "1ms to 24h");
#undef R
#undef RC
    mk_config cfg;
    char why[1024];
    assert_false(load("{\"kind\": \"postgres\", \"conninfo\": \"\"}, \"BAD NAME\": {\"kind\": \"postgres\"}", &cfg, why, sizeof why));
    assert_non_null(strstr(why, "key `connections.BAD NAME`: a connection's name is 1 to 63"));
}

static void refused_addr(const char *text, const char *words)
{
    mk_netaddr a;
    assert_true(mk_netaddr_parse(text, &a));
    const char *w = mk_netaddr_refused(&a);
    if (!w || !strstr(w, words))
        fail_msg("%s: %s (wanted %s)", text, w ? w : "allowed", words);
}

static void test_address_rules(void **st)
{
    (void)st;
    refused_addr("169.254.169.254", "link-local (169.254.0.0/16");
    refused_addr("::ffff:169.254.169.254", "link-local (169.254.0.0/16");
    refused_addr("64:ff9b::a9fe:a9fe", "link-local (169.254.0.0/16");
    refused_addr("fe80::1", "link-local (fe80::/10)");
    refused_addr("febf::1", "link-local (fe80::/10)");
    refused_addr("fd00:ec2::254", "AWS");
    refused_addr("100.100.100.200", "Alibaba");
    refused_addr("168.63.129.16", "Azure");
    refused_addr("0.0.0.0", "this network");
    refused_addr("::", "unspecified");
    /* the local-use NAT64 prefix: its /96 form judged as the IPv4 address,
     * its other forms (the IPv4 part where only that network knows) refused */
    refused_addr("64:ff9b:1::a9fe:a9fe", "link-local (169.254.0.0/16");
    refused_addr("64:ff9b:1::169.254.169.254", "link-local (169.254.0.0/16");
    refused_addr("64:ff9b:1:a9fe:a9:fe00::", "local-use NAT64 (64:ff9b:1::/48)");
    /* IPv4-compatible ::a.b.c.d (deprecated): refused whatever it carries */
    refused_addr("::169.254.169.254", "IPv4-compatible");
    refused_addr("::10.0.0.1", "IPv4-compatible");
    refused_addr("::0.0.0.2", "IPv4-compatible");
    const char *fine[] = {"127.0.0.1", "::1", "10.1.2.3", "169.255.0.1", "fec0::1", "192.168.1.1", "fd00:ec2::253",
                          "64:ff9b:1::a00:1", "64:ff9b::a00:1", "64:ff9b:2::1"};
    for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
        mk_netaddr a;
        assert_true(mk_netaddr_parse(fine[i], &a));
        if (mk_netaddr_refused(&a))
            fail_msg("%s refused", fine[i]);
    }
    mk_netaddr a;
    mk_netaddr_cidr c;
    char why[160], buf[64];
    assert_true(mk_netaddr_parse("::ffff:127.0.0.5", &a));
    assert_int_equal(a.family, AF_INET);
    assert_true(mk_netaddr_loopback(&a));
    assert_string_equal(mk_netaddr_text(&a, buf, sizeof buf), "127.0.0.5");
    assert_false(mk_netaddr_parse("127.1", &a));
    assert_true(mk_netaddr_cidr_parse("169.254.10.0/24", &c, why, sizeof why));
    assert_true(mk_netaddr_parse("169.254.10.77", &a) && mk_netaddr_in(&a, &c));
    assert_true(mk_netaddr_parse("169.254.11.1", &a) && !mk_netaddr_in(&a, &c));
    assert_true(mk_netaddr_cidr_parse("::ffff:169.254.10.0/120", &c, why, sizeof why));
    assert_int_equal(c.bits, 24);
    assert_true(mk_netaddr_cidr_parse("fe80::/10", &c, why, sizeof why));
    assert_true(mk_netaddr_parse("fe80::1", &a) && mk_netaddr_in(&a, &c));
    assert_true(mk_netaddr_parse("169.254.0.1", &a) && !mk_netaddr_in(&a, &c));
    assert_true(mk_netaddr_cidr_parse("0.0.0.0/0", &c, why, sizeof why));
    assert_true(mk_netaddr_parse("8.8.8.8", &a) && mk_netaddr_in(&a, &c));
    assert_false(mk_netaddr_allow_parse("0.0.0.0/0", &c, why, sizeof why)); /* a prefix, but no allowance */
    assert_true(mk_netaddr_allow_parse("0.0.0.0/8", &c, why, sizeof why));
    assert_true(mk_netaddr_allow_parse("fe80::/10", &c, why, sizeof why));
    assert_true(mk_netaddr_allow_parse("::ffff:169.254.0.0/112", &c, why, sizeof why));
    assert_true(mk_netaddr_parse("64:ff9b:1::7f00:1", &a) && mk_netaddr_loopback(&a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test(test_address_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
