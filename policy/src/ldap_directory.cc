// The directory's users, groups, host groups and service groups
// (ldap_directory.h).
#include "ldap_directory.h"

#include <algorithm>
#include <set>

namespace tlog::policy::ldapc {

bool flag(const Entry& e, const std::string& attr, bool dflt) {
    const auto* v = e.get(attr);
    if (!v || v->empty()) return dflt;
    if (v->size() > 1) throw Malformed{attr, "more than one value"};
    if ((*v)[0] == "TRUE") return true;
    if ((*v)[0] == "FALSE") return false;
    throw Malformed{attr, "expected TRUE or FALSE, got '" + (*v)[0] + "'"};
}

std::optional<uint64_t> number(const Entry& e, const std::string& attr, uint64_t max) {
    const std::string s = e.first(attr);
    if (s.empty()) return std::nullopt;
    if (s.size() > 10 || !std::all_of(s.begin(), s.end(), ::isdigit) || std::stoull(s) > max)
        throw Malformed{attr, "expected a number from 0 to " + std::to_string(max) + ", got '" + s + "'"};
    return std::stoull(s);
}

bool is_all(const Entry& e, const std::string& attr) {
    const std::string v = e.first(attr);
    if (v.empty()) return false;
    if (v == "all") return true;
    throw Malformed{attr, "expected 'all', got '" + v + "'"};
}

void Directory::load_groups() {
    for (auto& e : conn_.search(c_.groups_base, Scope::Sub,
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

void Directory::load_plain_groups(const std::string& base, std::map<std::string, Group>& into) {
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
std::vector<const Directory::Group*> Directory::closure(const std::map<std::string, Group>& groups,
                                                        const std::string& dn) {
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

std::vector<std::string> Directory::leaves(const std::map<std::string, Group>& groups, const std::string& ndn) {
    std::set<std::string> names;
    for (const Group* g : closure(groups, ndn))
        for (const auto& m : g->members)
            if (!groups.count(m)) names.insert(rdn_value(m));
    return {names.begin(), names.end()};
}

std::string Directory::user_name(const std::string& ndn) const {
    auto it = user_uid_.find(ndn);
    if (it != user_uid_.end()) return it->second;
    std::string attr;
    const std::string v = rdn_value(ndn, &attr);
    return attr == "uid" ? v : "";
}

std::vector<std::string> Directory::group_users(const std::string& ndn) const {
    std::set<std::string> members;
    for (const Group* sub : closure(groups_, ndn)) {
        for (const auto& m : sub->members)
            if (!groups_.count(m))
                if (auto n = user_name(m); !n.empty()) members.insert(n);
        for (const auto& u : sub->member_uids) members.insert(u);
        if (auto it = member_of_.find(normalize_dn(sub->dn)); it != member_of_.end())
            members.insert(it->second.begin(), it->second.end());
    }
    return {members.begin(), members.end()};
}

void Directory::user_group(const std::string& ndn, std::vector<std::string>& names,
                           std::map<std::string, GroupInfo>& infos) const {
    for (const Group* g : closure(groups_, ndn)) {
        if (g->cn.empty()) continue;
        if (std::find(names.begin(), names.end(), g->cn) == names.end()) names.push_back(g->cn);
        if (infos.count(g->cn)) continue;
        GroupInfo info;
        info.has_gid = g->has_gid;
        info.gid = g->gid;
        info.members = group_users(normalize_dn(g->dn));
        infos.emplace(g->cn, std::move(info));
    }
}

}  // namespace tlog::policy::ldapc
