// Recording rules from an LDAP directory (FreeIPA or plain OpenLDAP/389-ds,
// schema in ldap-schema/): the configuration (ldap.yaml), and the rules read
// from the directory into the same model the YAML loader produces, with the
// directory's groups, host groups and HBAC services resolved.
//
// Linked only into tlog-policy (libtlogpolicy-ldap): pam_tlog and nss_tlog
// read the compiled cache and never link libldap.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "tlog/policy/cache_writer.h"
#include "tlog/policy/rule.h"

namespace tlog::policy {

enum class BindMethod { None, Simple, External, Gssapi };

struct LdapConfig {
    std::string source;             // the configuration file, for messages
    std::vector<std::string> uris;  // tried in order (failover)
    std::string base;               // the directory suffix
    // Where each kind of entry lives; the defaults are FreeIPA's layout under `base`.
    std::string rules_base, users_base, groups_base, hosts_base, hostgroups_base, hbac_base, services_base,
        servicegroups_base;
    std::string access_base;     // viewers' access entries, read by tlog-server (ldap_access.h)
    std::string retention_base;  // retention classes, read by tlog-server (ldap_retention.h)
    std::string host;            // this host's name as the directory knows it; "" = local_hostname()
    BindMethod bind = BindMethod::None;
    std::string bind_dn;                      // simple
    std::string password_file;                // simple: the password, first line
    std::string keytab = "/etc/krb5.keytab";  // gssapi: the host keytab
    bool use_keytab = true;                   // gssapi: false = the caller's own ticket (tlog-policy ldap)
    std::string sasl_authzid;                 // external/gssapi: optional authorization id
    bool starttls = false;                    // ldap:// URIs: StartTLS (required when set)
    std::string ca_file;                      // CA certificates; "" = the system's
    std::string cert_file, key_file;          // client certificate (SASL EXTERNAL over TLS)
    double timeout = 1.5;                     // seconds: connect, and each operation
    int page_size = 500;                      // paged results (RFC 2696)
    int deadline = 60;                        // seconds for a whole sync (the watchdog)
};

// Reads the configuration (YAML, tlog-policy(8) "LDAP CONFIGURATION"). Strict:
// unknown keys and wrong types throw InputError naming the file, line and key.
LdapConfig load_ldap_config(const std::string& path);
LdapConfig load_ldap_config_text(const std::string& text, const std::string& source);

// The directory could not be used (no server answered, a timeout, bind refused).
class LdapError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct LdapRules {
    std::string server;       // the URI that answered
    std::vector<Rule> rules;  // Rule::where.file = "ldap:///" + DN; ordered by cn
    // Host groups keyed by DN (rules name them by DN), members flattened.
    std::map<std::string, std::vector<std::string>> hostgroups;
    // Directory groups by name (cn): gid and every member user, nested groups flattened.
    std::map<std::string, GroupInfo> groups;
    std::vector<std::string> skipped;  // one line per malformed entry: DN, attribute, why
};

// The attributes of a tlogRecordingRule (ldap-schema/tlog.schema) that the
// rule model uses, for searches.
const std::vector<std::string>& rule_attributes();

// Reads every rule and what it refers to. Malformed entries are skipped and
// reported in `skipped`; a directory that cannot be read throws LdapError.
LdapRules fetch_ldap_rules(const LdapConfig& config);

// Adds the directory rules to a local policy (rule names must stay unique:
// an LDAP rule named like a local one is skipped and reported).
void merge_ldap_rules(Policy& policy, const LdapRules& ldap, std::vector<std::string>& skipped);

// Resolves groups from the directory first, then NSS (lookup_group).
GroupResolver ldap_group_resolver(const LdapRules& ldap);

}  // namespace tlog::policy
