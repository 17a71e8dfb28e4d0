/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the [diameter] settings (service/diameter/peers.c) and of
 * their keys in the configuration parser (service/core/config.c).
 */
#include "locguard/core/config.h"
#include "locguard/diameter/peers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>

#define DB "[database]\nconninfo = x\n"
#define TLS_SECTION                                                                                \
    "[diameter]\n"                                                                                 \
    "identity = scef.locguard.example\n"                                                           \
    "realm = locguard.example\n"                                                                   \
    "listen = 0.0.0.0:5868\n"                                                                      \
    "cert = s.pem\n"                                                                               \
    "key = s.key\n"                                                                                \
    "ca = ca.pem\n"                                                                                \
    "peer = mme1.epc.example mme-1\n"                                                              \
    "peer = sgsn1.epc.example sgsn-1\n"

static int parse(lg_config_t *cfg, const char *text, char *err, size_t size)
{
    unsetenv("LOCGUARD_DATABASE");
    lg_config_defaults(cfg);
    int rc = lg_config_parse(cfg, text, "test.conf", err, size);
    return rc;
}

static void test_peer_line_is_an_identity_and_a_node(void **state)
{
    (void)state;
    lg_dia_peer_config_t p;
    assert_int_equal(lg_diameter_parse_peer("mme1.epc.example  mme-1", &p), LG_OK);
    assert_string_equal(p.identity, "mme1.epc.example");
    assert_string_equal(p.node, "mme-1");
    static const char *const bad[] = {
        "mme1.epc.example",             /* no node */
        "mme1.epc.example mme-1 extra", /* a third word */
        "mme1_epc.example mme-1",       /* '_' in an identity */
        ".mme1 mme-1",                  /* starts with a dot */
        "mme1.epc.example mme/1",       /* '/' in a node name */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(lg_diameter_parse_peer(bad[i], &p), LG_ERR);
    char longid[400];
    memset(longid, 'a', sizeof longid);
    strcpy(longid + 300, " mme-1");
    assert_int_equal(lg_diameter_parse_peer(longid, &p), LG_ERR);
}

static void test_diameter_section_fills_the_zone_settings(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256] = "";
    assert_int_equal(parse(&cfg, DB TLS_SECTION, err, sizeof err), LG_OK);
    const lg_diameter_config_t *d = &cfg.diameter;
    assert_string_equal(d->identity, "scef.locguard.example");
    assert_string_equal(d->realm, "locguard.example");
    assert_string_equal(d->host, "0.0.0.0");
    assert_int_equal(d->port, 5868);
    assert_false(d->is_plain_tcp);
    assert_int_equal(d->queue_max, 10000);
    assert_int_equal(d->tw_timer_s, 30);
    assert_int_equal(d->n_peers, 2);
    assert_string_equal(d->peers[1].identity, "sgsn1.epc.example");
    assert_string_equal(d->peers[1].node, "sgsn-1");
    assert_ptr_equal(lg_diameter_find_peer(d, "SGSN1.epc.example", 17), &d->peers[1]);
    assert_null(lg_diameter_find_peer(d, "sgsn1.epc.exampl", 16));
    assert_null(lg_diameter_find_peer(d, "amf1.epc.example", 16));
    lg_config_cleanup(&cfg);
}

static void test_no_diameter_section_is_no_zone(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256] = "";
    assert_int_equal(parse(&cfg, DB, err, sizeof err), LG_OK);
    assert_null(cfg.diameter.identity);
    assert_int_equal(cfg.diameter.n_peers, 0);
    lg_config_cleanup(&cfg);
}

static void test_tls_needs_certificates_unless_plain_tcp(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256] = "";
    static const char no_ca[] =
        DB "[diameter]\nidentity = a.b\nrealm = b\nlisten = 127.0.0.1:3868\n"
           "cert = s.pem\nkey = s.key\npeer = m.b mme-1\n";
    assert_int_equal(parse(&cfg, no_ca, err, sizeof err), LG_ERR);
    assert_non_null(strstr(err, "cert, key and ca are required"));
    lg_config_cleanup(&cfg);
    static const char plain[] =
        DB "[diameter]\nidentity = a.b\nrealm = b\nlisten = 127.0.0.1:3868\n"
           "plain_tcp = 1\npeer = m.b mme-1\n";
    assert_int_equal(parse(&cfg, plain, err, sizeof err), LG_OK);
    assert_true(cfg.diameter.is_plain_tcp);
    lg_config_cleanup(&cfg);
}

static void test_hss_keys_and_their_checks(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256] = "";

    assert_int_equal(parse(&cfg, DB TLS_SECTION, err, sizeof err), LG_OK);
    assert_null(cfg.diameter.hss); /* no hss: no S6t */
    assert_int_equal(cfg.diameter.hss_sync_s, 60);
    assert_int_equal(cfg.diameter.hss_retry_s, 30);
    assert_int_equal(cfg.diameter.hss_timeout_s, 10);
    lg_config_cleanup(&cfg);
    static const char good[] = DB TLS_SECTION "hss = hss1.epc.example\n"
                                              "hss_connect = 10.0.0.5:5868\n"
                                              "hss_realm = epc.example\nhss_sync_s = 5\n";
    assert_int_equal(parse(&cfg, good, err, sizeof err), LG_OK);
    assert_string_equal(cfg.diameter.hss, "hss1.epc.example");
    assert_string_equal(cfg.diameter.hss_host, "10.0.0.5");
    assert_int_equal(cfg.diameter.hss_port, 5868);
    assert_string_equal(cfg.diameter.hss_realm, "epc.example");
    assert_int_equal(cfg.diameter.hss_sync_s, 5);
    lg_config_cleanup(&cfg);
    static const struct {
        const char *text, *why;
    } bad[] = {
        {DB TLS_SECTION "hss = hss1.epc.example\n", "hss_connect = HOST:PORT is required"},
        {DB TLS_SECTION "hss = mme1.epc.example\nhss_connect = 10.0.0.5:5868\n",
         "the hss is also a peer"},
        {DB TLS_SECTION "hss = hss_1\nhss_connect = 10.0.0.5:5868\n", "hss must be"},
        {DB TLS_SECTION "hss_connect = 10.0.0.5:5868\n", "need hss = IDENTITY"},
        {DB TLS_SECTION "hss = h.e\nhss_connect = 10.0.0.5:5868\nhss_sync_s = 0\n", "hss_sync_s"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(parse(&cfg, bad[i].text, err, sizeof err), LG_ERR);
        if (strstr(err, bad[i].why) == NULL)
            fail_msg("case %zu: %s", i, err);
        lg_config_cleanup(&cfg);
    }
}

static void test_bad_sections_are_refused(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256];
    static const struct {
        const char *text, *why;
    } cases[] = {
        {DB "[diameter]\nidentity = a.b\nrealm = b\nlisten = 127.0.0.1:3868\nplain_tcp = 1\n",
         "at least one peer"},
        {DB "[diameter]\nidentity = a.b\nrealm = b\nlisten = 127.0.0.1:3868\nplain_tcp = 1\n"
            "peer = m.b mme-1\npeer = M.B mme-2\n",
         "configured twice"},
        {DB "[diameter]\nidentity = a.b\nrealm = b\nplain_tcp = 1\npeer = m.b mme-1\n", "listen"},
        {DB "[diameter]\nidentity = a.b\nrealm = b\nlisten = 127.0.0.1:0\nplain_tcp = 1\n"
            "peer = m.b mme-1\n",
         "listen"},
        {DB "[diameter]\nidentity = a b\n", "identity"},
        {DB "[diameter]\npeer = only-one-word\n", "bad value for \"peer\""},
        {DB "[diameter]\nsecret = 1\n", "unknown key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        assert_int_equal(parse(&cfg, cases[i].text, err, sizeof err), LG_ERR);
        if (strstr(err, cases[i].why) == NULL)
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err, cases[i].why);
        lg_config_cleanup(&cfg);
    }
}

static void test_more_peers_than_the_table_holds_is_an_error(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256] = "";
    char *text = malloc(64 * 1024);
    size_t n = (size_t)sprintf(text, DB "[diameter]\nidentity = a.b\nrealm = b\n"
                                        "listen = 127.0.0.1:3868\nplain_tcp = 1\n");
    for (int i = 0; i <= LG_DIA_PEERS_MAX; i++)
        n += (size_t)sprintf(text + n, "peer = m%d.b node-%d\n", i, i);
    assert_int_equal(parse(&cfg, text, err, sizeof err), LG_ERR);
    assert_non_null(strstr(err, "peer"));
    lg_config_cleanup(&cfg);
    free(text);
}

/* Self-signed, made with openssl for this test: SAN DNS:mme1.epc.test, CN other.epc.test. */
static const char cert_san[] = "-----BEGIN CERTIFICATE-----\n"
                               "MIIBpDCCAUmgAwIBAgIUOcHooOomi+Wi2E1mVGk83lTN2owwCgYIKoZIzj0EAwIw\n"
                               "GTEXMBUGA1UEAwwOb3RoZXIuZXBjLnRlc3QwIBcNMjYxMjA3MTUzODM3WhgPMjEy\n"
                               "NjExMTMxNTM4MzdaMBkxFzAVBgNVBAMMDm90aGVyLmVwYy50ZXN0MFkwEwYHKoZI\n"
                               "zj0CAQYIKoZIzj0DAQcDQgAEg9t6FZjLW+x2wJqpfWlWlR4vW3Rn+SJy3sXeqBS9\n"
                               "IiTQ3W4rkJ+YzIKCA05Lcy+fUKwP4YFfW8Cteo+RhvP5E6NtMGswHQYDVR0OBBYE\n"
                               "FKENz6TsrwTrtuHMkP333Cu6bYB1MB8GA1UdIwQYMBaAFKENz6TsrwTrtuHMkP33\n"
                               "3Cu6bYB1MA8GA1UdEwEB/wQFMAMBAf8wGAYDVR0RBBEwD4INbW1lMS5lcGMudGVz\n"
                               "dDAKBggqhkjOPQQDAgNJADBGAiEA2K+aJDxGlSidtKif8RvgCrUnJuhYGkZd+x8e\n"
                               "Of7RCFsCIQD2JcithPX2CZGvLP1XMGKva918LHew8MYQ/WOZ1+6mAw==\n"
                               "-----END CERTIFICATE-----\n";

/* CN mme2.epc.test, no subjectAltName. */
static const char cert_cn[] = "-----BEGIN CERTIFICATE-----\n"
                              "MIIBiDCCAS2gAwIBAgIUKxLh6JSLv3ngwBvudiUlwGtsER0wCgYIKoZIzj0EAwIw\n"
                              "GDEWMBQGA1UEAwwNbW1lMi5lcGMudGVzdDAgFw0yNjEyMDcxNTM4MzdaGA8yMTI2\n"
                              "MTExMzE1MzgzN1owGDEWMBQGA1UEAwwNbW1lMi5lcGMudGVzdDBZMBMGByqGSM49\n"
                              "AgEGCCqGSM49AwEHA0IABL4CiMB7bx3fbabhBMA7BX1N/FaRSpN8NMdubdxR91nP\n"
                              "dum9ZDKdNV8mDl3dXZlfP3/5aOL5+jHF8AeKpOjr2XejUzBRMB0GA1UdDgQWBBRe\n"
                              "NzkFBdk8T3ZQRQ5BhIs37i6FbjAfBgNVHSMEGDAWgBReNzkFBdk8T3ZQRQ5BhIs3\n"
                              "7i6FbjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCo+HeMsP09\n"
                              "VDLvwje85AyX6UIgZ3IIna/p03uCrH4kAQIhAPDjA4F5cySB2NKcLqDzK/i93RxY\n"
                              "I3RDjFYW0KonoSeG\n"
                              "-----END CERTIFICATE-----\n";

/* The DER of a PEM certificate, in der (at most size octets); its length. */
static size_t der_of(const char *pem, unsigned char *der, size_t size)
{
    gnutls_datum_t in = {.data = (unsigned char *)(uintptr_t)pem, .size = (unsigned)strlen(pem)};
    gnutls_datum_t out;
    assert_int_equal(gnutls_pem_base64_decode2("CERTIFICATE", &in, &out), 0);
    assert_true(out.size <= size);
    memcpy(der, out.data, out.size);
    size_t n = out.size;
    gnutls_free(out.data);
    return n;
}

static void test_certificate_must_name_the_identity(void **state)
{
    (void)state;
    unsigned char der[2048];
    size_t n = der_of(cert_san, der, sizeof der);
    assert_true(lg_diameter_cert_names(der, n, "mme1.epc.test"));
    assert_true(lg_diameter_cert_names(der, n, "MME1.epc.test"));
    assert_false(lg_diameter_cert_names(der, n, "mme2.epc.test"));
    assert_false(lg_diameter_cert_names(der, n, "other.epc.test"));    /* the CN, with a SAN */
    assert_false(lg_diameter_cert_names(der, n - 1, "mme1.epc.test")); /* cut short */
    assert_false(lg_diameter_cert_names(NULL, 0, "mme1.epc.test"));
    n = der_of(cert_cn, der, sizeof der);
    assert_true(lg_diameter_cert_names(der, n, "mme2.epc.test"));
    assert_false(lg_diameter_cert_names(der, n, "mme1.epc.test"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_line_is_an_identity_and_a_node),
        cmocka_unit_test(test_diameter_section_fills_the_zone_settings),
        cmocka_unit_test(test_no_diameter_section_is_no_zone),
        cmocka_unit_test(test_tls_needs_certificates_unless_plain_tcp),
        cmocka_unit_test(test_hss_keys_and_their_checks),
        cmocka_unit_test(test_bad_sections_are_refused),
        cmocka_unit_test(test_more_peers_than_the_table_holds_is_an_error),
        cmocka_unit_test(test_certificate_must_name_the_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
