// Retention classes and the rules' classes from the directory
// (ldap_retention.h).
#include "tlog/policy/ldap_retention.h"

#include <algorithm>

#include "ldap_client.h"
#include "ldap_directory.h"

namespace tlog::policy {
namespace {

using ldapc::Connection;
using ldapc::Entry;
using ldapc::Malformed;
using ldapc::Scope;

// The server's own limit for a class's days (doc/server.md, "Classes").
constexpr uint64_t kMaxDays = 36500;

std::vector<Entry> by_cn(std::vector<Entry> entries) {
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        const std::string ca = a.first("cn"), cb = b.first("cn");
        return ca != cb ? ca < cb : a.dn < b.dn;
    });
    return entries;
}

RetentionPolicyEntry to_class(const Entry& e) {
    RetentionPolicyEntry c;
    c.dn = e.dn;
    c.name = e.first("cn");
    if (c.name.empty()) throw Malformed{"cn", "missing"};
    if (const auto* v = e.get("tlogretentiondays"); v != nullptr && v->size() > 1)
        throw Malformed{"tlogRetentionDays", "more than one value"};
    auto days = ldapc::number(e, "tlogretentiondays", kMaxDays);
    if (!days || *days == 0)
        throw Malformed{"tlogRetentionDays", days ? "expected a number of days from 1 to 36500, got '0'"
                                                  : "missing: how long the class keeps its recordings is not said"};
    c.days = *days;
    c.hold = ldapc::flag(e, "tlogretentionhold", false);
    return c;
}

}  // namespace

LdapRetention fetch_ldap_retention(const LdapConfig& config) {
    return ldapc::read_first_answering(config, [&](Connection& conn) {
        LdapRetention out;
        out.server = conn.uri();
        ldapc::require_visible(conn, config.retention_base, "retention base");
        for (const auto& e : by_cn(conn.search(config.retention_base, Scope::Sub, "(objectClass=tlogRetentionPolicy)",
                                               {"cn", "tlogRetentionDays", "tlogRetentionHold"}))) {
            try {
                out.classes.push_back(to_class(e));
            } catch (const Malformed& m) {
                out.skipped.push_back(e.dn + ": attribute '" + m.attr + "': " + m.why + "; entry skipped");
            }
        }
        for (const auto& e : by_cn(conn.search(config.rules_base, Scope::Sub,
                                               "(&(objectClass=tlogRecordingRule)(tlogRetentionClass=*))",
                                               {"cn", "tlogRetentionClass"}))) {
            RuleRetention r{e.first("cn"), e.dn, e.first("tlogretentionclass")};
            if (r.rule.empty()) {
                out.skipped.push_back(e.dn + ": attribute 'cn': missing; entry skipped");
                continue;
            }
            out.rules.push_back(std::move(r));
        }
        return out;
    });
}

}  // namespace tlog::policy
