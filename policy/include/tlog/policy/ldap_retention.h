// Retention classes (tlogRetentionPolicy, ldap-schema/) from the directory,
// and which class each recording rule (tlogRecordingRule's
// tlogRetentionClass) names, for tlog-server's retention runs. The server
// decides what the classes mean; this reads them.
//
// In libtlogpolicy-ldap, linked by tlog-policy and tlog-server only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tlog/policy/ldap_source.h"

namespace tlog::policy {

struct RetentionPolicyEntry {
    std::string name;  // cn: the class's name
    std::string dn;
    uint64_t days = 0;  // tlogRetentionDays, 1..36500
    bool hold = false;  // tlogRetentionHold: TRUE keeps every recording of the class
};

struct RuleRetention {
    std::string rule;  // the rule's cn: the name the audit start event carries
    std::string dn;
    std::string class_name;  // tlogRetentionClass
};

struct LdapRetention {
    std::string server;                         // the URI that answered
    std::vector<RetentionPolicyEntry> classes;  // ordered by cn, then DN
    // Every rule naming a class, disabled ones too: a rule disabled today
    // made recordings that are still kept by its class.
    std::vector<RuleRetention> rules;  // ordered by cn, then DN
    std::vector<std::string> skipped;  // "DN: attribute 'X': why; entry skipped"
};

// Reads the classes under config.retention_base and the rules' classes
// under config.rules_base. A class without a valid tlogRetentionDays, or
// with a malformed value, is skipped and reported (its recordings are then
// kept: the server reports them as of a class not configured). A base this
// bind cannot see, or a directory that cannot be read, throws LdapError.
LdapRetention fetch_ldap_retention(const LdapConfig& config);

}  // namespace tlog::policy
