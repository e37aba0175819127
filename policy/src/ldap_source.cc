// Recording rules from the directory into the rule model. The directory's
// references (users, nested groups, hosts, host groups, HBAC services and
// service groups, an HBAC rule through seeAlso) are resolved here, once, so
// the evaluator and the cache see the same plain names the YAML loader gives.
#include <algorithm>
#include <functional>
#include <set>

#include "ldap_client.h"
#include "ldap_directory.h"
#include "tlog/policy/ldap_source.h"

namespace tlog::policy {
namespace {

using ldapc::Connection;
using ldapc::Directory;
using ldapc::Entry;
using ldapc::flag;
using ldapc::is_all;
using ldapc::Malformed;
using ldapc::normalize_dn;
using ldapc::number;
using ldapc::rdn_value;
using ldapc::Scope;

class Reader {
public:
    Reader(const LdapConfig& c, Connection& conn) : c_(c), conn_(conn), dir_(c, conn) {}

    LdapRules read() {
        LdapRules out;
        out.server = conn_.uri();
        // An empty rule set from a hidden container would silently stop recording.
        ldapc::require_visible(conn_, c_.rules_base, "rules base");
        auto rules = conn_.search(c_.rules_base, Scope::Sub, "(objectClass=tlogRecordingRule)", rule_attributes());
        // Only what the rules refer to decides which other subtrees are read.
        bool need_groups = false, need_hostgroups = false, need_servicegroups = false;
        for (const auto& e : rules) {
            need_groups |= e.get("memberuser") || e.get("seealso");
            need_hostgroups |= e.get("memberhost") || e.get("seealso");
            need_servicegroups |= e.get("memberservice") || e.get("seealso");
        }
        if (need_groups) dir_.load_groups();
        if (need_hostgroups) dir_.load_hostgroups();
        if (need_servicegroups) dir_.load_servicegroups();

        std::sort(rules.begin(), rules.end(),
                  [](const Entry& a, const Entry& b) { return a.first("cn") < b.first("cn"); });
        for (const auto& e : rules) {
            try {
                out.rules.push_back(to_rule(e, out));
            } catch (const Malformed& m) {
                out.skipped.push_back(e.dn + ": attribute '" + m.attr + "': " + m.why + "; entry skipped");
            }
        }
        for (auto& w : warnings_) out.skipped.push_back(std::move(w));
        return out;
    }

private:
    // Who, where and which service, from `m` (the rule itself, or the HBAC
    // rule its seeAlso names).
    void members(const Entry& m, Rule& r, LdapRules& out) {
        r.all_users = is_all(m, "usercategory");
        if (!r.all_users)
            if (const auto* v = m.get("memberuser"))
                for (const auto& dn : *v) {
                    const std::string n = normalize_dn(dn);
                    if (dir_.is_group(n)) {
                        dir_.user_group(n, r.groups, out.groups);
                    } else if (auto u = dir_.user_name(n); !u.empty()) {
                        r.users.push_back(u);
                    } else {
                        warnings_.push_back(m.dn + ": attribute 'memberUser': '" + dn +
                                            "' is neither a user nor a group the directory knows; ignored");
                    }
                }
        r.all_hosts = is_all(m, "hostcategory");
        if (!r.all_hosts)
            if (const auto* v = m.get("memberhost"))
                for (const auto& dn : *v) {
                    const std::string n = normalize_dn(dn);
                    if (dir_.is_hostgroup(n)) {
                        r.hostgroups.push_back(n);
                        out.hostgroups[n] = dir_.hostgroup_hosts(n);
                    } else {
                        r.hosts.push_back(rdn_value(dn));
                    }
                }
        const bool svc_all = is_all(m, "servicecategory");
        const auto* svcs = m.get("memberservice");
        // No service named at all: every service, as in tlog-rules.yaml(5).
        r.all_services = svc_all || !svcs;
        if (!r.all_services)
            for (const auto& dn : *svcs) {
                const std::string n = normalize_dn(dn);
                if (dir_.is_servicegroup(n)) {
                    for (auto& s : dir_.servicegroup_services(n))
                        if (std::find(r.services.begin(), r.services.end(), s) == r.services.end())
                            r.services.push_back(s);
                } else if (std::find(r.services.begin(), r.services.end(), rdn_value(dn)) == r.services.end()) {
                    r.services.push_back(rdn_value(dn));
                }
            }
    }

    Rule to_rule(const Entry& e, LdapRules& out) {
        Rule r;
        r.where.file = "ldap:///" + e.dn;
        const auto* cn = e.get("cn");
        if (!cn || cn->empty()) throw Malformed{"cn", "missing"};
        r.name = (*cn)[0];
        r.enabled = flag(e, "ipaenabledflag", true);
        // Required, as in tlog-rules.yaml(5): a rule must say what it does.
        const std::string action = e.first("tlogaction");
        if (action.empty()) throw Malformed{"tlogAction", "missing (record or exclude)"};
        auto a = parse_action(action);
        if (!a) throw Malformed{"tlogAction", "expected record or exclude, got '" + action + "'"};
        r.action = *a;
        if (auto v = e.first("tlogpriority"); !v.empty()) {
            const bool neg = v[0] == '-';
            const std::string d = neg ? v.substr(1) : v;
            if (d.empty() || d.size() > 9 || !std::all_of(d.begin(), d.end(), ::isdigit))
                throw Malformed{"tlogPriority",
                                "expected an integer between -999999999 and 999999999, got '" + v + "'"};
            r.priority = neg ? -std::stoi(d) : std::stoi(d);
        }
        if (const auto* v = e.get("tlogsessionkind")) {
            r.kinds = 0;
            for (const auto& k : *v) {
                auto kind = parse_kind(k);
                if (!kind)
                    throw Malformed{"tlogSessionKind", "expected interactive, command or transfer, got '" + k + "'"};
                r.kinds |= *kind;
            }
        }
        if (e.get("tlogloginput")) r.settings.input = flag(e, "tlogloginput", true);
        if (e.get("tloglogoutput")) r.settings.output = flag(e, "tloglogoutput", true);
        if (e.get("tloglogwindow")) r.settings.window = flag(e, "tloglogwindow", true);
        r.settings.limit.rate = number(e, "tloglimitrate", UINT32_MAX);
        r.settings.limit.burst = number(e, "tloglimitburst", UINT32_MAX);
        if (auto v = e.first("tloglimitaction"); !v.empty()) {
            if (!valid_limit_action(v))
                throw Malformed{"tlogLimitAction", "expected pass, delay or drop, got '" + v + "'"};
            r.settings.limit.action = v;
        }
        if (auto v = e.first("tlogwriter"); !v.empty()) {
            if (!valid_writer(v)) throw Malformed{"tlogWriter", "expected file, syslog or journal, got '" + v + "'"};
            r.settings.writer = v;
        }
        if (auto v = e.first("tlogauditlevel"); !v.empty()) {
            auto a = parse_audit(v);
            if (!a) throw Malformed{"tlogAuditLevel", "expected none, login or session, got '" + v + "'"};
            r.audit = *a;
        }
        r.retention = e.first("tlogretentionclass");

        if (const auto* see = e.get("seealso")) {
            // As FreeIPA's SELinux user maps: an HBAC rule gives the members,
            // the rule itself then names none.
            for (const char* a :
                 {"memberuser", "usercategory", "memberhost", "hostcategory", "memberservice", "servicecategory"})
                if (e.get(a)) throw Malformed{"seeAlso", std::string("an HBAC rule gives the members; remove ") + a};
            if (see->size() != 1) throw Malformed{"seeAlso", "more than one HBAC rule"};
            auto hbac = conn_.search((*see)[0], Scope::Base, "(objectClass=ipaHBACRule)",
                                     {"cn", "ipaEnabledFlag", "accessRuleType", "memberUser", "userCategory",
                                      "memberHost", "hostCategory", "memberService", "serviceCategory"});
            if (hbac.empty()) throw Malformed{"seeAlso", "'" + (*see)[0] + "' is not an HBAC rule the directory has"};
            if (auto t = hbac[0].first("accessruletype"); !t.empty() && t != "allow")
                throw Malformed{"seeAlso", "the HBAC rule is a '" + t + "' rule, not allow"};
            bool hbac_enabled = true;
            try {
                hbac_enabled = flag(hbac[0], "ipaenabledflag", true);
            } catch (const Malformed& m) {
                throw Malformed{"seeAlso", "the HBAC rule's " + m.attr + ": " + m.why};
            }
            // A disabled HBAC rule lets nobody in; the rule following it records nobody.
            if (!hbac_enabled) r.enabled = false;
            members(hbac[0], r, out);
        } else {
            members(e, r, out);
        }
        return r;
    }

    const LdapConfig& c_;
    Connection& conn_;
    Directory dir_;
    std::vector<std::string> warnings_;
};

}  // namespace

const std::vector<std::string>& rule_attributes() {
    static const std::vector<std::string> attrs = {"cn",
                                                   "description",
                                                   "ipaEnabledFlag",
                                                   "memberUser",
                                                   "userCategory",
                                                   "memberHost",
                                                   "hostCategory",
                                                   "memberService",
                                                   "serviceCategory",
                                                   "seeAlso",
                                                   "tlogAction",
                                                   "tlogPriority",
                                                   "tlogSessionKind",
                                                   "tlogLogInput",
                                                   "tlogLogOutput",
                                                   "tlogLogWindow",
                                                   "tlogLimitRate",
                                                   "tlogLimitBurst",
                                                   "tlogLimitAction",
                                                   "tlogWriter",
                                                   "tlogAuditLevel",
                                                   "tlogRetentionClass"};
    return attrs;
}

LdapRules fetch_ldap_rules(const LdapConfig& config) {
    return ldapc::read_first_answering(config, [&](Connection& conn) { return Reader(config, conn).read(); });
}

void merge_ldap_rules(Policy& policy, const LdapRules& ldap, std::vector<std::string>& skipped) {
    std::set<std::string> names;
    for (const auto& r : policy.rules) names.insert(r.name);
    for (const auto& r : ldap.rules) {
        if (!names.insert(r.name).second) {
            skipped.push_back(r.where.file.substr(8) + ": attribute 'cn': a rule named '" + r.name +
                              "' is already in " + policy.source + "; entry skipped");
            continue;
        }
        policy.rules.push_back(r);
    }
    for (const auto& [dn, hosts] : ldap.hostgroups) policy.hostgroups[dn] = hosts;
}

GroupResolver ldap_group_resolver(const LdapRules& ldap) {
    return [groups = ldap.groups](const std::string& name) -> std::optional<GroupInfo> {
        if (auto it = groups.find(name); it != groups.end()) return it->second;
        return lookup_group(name);
    };
}

}  // namespace tlog::policy
