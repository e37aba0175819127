// The LDAP source's pure parts: ldap.yaml errors name file, line and key;
// the defaults (FreeIPA's layout, a timeout under 2 s); the DN helpers and
// the filter escaping that keeps a name from widening a search.
#include <string>

#include "cmocka_cxx.h"
#include "ldap_client.h"
#include "tlog/policy/ldap_source.h"

using namespace tlog::policy;

namespace {

struct ErrorCase {
    const char* text;
    uint64_t line;
    const char* field;
    const char* message;
};

void test_config_errors(void**) {
    const ErrorCase cases[] = {
        {"uri: ldap://a\nbase: dc=x\nbogus: 1\n", 3, "bogus", "unknown key"},
        {"uri: ldap://a\nbase: dc=x\nbind:\n  method: kerberos\n", 4, "bind.method",
         "none, simple, external or gssapi"},
        {"uri: http://a\nbase: dc=x\n", 1, "uri", "ldap://, ldaps:// or ldapi://"},
        {"uri: ldap://a\nbase: dc=x\ntimeout: 0\n", 3, "timeout", "between 0 and 60"},
        {"uri: ldap://a\nbase: dc=x\ntimeout: 61\n", 3, "timeout", "between 0 and 60"},
        {"uri: ldap://a\nbase: dc=x\nbind:\n  method: simple\n", 4, "bind", "needs dn and password_file"},
        {"uri: ldap://a\nbase: dc=x\ntls:\n  starttls: maybe\n", 4, "tls.starttls", "true or false"},
        {"uri: ldap://a\nbase: dc=x\nbases:\n  rulez: cn=r\n", 4, "bases.rulez", "unknown key"},
        {"uri: ldap://a\nbase: dc=x\npage_size: 0\n", 3, "page_size", "1 to 99999"},
        {"uri: ldap://a\nbase: dc=x\nuri: ldap://b\n", 3, "uri", "duplicate key"},
        {"uri: ldap://a\nbase: dc=x\ndeadline: 0\n", 3, "deadline", "1 to 3600"},
    };
    for (const auto& c : cases) {
        try {
            load_ldap_config_text(c.text, "/etc/tlog/ldap.yaml");
            fail_msg("accepted: %s", c.text);
        } catch (const tlog::InputError& e) {
            const std::string what = e.what();
            if (e.where().file != "/etc/tlog/ldap.yaml" || e.where().line != c.line ||
                e.where().field.find(c.field) == std::string::npos || what.find(c.message) == std::string::npos)
                fail_msg("%s\n-> %s (line %lu)", c.text, what.c_str(), static_cast<unsigned long>(e.where().line));
        }
    }
    try {
        load_ldap_config_text("base: dc=x\n", "f");
        fail_msg("a configuration without uri was accepted");
    } catch (const tlog::InputError& e) {
        assert_true(std::string(e.what()).find("uri is required") != std::string::npos);
    }
}

void test_config_defaults(void**) {
    LdapConfig c = load_ldap_config_text("uri: [ldaps://a, ldaps://b]\nbase: dc=example,dc=com\n", "f");
    assert_int_equal(c.uris.size(), 2);
    assert_true(c.timeout < 2.0);
    assert_true(c.bind == BindMethod::None);
    assert_str_eq(c.rules_base, "cn=rules,cn=sessionrecording,dc=example,dc=com");
    assert_str_eq(c.groups_base, "cn=groups,cn=accounts,dc=example,dc=com");
    assert_str_eq(c.servicegroups_base, "cn=hbacservicegroups,cn=hbac,dc=example,dc=com");
    assert_str_eq(c.access_base, "cn=access,cn=sessionrecording,dc=example,dc=com");
    assert_str_eq(c.retention_base, "cn=retention,cn=sessionrecording,dc=example,dc=com");
    c = load_ldap_config_text("uri: ldap://a\nbase: dc=x\nbases:\n  users: ou=people,dc=x\n  retention: ou=keep,dc=x\n",
                              "f");
    assert_str_eq(c.users_base, "ou=people,dc=x");
    assert_str_eq(c.retention_base, "ou=keep,dc=x");
    assert_str_eq(c.hosts_base, "cn=computers,cn=accounts,dc=x");
}

void test_dn_helpers(void**) {
    using namespace tlog::policy::ldapc;
    assert_str_eq(normalize_dn("CN=Admins, cn=Groups,  DC=Example ,dc=com"), "cn=admins,cn=groups,dc=example,dc=com");
    assert_true(dn_under("uid=a,cn=users,cn=accounts,dc=x", "cn=Accounts, DC=x"));
    assert_true(dn_under("cn=accounts,dc=x", "cn=accounts,dc=x"));
    assert_false(dn_under("uid=a,cn=xaccounts,dc=x", "cn=accounts,dc=x"));
    assert_false(dn_under("dc=x", "cn=accounts,dc=x"));
    std::string attr;
    assert_str_eq(rdn_value("fqdn=web1.example.com,cn=computers,dc=x", &attr), "web1.example.com");
    assert_str_eq(attr, "fqdn");
    assert_str_eq(rdn_value("cn=a\\,b,dc=x"), "a,b");
    assert_str_eq(rdn_value("UID=Bob,dc=x", &attr), "Bob");
    assert_str_eq(attr, "uid");
    // A name with filter syntax cannot widen a search (ldap find TEXT).
    assert_str_eq(filter_escape("*)(cn=*"), "\\2a\\29\\28cn=\\2a");
    assert_str_eq(filter_escape("a\\b"), "a\\5cb");
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_dn_helpers),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
