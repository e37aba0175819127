// Rules file loader. Strict on purpose: an unknown key, a wrong type or an
// unknown host group is an error, because a typo in a recording rule silently
// widens or narrows who is recorded.
#include "tlog/policy/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "tlog/json.h"
#include "tlog/policy/yaml_reader.h"
#include "tlog/settings.h"

namespace tlog::policy {
namespace {

class Loader : public YamlReader {
public:
    using YamlReader::YamlReader;

    UidRange uid_range(const YAML::Node& n, const std::string& key) const {
        const std::string s = scalar(n, key);
        const auto dash = s.find('-');
        auto parse = [&](const std::string& t) -> uid_t {
            if (t.empty() || t.size() > 10 || !std::all_of(t.begin(), t.end(), ::isdigit))
                fail(n, key, "expected a uid or a range LOW-HIGH, got '" + s + "'");
            const unsigned long long v = std::strtoull(t.c_str(), nullptr, 10);
            if (v >= 0xffffffffull) fail(n, key, "uid out of range: " + t);
            return static_cast<uid_t>(v);
        };
        UidRange r;
        if (dash == std::string::npos) {
            r.lo = r.hi = parse(s);
        } else {
            r.lo = parse(s.substr(0, dash));
            r.hi = parse(s.substr(dash + 1));
            if (r.lo > r.hi) fail(n, key, "empty uid range '" + s + "'");
        }
        return r;
    }

    Settings settings(const YAML::Node& n, const std::string& path) const {
        if (!n.IsMap()) fail(n, path, "expected a mapping");
        only_keys(n, path, {"input", "input_secrets", "output", "window", "rate_limit", "writer"});
        Settings s;
        if (auto v = n["input"]) s.input = boolean(v, path + ".input");
        if (auto v = n["input_secrets"]) {
            const std::string w = scalar(v, path + ".input_secrets");
            if (w != "hide" && w != "record")
                fail(v, path + ".input_secrets", "expected hide or record, got '" + w + "'");
            s.input_secrets = w;
        }
        if (auto v = n["output"]) s.output = boolean(v, path + ".output");
        if (auto v = n["window"]) s.window = boolean(v, path + ".window");
        if (auto v = n["writer"]) s.writer = scalar(v, path + ".writer");
        if (auto rl = n["rate_limit"]) {
            const std::string p = path + ".rate_limit";
            if (!rl.IsMap()) fail(rl, p, "expected a mapping");
            only_keys(rl, p, {"rate", "burst", "action"});
            if (auto v = rl["rate"]) s.limit.rate = unsigned_number(v, p + ".rate", UINT32_MAX);
            if (auto v = rl["burst"]) s.limit.burst = unsigned_number(v, p + ".burst", UINT32_MAX);
            if (auto v = rl["action"]) s.limit.action = scalar(v, p + ".action");
        }
        check_with_recorder_table(n, path, s);
        return s;
    }

    // The values are checked by the recorder's own settings table, as
    // tlog-rec-session checks them when pam_tlog hands them over: a rule the
    // recorder would refuse is refused here, not at every matching login.
    void check_with_recorder_table(const YAML::Node& n, const std::string& path, const Settings& s) const {
        static constexpr std::pair<const char*, const char*> kYamlName[] = {{"log.input", "input"},
                                                                            {"log.output", "output"},
                                                                            {"log.window", "window"},
                                                                            {"limit.rate", "rate_limit.rate"},
                                                                            {"limit.burst", "rate_limit.burst"},
                                                                            {"limit.action", "rate_limit.action"},
                                                                            {"writer", "writer"}};
        try {
            settings::check_layer(json::parse(s.to_json(), "<rule settings>"), "<rule settings>",
                                  settings::Program::RecSession);
        } catch (const InputError& e) {
            std::string yaml_key = e.where().field;
            for (const auto& [json_key, yaml] : kYamlName)
                if (yaml_key == json_key) yaml_key = yaml;
            YAML::Node at = n;
            if (yaml_key.rfind("rate_limit.", 0) == 0 && n["rate_limit"]) {
                at = n["rate_limit"][yaml_key.substr(11)];
            } else if (n[yaml_key]) {
                at = n[yaml_key];
            }
            fail(at, join(path, yaml_key), e.message() + " (the recorder's settings)");
        }
    }

    Rule rule(const YAML::Node& n, size_t index) const {
        const std::string path = "rules[" + std::to_string(index) + "]";
        if (!n.IsMap()) fail(n, path, "expected a mapping");
        only_keys(n, path,
                  {"name", "enabled", "priority", "action", "users", "uids", "groups", "hosts", "hostgroups",
                   "netgroups", "services", "sessions", "settings", "audit", "retention", "description"});
        Rule r;
        r.where = at(n, path);
        if (auto v = n["name"])
            r.name = scalar(v, path + ".name");
        else
            fail(n, path + ".name", "every rule needs a name (explain and logs refer to it)");
        if (r.name.empty()) fail(n["name"], path + ".name", "empty rule name");
        r.where.field = path + " (" + r.name + ")";
        if (auto v = n["enabled"]) r.enabled = boolean(v, path + ".enabled");
        if (auto v = n["priority"]) r.priority = integer(v, path + ".priority");
        if (auto v = n["action"]) {
            const std::string a = scalar(v, path + ".action");
            if (a == "record")
                r.action = Action::Record;
            else if (a == "exclude")
                r.action = Action::Exclude;
            else
                fail(v, path + ".action", "expected record or exclude, got '" + a + "'");
        } else {
            fail(n, path + ".action", "missing action (record or exclude)");
        }
        bool who = false;
        if (auto v = n["users"]) {
            r.all_users = names_or_all(v, path + ".users", r.users);
            who = true;
        }
        if (auto v = n["uids"]) {
            if (!v.IsSequence()) fail(v, path + ".uids", "expected a list of uids or LOW-HIGH ranges");
            for (const auto& item : v) r.uids.push_back(uid_range(item, path + ".uids"));
            who = true;
        }
        if (auto v = n["groups"]) {
            names(v, path + ".groups", r.groups);
            who = true;
        }
        if (!who) fail(n, path + ".users", "rule names no users: give users, uids or groups (or users: all)");
        if (!r.all_users && r.users.empty() && r.uids.empty() && r.groups.empty())
            fail(n, path + ".users", "empty lists match nobody; remove the rule or disable it");
        if (r.all_users && (!r.uids.empty() || !r.groups.empty()))
            fail(n["users"], path + ".users", "users: all cannot be combined with uids or groups");

        const bool any_host = n["hosts"] || n["hostgroups"] || n["netgroups"];
        if (any_host) {
            r.all_hosts = false;
            if (auto v = n["hosts"]) r.all_hosts = names_or_all(v, path + ".hosts", r.hosts);
            if (auto v = n["hostgroups"]) names(v, path + ".hostgroups", r.hostgroups);
            if (auto v = n["netgroups"]) names(v, path + ".netgroups", r.netgroups);
            if (r.all_hosts && (!r.hostgroups.empty() || !r.netgroups.empty()))
                fail(n["hosts"], path + ".hosts", "hosts: all cannot be combined with hostgroups or netgroups");
            if (!r.all_hosts && r.hosts.empty() && r.hostgroups.empty() && r.netgroups.empty())
                fail(n, path + ".hosts", "empty lists match no host; remove the rule or disable it");
        }
        if (auto v = n["services"]) {
            r.all_services = names_or_all(v, path + ".services", r.services);
            if (!r.all_services && r.services.empty())
                fail(v, path + ".services", "empty list matches nothing; remove the rule or disable it");
        }
        if (auto v = n["sessions"]) {
            std::vector<std::string> kinds;
            if (!names_or_all(v, path + ".sessions", kinds)) {
                r.kinds = 0;
                for (size_t i = 0; i < kinds.size(); ++i) {
                    if (auto k = parse_kind(kinds[i]))
                        r.kinds |= *k;
                    else
                        fail(v[i], path + ".sessions",
                             "expected interactive, command or transfer, got '" + kinds[i] + "'");
                }
                if (!r.kinds) fail(v, path + ".sessions", "empty list matches nothing");
            }
        }
        if (auto v = n["settings"]) r.settings = settings(v, path + ".settings");
        if (auto v = n["audit"]) {
            const std::string a = scalar(v, path + ".audit");
            if (a == "none")
                r.audit = AuditLevel::None;
            else if (a == "login")
                r.audit = AuditLevel::Login;
            else if (a == "session")
                r.audit = AuditLevel::Session;
            else
                fail(v, path + ".audit", "expected none, login or session, got '" + a + "'");
        }
        if (auto v = n["retention"]) r.retention = scalar(v, path + ".retention");
        return r;
    }

    // SSSD's session_recording section, translated to ordinary rules so that
    // one evaluator answers for both: scope=some records users and groups
    // (exclude lists ignored, as in SSSD); scope=all records everyone except
    // exclude_users/exclude_groups (exclude wins at equal priority).
    void sssd(const YAML::Node& n, Policy& p) const {
        const std::string path = "sssd";
        if (!n.IsMap()) fail(n, path, "expected a mapping");
        only_keys(n, path, {"scope", "users", "groups", "exclude_users", "exclude_groups"});
        std::string scope = "none";
        if (auto v = n["scope"]) scope = scalar(v, "sssd.scope");
        std::vector<std::string> users, groups, xusers, xgroups;
        if (auto v = n["users"]) names(v, "sssd.users", users);
        if (auto v = n["groups"]) names(v, "sssd.groups", groups);
        if (auto v = n["exclude_users"]) names(v, "sssd.exclude_users", xusers);
        if (auto v = n["exclude_groups"]) names(v, "sssd.exclude_groups", xgroups);
        Rule base;
        base.where = at(n, path);
        if (scope == "none") return;
        if (scope == "some") {
            if (users.empty() && groups.empty()) return;  // SSSD: nobody recorded
            base.name = "sssd-scope-some";
            base.users = users;
            base.groups = groups;
            p.rules.push_back(base);
        } else if (scope == "all") {
            base.name = "sssd-scope-all";
            base.all_users = true;
            p.rules.push_back(base);
            if (!xusers.empty() || !xgroups.empty()) {
                Rule x = base;
                x.name = "sssd-exclude";
                x.all_users = false;
                x.action = Action::Exclude;
                x.users = xusers;
                x.groups = xgroups;
                p.rules.push_back(x);
            }
        } else {
            fail(n["scope"], "sssd.scope", "expected none, some or all, got '" + scope + "'");
        }
    }

    Policy load(const std::string& text) const {
        YAML::Node root = parse(text);
        Policy p;
        p.source = source();
        if (!root.IsMap()) {
            if (root.IsNull()) throw InputError(Location{source(), 0, 0, ""}, "empty rules file");
            fail(root, "", "expected a mapping at the top level");
        }
        only_keys(root, "", {"version", "default", "recorder", "nss", "hostgroups", "rules", "sssd"});
        if (auto v = root["version"]) {
            if (unsigned_number(v, "version", 1000) != 1)
                fail(v, "version", "unsupported version (this build reads version 1)");
        }
        if (auto v = root["default"]) {
            const std::string d = scalar(v, "default");
            if (d == "record")
                p.default_action = Action::Record;
            else if (d == "exclude")
                p.default_action = Action::Exclude;
            else
                fail(v, "default", "expected record or exclude, got '" + d + "'");
        }
        if (auto v = root["recorder"]) {
            p.recorder = scalar(v, "recorder");
            if (p.recorder.empty() || p.recorder[0] != '/') fail(v, "recorder", "must be an absolute path");
            if (p.recorder.size() > 1024) fail(v, "recorder", "path too long");
        }
        if (auto nss = root["nss"]) {
            if (!nss.IsMap()) fail(nss, "nss", "expected a mapping");
            only_keys(nss, "nss", {"unrecorded"});
            if (auto v = nss["unrecorded"]) {
                const std::string u = scalar(v, "nss.unrecorded");
                if (u == "answer")
                    p.nss_answer_unrecorded = true;
                else if (u != "notfound")
                    fail(v, "nss.unrecorded", "expected notfound or answer, got '" + u + "'");
            }
        }
        if (auto hg = root["hostgroups"]) {
            if (!hg.IsMap()) fail(hg, "hostgroups", "expected a mapping of group name to host list");
            for (const auto& kv : hg) {
                const std::string name = scalar(kv.first, "hostgroups");
                std::vector<std::string> hosts;
                names(kv.second, "hostgroups." + name, hosts);
                if (!p.hostgroups.emplace(name, std::move(hosts)).second)
                    fail(kv.first, "hostgroups." + name, "duplicate host group");
            }
        }
        if (auto rules = root["rules"]) {
            if (!rules.IsSequence()) fail(rules, "rules", "expected a list of rules");
            size_t i = 0;
            for (const auto& n : rules) p.rules.push_back(rule(n, i++));
        }
        if (auto s = root["sssd"]) sssd(s, p);

        std::set<std::string> seen;
        for (size_t i = 0; i < p.rules.size(); ++i) {
            const Rule& r = p.rules[i];
            if (!seen.insert(r.name).second) throw InputError(r.where, "duplicate rule name '" + r.name + "'");
            for (const auto& g : r.hostgroups)
                if (!p.hostgroups.count(g)) throw InputError(r.where, "unknown host group '" + g + "'");
        }
        return p;
    }
};

}  // namespace

Policy load_policy_text(const std::string& text, const std::string& source) {
    try {
        return Loader(source).load(text);
    } catch (const YAML::Exception& e) {
        // A yaml-cpp error not caught above (a conversion): still name the place.
        Location l;
        l.file = source;
        if (e.mark.line >= 0) {
            l.line = static_cast<uint64_t>(e.mark.line) + 1;
            l.column = static_cast<uint64_t>(e.mark.column) + 1;
        }
        throw InputError(l, e.msg);
    }
}

Policy load_policy_file(const std::string& path) { return load_policy_text(read_yaml_file(path), path); }

}  // namespace tlog::policy
