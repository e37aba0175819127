// Access rules (access.h): the file read with policy/'s YamlReader, and a
// viewer's rules turned into SQL over the sessions table, written once for
// both backends (SQLite's GLOB, PostgreSQL's LIKE for host patterns).
#include "tlog/server/access.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "store_backend.h"
#include "tlog/json.h"
#include "tlog/policy/yaml_reader.h"

namespace tlog::server {

namespace {

using V = SqlValue;

constexpr unsigned bit(Permission p) { return 1U << static_cast<unsigned>(p); }

const std::pair<const char*, Permission> right_names[] = {
    {"search", Permission::Search}, {"view", Permission::View}, {"export", Permission::Export},
    {"purge", Permission::Purge},   {"hold", Permission::Hold}, {"manage", Permission::Manage},
};

AccessList read_list(const policy::YamlReader& r, const YAML::Node& map, const char* key, const std::string& path) {
    AccessList l;
    if (auto v = map[key]) {
        l.given = true;
        l.all = r.names_or_all(v, policy::YamlReader::join(path, key), l.items);
        if (!l.all && l.items.empty()) {
            r.fail(v, policy::YamlReader::join(path, key), "an empty list matches nothing: name some, or write 'all'");
        }
    }
    return l;
}

AccessRule read_rule(const policy::YamlReader& r, const YAML::Node& n, size_t index, const SearchSettings& settings) {
    std::string path = "rules[" + std::to_string(index) + "]";
    if (!n.IsMap()) r.fail(n, path, "expected a mapping");
    r.only_keys(n, path, {"name", "viewers", "recordings", "rights"});
    AccessRule rule;
    rule.where = r.at(n, path);
    if (auto v = n["name"]) {
        rule.name = r.scalar(v, path + ".name");
    }
    if (rule.name.empty()) r.fail(n, path + ".name", "every rule needs a name (the access log names it)");
    path += " (" + rule.name + ")";
    auto viewers = n["viewers"];
    if (!viewers) r.fail(n, path + ".viewers", "missing: the users and groups of viewers it applies to");
    if (!viewers.IsMap()) r.fail(viewers, path + ".viewers", "expected a mapping with users and groups");
    r.only_keys(viewers, path + ".viewers", {"users", "groups"});
    rule.viewer_users = read_list(r, viewers, "users", path + ".viewers");
    rule.viewer_groups = read_list(r, viewers, "groups", path + ".viewers");
    if (!rule.viewer_users.given && !rule.viewer_groups.given) {
        r.fail(viewers, path + ".viewers", "name users or groups (or users: all)");
    }
    auto recs = n["recordings"];
    if (!recs) r.fail(n, path + ".recordings", "missing: which recordings (users: all for every one)");
    if (!recs.IsMap()) r.fail(recs, path + ".recordings", "expected a mapping");
    const std::string rp = path + ".recordings";
    r.only_keys(recs, rp, {"users", "groups", "hosts", "host_groups"});
    rule.users = read_list(r, recs, "users", rp);
    rule.groups = read_list(r, recs, "groups", rp);
    rule.hosts = read_list(r, recs, "hosts", rp);
    rule.host_groups = read_list(r, recs, "host_groups", rp);
    if (!rule.users.given && !rule.groups.given && !rule.hosts.given && !rule.host_groups.given) {
        r.fail(recs, rp, "name users, groups, hosts or host_groups (users: all for every recording)");
    }
    for (const auto& g : rule.host_groups.items) {
        if (settings.host_groups.count(g) == 0) {
            r.fail(recs["host_groups"], rp + ".host_groups",
                   "no host group " + json::quote(g) + " in the server's configuration (host_groups)");
        }
    }
    auto rights = n["rights"];
    if (!rights)
        r.fail(n, path + ".rights", "missing: the rights it gives (search, view, export, purge, hold, manage)");
    std::vector<std::string> names;
    if (r.names_or_all(rights, path + ".rights", names)) {
        for (const auto& [name, p] : right_names) rule.rights |= bit(p);
    }
    for (const auto& name : names) {
        auto p = access_right(name);
        if (!p) {
            r.fail(rights, path + ".rights",
                   "unknown right " + json::quote(name) + " (search, view, export, purge, hold, manage, or all)");
        }
        rule.rights |= bit(*p);
    }
    if (rule.rights == 0) r.fail(rights, path + ".rights", "an empty list gives nothing");
    return rule;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

bool applies(const AccessRule& r, const std::string& viewer, const std::vector<std::string>& groups) {
    if (r.viewer_users.given && (r.viewer_users.all || contains(r.viewer_users.items, viewer))) return true;
    if (r.viewer_groups.given) {
        if (r.viewer_groups.all) return true;
        for (const auto& g : groups) {
            if (contains(r.viewer_groups.items, g)) return true;
        }
    }
    return false;
}

// "?, ?, ?" for n values.
std::string marks(size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out += i == 0 ? "?" : ", ?";
    return out;
}

// Both backends' text of one condition, built side by side.
struct Both {
    std::string sql, pg;
    std::vector<SqlValue> params, pg_params;
    void add(const std::string& text, const std::vector<SqlValue>& p) { add(text, p, text, p); }
    void add(const std::string& text, const std::vector<SqlValue>& p, const std::string& pg_text,
             const std::vector<SqlValue>& pgp) {
        sql += text;
        pg += pg_text;
        params.insert(params.end(), p.begin(), p.end());
        pg_params.insert(pg_params.end(), pgp.begin(), pgp.end());
    }
};

// Hosts matching any glob or named exactly (as the sessions search's
// host_group filter); none: false.
void host_match(Both& b, const std::vector<std::string>& globs, const std::vector<std::string>& hosts) {
    if (globs.empty() && hosts.empty()) {
        b.add("1 = 0", {});
        return;
    }
    b.add("(", {});
    bool first = true;
    for (const auto& g : globs) {
        b.add(first ? "s.host GLOB ?" : " OR s.host GLOB ?", {V::str(glob_pattern(g, false))},
              first ? "s.host LIKE ?" : " OR s.host LIKE ?", {V::str(glob_pattern(g, true))});
        first = false;
    }
    if (!hosts.empty()) {
        std::vector<SqlValue> p;
        for (const auto& h : hosts) p.push_back(V::str(h));
        b.add(std::string(first ? "" : " OR ") + "s.host IN (" + marks(hosts.size()) + ")", p);
    }
    b.add(")", {});
}

// The recordings of one rule, over sessions `s`; empty sql: every one.
Both rule_condition(const AccessRule& r, const SearchSettings& settings) {
    Both b;
    auto next = [&] {
        if (!b.sql.empty()) b.add(" AND ", {});
    };
    auto values = [](const std::vector<std::string>& items) {
        std::vector<SqlValue> p;
        for (const auto& i : items) p.push_back(V::str(i));
        return p;
    };
    if (r.users.given && !r.users.all) {
        next();
        b.add("s.\"user\" IN (" + marks(r.users.items.size()) + ")", values(r.users.items));
    }
    if (r.groups.given && !r.groups.all) {
        next();
        // A scalar subquery of the session's row, as the search's group
        // filter: the groups the user had when the session was recorded.
        b.add("(SELECT 1 FROM session_groups g WHERE g.host = s.host AND g.rec = s.rec AND g.grp IN (" +
                  marks(r.groups.items.size()) + ") LIMIT 1) IS NOT NULL",
              values(r.groups.items));
    }
    if (r.hosts.given && !r.hosts.all) {
        next();
        host_match(b, r.hosts.items, r.host_names);
    }
    if (r.host_groups.given && !r.host_groups.all) {
        next();
        // Each group's members as the sessions search resolves them (globs,
        // NSS netgroups looked up now).
        std::vector<std::string> globs, hosts;
        for (const auto& g : r.host_groups.items) {
            auto q = session_query({{"host_group", g}}, settings, 0);
            globs.insert(globs.end(), q.host_globs.begin(), q.host_globs.end());
            hosts.insert(hosts.end(), q.hosts.begin(), q.hosts.end());
        }
        host_match(b, globs, hosts);
    }
    return b;
}

}  // namespace

std::optional<Permission> access_right(const std::string& name) {
    for (const auto& [n, p] : right_names) {
        if (name == n) return p;
    }
    return std::nullopt;
}

const std::vector<Permission>& access_rights() {
    static const std::vector<Permission> all = [] {
        std::vector<Permission> v;
        for (const auto& rn : right_names) v.push_back(rn.second);
        return v;
    }();
    return all;
}

AccessRules parse_access_rules(const std::string& text, const std::string& source, const SearchSettings& settings) {
    policy::YamlReader r(source);
    AccessRules out;
    out.source = source;
    out.found = true;
    auto root = r.parse(text);
    if (root.IsNull()) return out;  // empty: no rule
    if (!root.IsMap()) r.fail(root, "", "expected a mapping at the top level (version, rules)");
    r.only_keys(root, "", {"version", "rules"});
    if (auto v = root["version"]) {
        if (r.unsigned_number(v, "version", 1000) != 1) r.fail(v, "version", "unsupported (this build reads 1)");
    }
    if (auto rules = root["rules"]) {
        if (!rules.IsSequence()) r.fail(rules, "rules", "expected a list of rules");
        for (size_t i = 0; i < rules.size(); ++i) {
            out.rules.push_back(read_rule(r, rules[i], i, settings));
        }
    }
    return out;
}

AccessRules load_access_rules(const std::string& path, const SearchSettings& settings) {
    if (access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
        AccessRules none;
        none.source = path;
        return none;
    }
    return parse_access_rules(policy::read_yaml_file(path), path, settings);
}

AccessControl::AccessControl(AccessRules rules, SearchSettings settings)
    : file_(std::move(rules)), settings_(std::move(settings)) {
    publish();
}

void AccessControl::publish() {
    auto all = std::make_shared<std::vector<AccessRule>>(file_.rules);
    all->insert(all->end(), directory_.begin(), directory_.end());
    all_ = std::move(all);
}

void AccessControl::set_file_rules(AccessRules rules) {
    std::lock_guard<std::mutex> g(mu_);
    file_ = std::move(rules);
    publish();
}

void AccessControl::set_directory_rules(std::vector<AccessRule> rules) {
    std::lock_guard<std::mutex> g(mu_);
    directory_ = std::move(rules);
    publish();
}

size_t AccessControl::directory_rule_count() const {
    std::lock_guard<std::mutex> g(mu_);
    return directory_.size();
}

AccessControl::Rules AccessControl::snapshot() const {
    std::lock_guard<std::mutex> g(mu_);
    return all_;
}

bool AccessControl::may(const std::string& viewer, const std::vector<std::string>& groups, Permission right) const {
    auto rules = snapshot();
    return std::any_of(rules->begin(), rules->end(),
                       [&](const AccessRule& r) { return (r.rights & bit(right)) != 0 && applies(r, viewer, groups); });
}

AccessScope AccessControl::scope(const std::string& viewer, const std::vector<std::string>& groups,
                                 Permission right) const {
    AccessScope out;
    Both any;
    auto rules = snapshot();
    for (const auto& r : *rules) {
        if ((r.rights & bit(right)) == 0 || !applies(r, viewer, groups)) continue;
        out.none = false;
        Both c = rule_condition(r, settings_);
        if (c.sql.empty()) {
            out.all = true;
            return out;
        }
        any.add(any.sql.empty() ? "(" : " OR (", {});
        any.add(c.sql, c.params, c.pg, c.pg_params);
        any.add(")", {});
    }
    if (out.none) {
        out.cond.sql = "1 = 0";
        return out;
    }
    out.cond = {any.sql, any.params, any.pg, any.pg_params};
    return out;
}

SqlCondition audit_scope(const AccessScope& scope) {
    if (scope.none) return {"1 = 0", {}, "", {}};
    if (scope.all) return {"1 = 1", {}, "", {}};
    const std::string head =
        "(SELECT 1 FROM sessions s WHERE s.host = audit_events.host AND s.rec = audit_events.rec AND (";
    return {head + scope.cond.sql + ")) IS NOT NULL", scope.cond.params, head + scope.cond.pg_sql + ")) IS NOT NULL",
            scope.cond.pg_params};
}

}  // namespace tlog::server
