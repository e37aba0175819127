// Recording rules from the directory into the rule model. The directory's
// references (users, nested groups, hosts, host groups, HBAC services and
// service groups, an HBAC rule through seeAlso) are resolved here, once, so
// the evaluator and the cache see the same plain names the YAML loader gives.
#include <algorithm>
#include <functional>
#include <set>

#include "ldap_client.h"
#include "tlog/policy/ldap_source.h"

namespace tlog::policy {
namespace {

using ldapc::Connection;
using ldapc::Entry;
using ldapc::normalize_dn;
using ldapc::rdn_value;
using ldapc::Scope;

// An entry that cannot become a rule: skipped, with its DN and attribute in the log.
struct Malformed {
    std::string attr, why;
};

struct Group {
    std::string dn, cn;
    bool has_gid = false;
    gid_t gid = 0;
    std::vector<std::string> members;      // member DNs (normalized)
    std::vector<std::string> member_uids;  // memberUid values (RFC 2307)
};

class Reader {
public:
    Reader(const LdapConfig& c, Connection& conn) : c_(c), conn_(conn) {}

    LdapRules read() {
        LdapRules out;
        out.server = conn_.uri();
        // "No rules" and "cannot see the rules" must not look alike: a bind
        // the access rules hide the container from would otherwise compile
        // an empty rule set and silently stop recording.
        if (conn_.search(c_.rules_base, Scope::Base, "(objectClass=*)", {"1.1"}).empty())
            throw LdapError(conn_.uri() + ": the rules base " + c_.rules_base +
                            " is not visible to this bind (missing, or hidden by the directory's access rules)");
        auto rules = conn_.search(c_.rules_base, Scope::Sub, "(objectClass=tlogRecordingRule)", rule_attributes());
        // Only what the rules refer to decides which other subtrees are read.
        bool need_groups = false, need_hostgroups = false, need_servicegroups = false;
        for (const auto& e : rules) {
            need_groups |= e.get("memberuser") || e.get("seealso");
            need_hostgroups |= e.get("memberhost") || e.get("seealso");
            need_servicegroups |= e.get("memberservice") || e.get("seealso");
        }
        if (need_groups) load_groups();
        if (need_hostgroups) load_plain_groups(c_.hostgroups_base, hostgroups_);
        if (need_servicegroups) load_plain_groups(c_.servicegroups_base, servicegroups_);

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
    void load_groups() {
        for (auto& e :
             conn_.search(c_.groups_base, Scope::Sub,
                          "(|(objectClass=groupOfNames)(objectClass=posixGroup)(objectClass=groupOfUniqueNames))",
                          {"cn", "gidNumber", "member", "uniqueMember", "memberUid"})) {
            Group g;
            g.dn = e.dn;
            g.cn = e.first("cn");
            const std::string gid = e.first("gidnumber");
            if (!gid.empty() && gid.size() <= 10 && std::all_of(gid.begin(), gid.end(), ::isdigit) &&
                std::stoull(gid) < 0xffffffffull) {
                g.has_gid = true;
                g.gid = static_cast<gid_t>(std::stoull(gid));
            }
            for (const char* a : {"member", "uniquemember"})
                if (const auto* v = e.get(a))
                    for (const auto& m : *v) g.members.push_back(normalize_dn(m));
            if (const auto* v = e.get("memberuid")) g.member_uids = *v;
            groups_.emplace(normalize_dn(e.dn), std::move(g));
        }
        // Users: their uid (a member DN's name) and memberOf (membership the
        // server computes, FreeIPA and the memberof overlay).
        for (auto& e : conn_.search(c_.users_base, Scope::Sub, "(uid=*)", {"uid", "memberOf"})) {
            const std::string dn = normalize_dn(e.dn), uid = e.first("uid");
            user_uid_[dn] = uid;
            if (const auto* v = e.get("memberof"))
                for (const auto& g : *v) member_of_[normalize_dn(g)].push_back(uid);
        }
    }

    void load_plain_groups(const std::string& base, std::map<std::string, Group>& into) {
        for (auto& e : conn_.search(base, Scope::Sub, "(objectClass=groupOfNames)", {"cn", "member"})) {
            Group g;
            g.dn = e.dn;
            g.cn = e.first("cn");
            if (const auto* v = e.get("member"))
                for (const auto& m : *v) g.members.push_back(normalize_dn(m));
            into.emplace(normalize_dn(e.dn), std::move(g));
        }
    }

    // The group and every group nested in it (cycles are cut).
    static std::vector<const Group*> closure(const std::map<std::string, Group>& groups, const std::string& dn) {
        std::vector<const Group*> out;
        std::set<std::string> seen;
        std::vector<std::string> to_visit{dn};
        while (!to_visit.empty()) {
            const std::string d = to_visit.back();
            to_visit.pop_back();
            if (!seen.insert(d).second) continue;
            auto it = groups.find(d);
            if (it == groups.end()) continue;
            out.push_back(&it->second);
            for (const auto& m : it->second.members)
                if (groups.count(m)) to_visit.push_back(m);
        }
        return out;
    }

    std::string user_name(const std::string& ndn) const {
        auto it = user_uid_.find(ndn);
        if (it != user_uid_.end()) return it->second;
        std::string attr;
        const std::string v = rdn_value(ndn, &attr);
        return attr == "uid" ? v : "";
    }

    // A directory group becomes the group names a rule lists: it and its
    // nested groups (a user whose primary group is a nested one matches),
    // each with every member user, nested members included.
    void add_user_group(const std::string& ndn, Rule& r, LdapRules& out) {
        for (const Group* g : closure(groups_, ndn)) {
            if (g->cn.empty()) continue;
            if (std::find(r.groups.begin(), r.groups.end(), g->cn) == r.groups.end()) r.groups.push_back(g->cn);
            if (out.groups.count(g->cn)) continue;
            GroupInfo info;
            info.has_gid = g->has_gid;
            info.gid = g->gid;
            std::set<std::string> members;
            for (const Group* sub : closure(groups_, normalize_dn(g->dn))) {
                for (const auto& m : sub->members)
                    if (!groups_.count(m))
                        if (auto n = user_name(m); !n.empty()) members.insert(n);
                for (const auto& u : sub->member_uids) members.insert(u);
                if (auto it = member_of_.find(normalize_dn(sub->dn)); it != member_of_.end())
                    members.insert(it->second.begin(), it->second.end());
            }
            info.members.assign(members.begin(), members.end());
            out.groups.emplace(g->cn, std::move(info));
        }
    }

    static std::vector<std::string> leaves(const std::map<std::string, Group>& groups, const std::string& ndn) {
        std::set<std::string> names;
        for (const Group* g : closure(groups, ndn))
            for (const auto& m : g->members)
                if (!groups.count(m)) names.insert(rdn_value(m));
        return {names.begin(), names.end()};
    }

    static bool flag(const Entry& e, const std::string& attr, bool dflt) {
        const auto* v = e.get(attr);
        if (!v || v->empty()) return dflt;
        if (v->size() > 1) throw Malformed{attr, "more than one value"};
        if ((*v)[0] == "TRUE") return true;
        if ((*v)[0] == "FALSE") return false;
        throw Malformed{attr, "expected TRUE or FALSE, got '" + (*v)[0] + "'"};
    }

    static std::optional<uint64_t> number(const Entry& e, const std::string& attr, uint64_t max) {
        const std::string s = e.first(attr);
        if (s.empty()) return std::nullopt;
        if (s.size() > 10 || !std::all_of(s.begin(), s.end(), ::isdigit) || std::stoull(s) > max)
            throw Malformed{attr, "expected a number from 0 to " + std::to_string(max) + ", got '" + s + "'"};
        return std::stoull(s);
    }

    static bool is_all(const Entry& e, const std::string& attr) {
        const std::string v = e.first(attr);
        if (v.empty()) return false;
        if (v == "all") return true;
        throw Malformed{attr, "expected 'all', got '" + v + "'"};
    }

    // Who, where and which service, from `m` (the rule itself, or the HBAC
    // rule its seeAlso names).
    void members(const Entry& m, Rule& r, LdapRules& out) {
        r.all_users = is_all(m, "usercategory");
        if (!r.all_users)
            if (const auto* v = m.get("memberuser"))
                for (const auto& dn : *v) {
                    const std::string n = normalize_dn(dn);
                    if (groups_.count(n)) {
                        add_user_group(n, r, out);
                    } else if (auto u = user_name(n); !u.empty()) {
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
                    if (hostgroups_.count(n)) {
                        r.hostgroups.push_back(n);
                        out.hostgroups[n] = leaves(hostgroups_, n);
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
                if (servicegroups_.count(n)) {
                    for (auto& s : leaves(servicegroups_, n))
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
    std::map<std::string, Group> groups_, hostgroups_, servicegroups_;  // by normalized DN
    std::map<std::string, std::string> user_uid_;                       // normalized user DN -> uid
    std::map<std::string, std::vector<std::string>> member_of_;         // group DN -> uids (memberOf)
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
    std::string errors;
    for (const auto& uri : config.uris) {
        try {
            Connection conn(config, uri);
            return Reader(config, conn).read();
        } catch (const LdapError& e) {
            errors += std::string(errors.empty() ? "" : "; ") + e.what();
        }
    }
    throw LdapError("no LDAP server could be read: " + errors);
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
