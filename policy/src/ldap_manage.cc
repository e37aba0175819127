#include "tlog/policy/ldap_manage.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "ldap_client.h"

namespace tlog::policy {
namespace {

using json::Value;
using ldapc::Entry;
using ldapc::Mod;
using ldapc::Scope;

// A rule name becomes an RDN value: refuse what would need escaping rather
// than risk writing a different DN than the one shown.
void check_name(const std::string& name) {
    if (name.empty() || name.size() > 128) throw std::runtime_error("rule name must be 1 to 128 characters");
    const bool edge_space = name.front() == ' ' || name.back() == ' ';
    if (edge_space || !std::all_of(name.begin(), name.end(), [](unsigned char c) {
            return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ' ';
        }))
        throw std::runtime_error("rule name '" + name + "': use letters, digits, '-', '_', '.' and inner spaces");
}

const char* flag(bool b) { return b ? "TRUE" : "FALSE"; }

Value strings(const std::vector<std::string>& v) {
    Value a = Value::make_array();
    for (const auto& s : v) a.items().push_back(Value::make_string(s));
    return a;
}

void check_edit(const RuleEdit& e) {
    if (e.action && !parse_action(*e.action))
        throw std::runtime_error("--action: expected record or exclude, got '" + *e.action + "'");
    if (e.audit && !parse_audit(*e.audit))
        throw std::runtime_error("--audit: expected none, login or session, got '" + *e.audit + "'");
    if (e.writer && !valid_writer(*e.writer))
        throw std::runtime_error("--writer: expected file, syslog or journal, got '" + *e.writer + "'");
    if (e.limit_action && !valid_limit_action(*e.limit_action))
        throw std::runtime_error("--limit-action: expected pass, delay or drop, got '" + *e.limit_action + "'");
    if (e.sessions)
        for (const auto& k : *e.sessions)
            if (!parse_kind(k))
                throw std::runtime_error("--session: expected interactive, command or transfer, got '" + k + "'");
}

}  // namespace

bool Members::empty() const {
    return users.empty() && groups.empty() && hosts.empty() && hostgroups.empty() && services.empty() &&
           servicegroups.empty();
}

RuleManager::RuleManager(const LdapConfig& config) : config_(config) {
    std::string errors;
    for (const auto& uri : config.uris) {
        try {
            conn_ = std::make_unique<ldapc::Connection>(config, uri);
            return;
        } catch (const LdapError& e) {
            errors += std::string(errors.empty() ? "" : "; ") + e.what();
        }
    }
    throw LdapError("no LDAP server could be reached: " + errors);
}

RuleManager::~RuleManager() = default;

std::string RuleManager::rule_dn(const std::string& name) const {
    check_name(name);
    return "cn=" + name + "," + config_.rules_base;
}

// Member names to DNs; with `must_exist` each is looked up (a typo must not
// silently match nobody).
std::vector<std::string> RuleManager::member_dns(const Members& m, bool must_exist) {
    std::vector<std::string> out;
    auto add = [&](const std::vector<std::string>& names, const std::string& rdn, const std::string& base,
                   const char* what) {
        for (const auto& n : names) {
            if (n.empty() || n.find_first_of(",=+\"\\<>;#") != std::string::npos)
                throw std::runtime_error(std::string(what) + " '" + n + "': not a plain name");
            const std::string dn = rdn + "=" + n + "," + base;
            if (must_exist && conn_->search(dn, Scope::Base, "(objectClass=*)", {"1.1"}).empty())
                throw std::runtime_error(std::string("no ") + what + " '" + n + "' (" + dn + ")");
            out.push_back(dn);
        }
    };
    add(m.users, "uid", config_.users_base, "user");
    add(m.groups, "cn", config_.groups_base, "group");
    add(m.hosts, "fqdn", config_.hosts_base, "host");
    add(m.hostgroups, "cn", config_.hostgroups_base, "host group");
    add(m.services, "cn", config_.services_base, "HBAC service");
    add(m.servicegroups, "cn", config_.servicegroups_base, "HBAC service group");
    return out;
}

namespace {
// Which attribute a member DN goes into.
const char* member_attr(const std::string& dn, const LdapConfig& c) {
    if (ldapc::dn_under(dn, c.users_base) || ldapc::dn_under(dn, c.groups_base)) return "memberUser";
    if (ldapc::dn_under(dn, c.hosts_base) || ldapc::dn_under(dn, c.hostgroups_base)) return "memberHost";
    return "memberService";
}

// The member DNs as one modification per attribute (memberUser, memberHost, memberService).
std::vector<Mod> member_mods(const std::vector<std::string>& dns, Mod::Op op, const LdapConfig& c) {
    std::map<std::string, std::vector<std::string>> by_attr;
    for (const auto& m : dns) by_attr[member_attr(m, c)].push_back(m);
    std::vector<Mod> mods;
    for (auto& [attr, vals] : by_attr) mods.push_back(Mod{op, attr, vals});
    return mods;
}

std::vector<Mod> edit_mods(const RuleEdit& e, const std::string& hbac_dn, bool adding) {
    std::vector<Mod> mods;
    auto put = [&](const char* attr, const std::optional<std::string>& v) {
        if (!v) return;
        if (v->empty()) {
            if (!adding) mods.push_back(Mod{Mod::Delete, attr, {}});
        } else {
            mods.push_back(Mod{adding ? Mod::Add : Mod::Replace, attr, {*v}});
        }
    };
    auto opt_str = [](const auto& o) -> std::optional<std::string> {
        if (!o) return std::nullopt;
        if constexpr (std::is_same_v<std::decay_t<decltype(*o)>, bool>)
            return std::string(flag(*o));
        else
            return std::to_string(*o);
    };
    put("tlogAction", e.action);
    put("description", e.description);
    put("tlogAuditLevel", e.audit);
    put("tlogRetentionClass", e.retention);
    put("tlogWriter", e.writer);
    put("tlogLimitAction", e.limit_action);
    put("tlogPriority", opt_str(e.priority));
    put("ipaEnabledFlag", opt_str(e.enabled));
    put("tlogLogInput", opt_str(e.input));
    put("tlogLogOutput", opt_str(e.output));
    put("tlogLogWindow", opt_str(e.window));
    put("tlogLimitRate", opt_str(e.rate));
    put("tlogLimitBurst", opt_str(e.burst));
    if (e.hbac_rule) put("seeAlso", std::optional<std::string>(hbac_dn));
    if (e.sessions) {
        if (e.sessions->empty()) {
            if (!adding) mods.push_back(Mod{Mod::Delete, "tlogSessionKind", {}});
        } else {
            mods.push_back(Mod{adding ? Mod::Add : Mod::Replace, "tlogSessionKind", *e.sessions});
        }
    }
    const std::pair<const char*, std::optional<bool>> cats[] = {
        {"userCategory", e.all_users}, {"hostCategory", e.all_hosts}, {"serviceCategory", e.all_services}};
    for (const auto& [attr, v] : cats) {
        if (!v) continue;
        if (*v)
            mods.push_back(Mod{adding ? Mod::Add : Mod::Replace, attr, {"all"}});
        else if (!adding)
            mods.push_back(Mod{Mod::Delete, attr, {}});
    }
    return mods;
}
}  // namespace

json::Value RuleManager::read(const std::string& dn) {
    auto found = conn_->search(dn, Scope::Base, "(objectClass=tlogRecordingRule)", rule_attributes());
    if (found.empty()) throw std::runtime_error("no recording rule " + dn);
    const Entry& e = found[0];
    Value v = Value::make_object();
    v.set("name", Value::make_string(e.first("cn")));
    v.set("dn", Value::make_string(e.dn));
    v.set("enabled", Value::make_bool(e.first("ipaenabledflag") != "FALSE"));
    v.set("action", Value::make_string(e.first("tlogaction")));
    if (auto p = e.first("tlogpriority"); !p.empty()) v.set("priority", Value::make_number(p));
    if (auto d = e.first("description"); !d.empty()) v.set("description", Value::make_string(d));
    std::vector<std::string> users, groups, hosts, hostgroups, services, servicegroups;
    auto split = [&](const char* attr, const std::string& base_a, std::vector<std::string>& a,
                     std::vector<std::string>& b) {
        if (const auto* vals = e.get(attr))
            for (const auto& m : *vals) (ldapc::dn_under(m, base_a) ? a : b).push_back(ldapc::rdn_value(m));
    };
    split("memberuser", config_.users_base, users, groups);
    split("memberhost", config_.hosts_base, hosts, hostgroups);
    split("memberservice", config_.services_base, services, servicegroups);
    for (const auto& [key, attr] :
         {std::pair{"user_category", "usercategory"}, std::pair{"host_category", "hostcategory"},
          std::pair{"service_category", "servicecategory"}})
        if (auto c = e.first(attr); !c.empty()) v.set(key, Value::make_string(c));
    v.set("users", strings(users));
    v.set("groups", strings(groups));
    v.set("hosts", strings(hosts));
    v.set("hostgroups", strings(hostgroups));
    v.set("services", strings(services));
    v.set("servicegroups", strings(servicegroups));
    if (auto s = e.first("seealso"); !s.empty()) v.set("hbac_rule", Value::make_string(ldapc::rdn_value(s)));
    if (const auto* k = e.get("tlogsessionkind")) v.set("sessions", strings(*k));
    Value settings = Value::make_object();
    for (const auto& [key, attr] : {std::pair{"input", "tlogloginput"}, std::pair{"output", "tloglogoutput"},
                                    std::pair{"window", "tloglogwindow"}})
        if (auto f = e.first(attr); !f.empty()) settings.set(key, Value::make_bool(f == "TRUE"));
    for (const auto& [key, attr] : {std::pair{"rate", "tloglimitrate"}, std::pair{"burst", "tloglimitburst"}})
        if (auto n = e.first(attr); !n.empty()) settings.set(key, Value::make_number(n));
    if (auto a = e.first("tloglimitaction"); !a.empty()) settings.set("limit_action", Value::make_string(a));
    if (auto w = e.first("tlogwriter"); !w.empty()) settings.set("writer", Value::make_string(w));
    v.set("settings", std::move(settings));
    if (auto a = e.first("tlogauditlevel"); !a.empty()) v.set("audit", Value::make_string(a));
    if (auto r = e.first("tlogretentionclass"); !r.empty()) v.set("retention", Value::make_string(r));
    return v;
}

std::string RuleManager::hbac_dn(const std::optional<std::string>& name) {
    if (!name || name->empty()) return "";
    auto h = conn_->search(config_.hbac_base, Scope::One,
                           "(&(objectClass=ipaHBACRule)(cn=" + ldapc::filter_escape(*name) + "))", {"1.1"});
    if (h.size() != 1) throw std::runtime_error("no HBAC rule '" + *name + "' under " + config_.hbac_base);
    return h[0].dn;
}

json::Value RuleManager::add(const std::string& name, const RuleEdit& edit, const Members& members) {
    const std::string dn = rule_dn(name);
    check_edit(edit);
    if (!edit.action) throw std::runtime_error("--action record or --action exclude is required");
    const std::string hbac = hbac_dn(edit.hbac_rule);
    std::vector<Mod> attrs = {Mod{Mod::Add, "objectClass", {"top", "tlogRecordingRule"}}, Mod{Mod::Add, "cn", {name}}};
    RuleEdit e = edit;
    if (!e.enabled) e.enabled = true;
    for (auto& m : edit_mods(e, hbac, true)) attrs.push_back(std::move(m));
    for (auto& m : member_mods(member_dns(members, true), Mod::Add, config_)) attrs.push_back(std::move(m));
    conn_->add(dn, attrs);
    return read(dn);
}

json::Value RuleManager::modify(const std::string& name, const RuleEdit& edit) {
    const std::string dn = rule_dn(name);
    check_edit(edit);
    read(dn);  // exists, and is a rule
    auto mods = edit_mods(edit, hbac_dn(edit.hbac_rule), false);
    if (mods.empty()) throw std::runtime_error("nothing to change");
    conn_->modify(dn, mods);
    return read(dn);
}

void RuleManager::remove(const std::string& name) {
    const std::string dn = rule_dn(name);
    read(dn);
    conn_->remove(dn);
}

json::Value RuleManager::show(const std::string& name) { return read(rule_dn(name)); }

json::Value RuleManager::find(const std::string& text) {
    const std::string filter = text.empty() ? "(objectClass=tlogRecordingRule)"
                                            : "(&(objectClass=tlogRecordingRule)(|(cn=*" + ldapc::filter_escape(text) +
                                                  "*)(description=*" + ldapc::filter_escape(text) + "*)))";
    auto found = conn_->search(config_.rules_base, Scope::Sub, filter, {"1.1"});
    std::sort(found.begin(), found.end(), [](const Entry& a, const Entry& b) { return a.dn < b.dn; });
    Value out = Value::make_array();
    for (const auto& e : found) out.items().push_back(read(e.dn));
    return out;
}

json::Value RuleManager::add_members(const std::string& name, const Members& members) {
    const std::string dn = rule_dn(name);
    read(dn);
    if (members.empty()) throw std::runtime_error("no member given");
    conn_->modify(dn, member_mods(member_dns(members, true), Mod::Add, config_));
    return read(dn);
}

json::Value RuleManager::remove_members(const std::string& name, const Members& members) {
    const std::string dn = rule_dn(name);
    read(dn);
    if (members.empty()) throw std::runtime_error("no member given");
    // Names are not looked up: a member deleted from the directory can still be removed from the rule.
    conn_->modify(dn, member_mods(member_dns(members, false), Mod::Delete, config_));
    return read(dn);
}

}  // namespace tlog::policy
