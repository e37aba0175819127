// tlog-server retention run [--now TIME] [--dry-run] [--json] [--timer]
// tlog-server retention show [--json]
// tlog-server retention tombstones [--json]
// (doc/server.md, "Retention"; tlog-server(8)).
#include <unistd.h>

#include <iostream>
#include <optional>
#include <stdexcept>

#include "cmd_retention.h"
#include "tlog/json.h"
#include "tlog/policy/ldap_source.h"
#include "tlog/server/admin_api.h"
#include "tlog/server/retention.h"
#include "tlog/server/retention_ldap.h"
#include "tlog/server/store.h"
#include "tlog_build_config.h"

namespace tlog::server {

CommandArgs parse_command(const std::vector<std::string>& args, const std::set<std::string>& valued,
                          const std::set<std::string>& flags) {
    CommandArgs a;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& w = args[i];
        if (w.rfind("--", 0) != 0) {
            a.words.push_back(w);
            continue;
        }
        std::string name = w;
        std::string value;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        } else if (valued.count(name) != 0) {
            if (i + 1 >= args.size()) throw std::invalid_argument(name + " needs a value");
            value = args[++i];
        }
        if (valued.count(name) != 0) {
            if (a.values.count(name) != 0) throw std::invalid_argument(name + " given twice");
            a.values[name] = value;
        } else if (flags.count(name) != 0 && w.find('=') == std::string::npos) {
            a.flags.insert(name);
        } else {
            throw std::invalid_argument("unknown option " + w);
        }
    }
    return a;
}

std::string invoking_user() {
    std::string name = account_name();
    // The person behind sudo -u tlog-server: glibc's getlogin() reads the
    // audit login uid (/proc/self/loginuid), which sudo and su keep and the
    // user cannot change.
    const char* login = getlogin();
    if (login != nullptr && *login != '\0' && name != login) {
        return std::string(login) + " (as " + name + ")";
    }
    return name;
}

}  // namespace tlog::server

namespace {

using namespace tlog::server;

void print_item(const RetentionItem& i) {
    std::cout << i.outcome << ' ' << i.host << ' ' << i.rec << " user " << i.user << " class " << i.class_name;
    if (!i.reason.empty()) std::cout << " (" << i.reason << ")";
    std::cout << ' ' << i.messages << " messages " << i.bytes << " bytes";
    if (!i.tombstone.sha256.empty()) std::cout << " sha256 " << i.tombstone.sha256;
    if (!i.tombstone.archive_file.empty()) std::cout << " archive " << i.tombstone.archive_file;
    std::cout << '\n';
}

// The classes in force for this run: the file's, and the directory's with
// retention_ldap (nullopt: the directory could not be read, said on stderr).
std::optional<RetentionInForce> classes_in_force(const ServerConfig& c) {
    try {
        RetentionInForce f = retention_in_force(c.retention);
        for (const auto& n : f.notes) std::cerr << "tlog-server: retention: " << n << '\n';
        return f;
    } catch (const tlog::policy::LdapError& e) {
        std::cerr << "tlog-server: retention: retention_ldap " << c.retention.ldap << ": " << e.what()
                  << ": nothing decided or purged (a class the directory holds must not be purged unread)\n";
        return std::nullopt;
    }
}

int run(const ServerConfig& c, const CommandArgs& a) {
    RetentionRunOptions opt;
    opt.now_ms = a.values.count("--now") != 0 ? retention_time(a.values.at("--now"), "--now")
                                              : static_cast<uint64_t>(time(nullptr)) * 1000;
    opt.dry_run = a.flags.count("--dry-run") != 0;
    opt.account = account_name();
    opt.who = a.flags.count("--timer") != 0 ? "timer" : invoking_user();
    auto in_force = classes_in_force(c);
    if (!in_force) return 3;
    const RetentionSettings& settings = in_force->settings;
    if (settings.classes.empty()) {
        std::cerr << "tlog-server: retention: no retention classes configured"
                  << (c.source.empty() ? std::string() : " in " + c.source) << ": every recording is kept\n";
    } else if (settings.default_class.empty()) {
        std::cerr << "tlog-server: retention: no retention_default: recordings whose rule names no configured "
                     "class are kept\n";
    }
    // With checkpoints on, every tombstone is signed: a key that does not
    // load stops the run (unsigned tombstones would read as tampering).
    std::optional<tlog::proof::Key> key;
    if (!c.checkpoint_key.empty() && !opt.dry_run) {
        key.emplace(tlog::proof::Key::load_private(c.checkpoint_key));
        opt.key = &*key;
    }
    auto store = open_store(c.database);
    auto report = run_retention(*store, settings, opt);
    if (a.flags.count("--json") != 0) {
        std::cout << retention_report_json(report, opt.dry_run) << '\n';
    } else {
        for (const auto& i : report.items) print_item(i);
        std::cout << (opt.dry_run ? "dry run: " : "") << report.sessions << " recordings looked at, "
                  << report.classes_decided << " classes decided, " << report.items.size()
                  << " past their limits or held";
        if (!report.manifest.empty()) std::cout << ", manifest " << report.manifest;
        std::cout << '\n';
    }
    return 0;
}

// tlog-server retention show: what a run would go by.
int show(const ServerConfig& c, const CommandArgs& a) {
    auto in_force = classes_in_force(c);
    if (!in_force) return 3;
    const RetentionSettings& s = in_force->settings;
    if (a.flags.count("--json") != 0) {
        auto classes = tlog::json::Value::make_array();
        for (const auto& [name, k] : s.classes) {
            auto o = tlog::json::Value::make_object();
            o.set("name", tlog::json::Value::make_string(name));
            o.set("days", tlog::json::Value::make_uint(k.days));
            o.set("max_bytes",
                  k.max_bytes ? tlog::json::Value::make_uint(*k.max_bytes) : tlog::json::Value::make_null());
            o.set("action",
                  tlog::json::Value::make_string(k.action == RetentionClass::Action::Archive ? "archive" : "purge"));
            o.set("hold", tlog::json::Value::make_bool(k.hold));
            o.set("source", tlog::json::Value::make_string(k.source.empty() ? c.source : k.source));
            classes.items().push_back(std::move(o));
        }
        auto rules = tlog::json::Value::make_object();
        for (const auto& [rule, cls] : s.rules) rules.set(rule, tlog::json::Value::make_string(cls));
        auto notes = tlog::json::Value::make_array();
        for (const auto& n : in_force->notes) notes.items().push_back(tlog::json::Value::make_string(n));
        auto out = tlog::json::Value::make_object();
        out.set("classes", std::move(classes));
        out.set("default", s.default_class.empty() ? tlog::json::Value::make_null()
                                                   : tlog::json::Value::make_string(s.default_class));
        out.set("rules", std::move(rules));
        out.set("ldap", in_force->server.empty() ? tlog::json::Value::make_null()
                                                 : tlog::json::Value::make_string(in_force->server));
        out.set("notes", std::move(notes));
        std::cout << tlog::json::dump(out) << '\n';
        return 0;
    }
    for (const auto& [name, k] : s.classes) {
        std::cout << "class " << name << ": " << k.days << " days";
        if (k.max_bytes) std::cout << ", at most " << *k.max_bytes << " bytes";
        std::cout << (k.action == RetentionClass::Action::Archive ? ", archive to " + k.archive_dir : ", purge")
                  << (k.hold ? ", on legal hold" : "") << " (" << (k.source.empty() ? c.source : k.source) << ")\n";
    }
    for (const auto& [rule, cls] : s.rules)
        std::cout << "rule " << rule << ": class " << cls
                  << (s.classes.count(cls) == 0 ? " (not configured: kept)" : "") << '\n';
    std::cout << "default: " << (s.default_class.empty() ? "none (kept)" : s.default_class) << '\n';
    if (!in_force->server.empty()) std::cout << "directory: " << in_force->server << '\n';
    return 0;
}

int tombstones(const ServerConfig& c, const CommandArgs& a) {
    auto store = open_store(c.database);
    bool as_json = a.flags.count("--json") != 0;
    for (const auto& t : list_tombstones(*store)) {
        if (as_json) {
            std::cout << tombstone_json(t) << '\n';
        } else {
            std::cout << t.id << ' ' << t.host << ' ' << t.rec << " user " << t.user << ' ' << t.messages
                      << " messages sha256 " << t.sha256 << ' ' << t.action << " by " << t.who << " class "
                      << t.class_name << " (" << t.reason << ")";
            if (!t.archive_file.empty()) std::cout << " archive " << t.archive_file << " sha256 " << t.archive_sha256;
            std::cout << (t.signature.empty() ? " unsigned" : " signed by key " + t.key_id);
            std::cout << '\n';
        }
    }
    return 0;
}

}  // namespace

int tlog::server::cmd_retention(const ServerConfig& c, const std::vector<std::string>& args) {
    try {
        auto a = parse_command(args, {"--now"}, {"--dry-run", "--json", "--timer"});
        if (a.words.size() == 1 && a.words[0] == "run") return run(c, a);
        if (a.words.size() == 1 && a.words[0] == "tombstones") return tombstones(c, a);
        if (a.words.size() == 1 && a.words[0] == "show") return show(c, a);
        std::cerr << "usage: tlog-server retention run [--now TIME] [--dry-run] [--json] [--timer]\n"
                     "       tlog-server retention show [--json]\n"
                     "       tlog-server retention tombstones [--json]\n";
        return 2;
    } catch (const std::invalid_argument& e) {
        std::cerr << "tlog-server: retention: " << e.what() << '\n';
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "tlog-server: retention: " << e.what() << '\n';
        return 1;
    }
}
