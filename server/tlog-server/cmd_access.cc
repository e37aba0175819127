// tlog-server access show [--json]: the access rules as the server would
// read them now, the file's and the directory's (doc/server.md, "Access
// rules from LDAP"; tlog-server(8)), so an administrator sees what an LDAP
// entry became and why one was skipped.
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/policy/ldap_source.h"
#include "tlog/server/access.h"
#include "tlog/server/access_ldap.h"

namespace tlog::server {

namespace {

std::string source_of(const AccessRule& r) {
    if (r.where.line == 0) return r.where.file;
    return r.where.file + ":" + std::to_string(r.where.line);
}

json::Value list_json(const AccessList& l, const std::vector<std::string>& more = {}) {
    if (l.all) return json::Value::make_string("all");
    json::Value a = json::Value::make_array();
    for (const auto& s : l.items) a.items().push_back(json::Value::make_string(s));
    for (const auto& s : more) a.items().push_back(json::Value::make_string(s));
    return a;
}

json::Value rule_json(const AccessRule& r) {
    json::Value o = json::Value::make_object();
    o.set("name", json::Value::make_string(r.name));
    o.set("source", json::Value::make_string(source_of(r)));
    json::Value viewers = json::Value::make_object();
    if (r.viewer_users.given) viewers.set("users", list_json(r.viewer_users));
    if (r.viewer_groups.given) viewers.set("groups", list_json(r.viewer_groups));
    o.set("viewers", std::move(viewers));
    json::Value recs = json::Value::make_object();
    if (r.users.given) recs.set("users", list_json(r.users));
    if (r.groups.given) recs.set("groups", list_json(r.groups));
    if (r.hosts.given) recs.set("hosts", list_json(r.hosts, r.host_names));
    if (r.host_groups.given) recs.set("host_groups", list_json(r.host_groups));
    o.set("recordings", std::move(recs));
    json::Value rights = json::Value::make_array();
    for (Permission p : access_rights()) {
        if ((r.rights & (1U << static_cast<unsigned>(p))) != 0) {
            rights.items().push_back(json::Value::make_string(permission_name(p)));
        }
    }
    o.set("rights", std::move(rights));
    return o;
}

// "users [a, b]" / "users all"
std::string list_text(const json::Value& v) {
    if (v.is_string()) return v.as_string();
    std::string out = "[";
    for (const auto& i : v.items()) out += (out.size() > 1 ? ", " : "") + i.as_string();
    return out + "]";
}

std::string rule_text(const json::Value& r) {
    std::string out = r.find("name")->as_string() + " (" + r.find("source")->as_string() + ")\n";
    for (const char* part : {"viewers", "recordings"}) {
        out += std::string("  ") + part + ":";
        for (const auto& [k, v] : r.find(part)->members()) out += " " + k + " " + list_text(v) + ";";
        out.back() = '\n';
    }
    return out + "  rights: " + list_text(*r.find("rights")) + "\n";
}

int run_show(const ServerConfig& c, bool as_json) {
    const std::string path = access_rules_file(c);
    AccessRules file;
    try {
        file = load_access_rules(path, c.search);
    } catch (const std::exception& e) {
        std::cerr << "tlog-server access: " << e.what() << '\n';
        return 1;
    }
    json::Value rules = json::Value::make_array();
    for (const auto& r : file.rules) rules.items().push_back(rule_json(r));
    json::Value skipped = json::Value::make_array();
    json::Value ldap;  // null: no directory configured
    std::string ldap_error;
    if (!c.access_ldap.config.empty()) {
        ldap = json::Value::make_object();
        try {
            auto config = load_access_ldap_config(c.access_ldap.config);
            DirectoryAccess d = read_directory_access(*config);
            ldap.set("server", json::Value::make_string(d.server));
            for (const auto& r : d.rules) rules.items().push_back(rule_json(r));
            for (const auto& s : d.skipped) skipped.items().push_back(json::Value::make_string(s));
        } catch (const InputError& e) {
            std::cerr << "tlog-server access: " << e.what() << '\n';
            return 1;
        } catch (const std::exception& e) {
            ldap_error = e.what();
            ldap.set("error", json::Value::make_string(ldap_error));
        }
    }
    if (as_json) {
        json::Value out = json::Value::make_object();
        out.set("rules", std::move(rules));
        out.set("skipped", std::move(skipped));
        out.set("ldap", std::move(ldap));
        std::cout << json::dump(out) << '\n';
    } else {
        std::cout << "# " << path << (file.found ? "" : " (no such file)") << ": " << file.rules.size() << " rule(s)\n";
        if (!c.access_ldap.config.empty()) {
            std::cout << "# " << c.access_ldap.config << ": "
                      << (ldap_error.empty() ? ldap.find("server")->as_string() : "not read") << '\n';
        }
        if (rules.items().empty()) std::cout << "# no rule: nobody may read recordings\n";
        for (const auto& r : rules.items()) std::cout << rule_text(r);
        for (const auto& s : skipped.items()) std::cout << "skipped: " << s.as_string() << '\n';
    }
    if (!ldap_error.empty()) {
        std::cerr << "tlog-server access: the directory could not be read: " << ldap_error << '\n';
        return 2;
    }
    return 0;
}

}  // namespace

int cmd_access(const ServerConfig& c, const std::vector<std::string>& args) {
    bool as_json = false;
    std::string sub;
    for (const auto& a : args) {
        if (a == "--json") {
            as_json = true;
        } else if (a == "--help" || a == "-h") {
            std::cout << "Usage: tlog-server access show [--json]\n"
                         "Prints the access rules in force: the file's (access_rules) and the directory's\n"
                         "(access_ldap), and the directory entries skipped, with why.\n";
            return 0;
        } else if (sub.empty() && a == "show") {
            sub = a;
        } else {
            std::cerr << "tlog-server access: unexpected argument " << a
                      << " (usage: tlog-server access show [--json])\n";
            return 2;
        }
    }
    if (sub.empty()) {
        std::cerr << "tlog-server access: usage: tlog-server access show [--json]\n";
        return 2;
    }
    return run_show(c, as_json);
}

}  // namespace tlog::server
