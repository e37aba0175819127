// Kernel audit rules from the recording rules. The decision for a named
// user is the evaluator's (evaluate_all_classes); what a rule says about
// uid ranges and "all" users is translated rule by rule, with exclusions of
// named users as "never" rules before it.
#include "tlog/policy/audit_rules.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "tlog/audit_session_rules.h"

namespace tlog::policy {

namespace {

constexpr const char* kArches[] = {"b64", "b32"};

// What "session" audits: every exec, every file change, every connection
// (the table pam_tlog's per-session rules use too).
void session_rules(std::string& out, const std::string& who) {
    for (const auto& r : audit_rules::kSessionRules) {
        out += std::string("-a always,exit -F arch=") + r.arch;
        if (*r.syscalls) out += std::string(" -S ") + r.syscalls;
        if (*r.perm) out += std::string(" -F perm=") + r.perm;
        out += " " + who + " -k " + r.key + "\n";
    }
}

void never_rules(std::string& out, const std::string& who) {
    for (const char* arch : kArches) out += std::string("-a never,exit -F arch=") + arch + " " + who + "\n";
}

// The highest audit level the evaluator gives the user for any service
// and session kind it is recorded for; nullopt when never recorded.
std::optional<AuditLevel> level_of(const Policy& p, const Subject& s, const std::string& host) {
    std::optional<AuditLevel> level;
    for (const auto& c : evaluate_all_classes(p, s, host)) {
        if (!c.decision.recorded) continue;
        const AuditLevel a = c.decision.rule >= 0 ? p.rules[c.decision.rule].audit : AuditLevel::Session;
        if (!level || a > *level) level = a;
    }
    return level;
}

}  // namespace

AuditRulesResult audit_rules(const Policy& p, const std::string& host,
                             const std::function<std::optional<Subject>(const std::string&)>& lookup_user,
                             const std::function<std::optional<GroupInfo>(const std::string&)>& lookup_grp) {
    AuditRulesResult r;
    std::set<uid_t> session_uids, never_uids;
    std::vector<std::string> broad;         // auid selections for ranges and "all"
    std::vector<std::string> never_ranges;  // uid ranges excluded everywhere
    auto consider = [&](const std::string& name) {
        auto s = lookup_user(name);
        if (!s) {
            r.warnings.push_back("user " + name + " is unknown: no audit rules for it");
            return;
        }
        const auto level = level_of(p, *s, host);
        if (level == AuditLevel::Session)
            session_uids.insert(s->uid);
        else
            never_uids.insert(s->uid);
    };
    for (int i : rank_rules(p)) {
        const Rule& rule = p.rules[i];
        if (!rule_matches_host(p, rule, host)) continue;
        for (const auto& u : rule.users) consider(u);
        for (const auto& g : rule.groups) {
            auto gi = lookup_grp(g);
            if (!gi) {
                r.warnings.push_back("group " + g + " is unknown: no audit rules for it");
                continue;
            }
            for (const auto& m : gi->members) consider(m);
            // Members by primary group are not listed by the group database.
            r.warnings.push_back("group " + g + ": rules for its listed members as of now; users whose primary " +
                                 "group it is and later members need tlog-policy audit-rules again");
        }
        if (rule.action == Action::Exclude && rule.all_services && rule.kinds == kAllKinds) {
            // Excluded everywhere: never audited at session level, whatever
            // broader rule comes after.
            for (const auto& range : rule.uids)
                never_ranges.push_back(range.lo == range.hi ? "-F auid=" + std::to_string(range.lo)
                                                            : "-F auid>=" + std::to_string(range.lo) +
                                                                  " -F auid<=" + std::to_string(range.hi));
        }
        if (rule.action != Action::Record || rule.audit != AuditLevel::Session) continue;
        for (const auto& range : rule.uids) {
            broad.push_back(range.lo == range.hi
                                ? "-F auid=" + std::to_string(range.lo)
                                : "-F auid>=" + std::to_string(range.lo) + " -F auid<=" + std::to_string(range.hi));
        }
        if (rule.all_users) broad.push_back("-F auid!=unset");
    }
    if (p.default_action == Action::Record) broad.push_back("-F auid!=unset");
    std::sort(broad.begin(), broad.end());
    broad.erase(std::unique(broad.begin(), broad.end()), broad.end());
    for (uid_t u : session_uids) never_uids.erase(u);

    r.text += "## tlog: audit rules for the recording rules of " + p.source + ", host " + host + "\n";
    r.text += "## (tlog-policy audit-rules). Login-level auditing needs no kernel rule: PAM and\n";
    r.text += "## pam_tlog write those records. Load with auditctl -R FILE, or from\n";
    r.text += "## /etc/audit/rules.d/ at boot; end the rules with -e 2 to lock them.\n";
    if (!broad.empty()) {
        r.text += "## Named users not audited at session level, before the broad rules:\n";
        for (uid_t u : never_uids) never_rules(r.text, "-F auid=" + std::to_string(u));
        for (const auto& n : never_ranges) never_rules(r.text, n);
    }
    for (uid_t u : session_uids) session_rules(r.text, "-F auid=" + std::to_string(u));
    for (const auto& b : broad) session_rules(r.text, b);
    if (session_uids.empty() && broad.empty()) r.text += "## No user is audited at session level on this host.\n";
    return r;
}

}  // namespace tlog::policy
