// tlog-policy: check, explain and compile recording rules (tlog-policy(8)).
#include <poll.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tlog/json.h"
#include "tlog/policy/audit_rules.h"
#include "tlog/policy/cache_reader.h"
#include "tlog/policy/cache_writer.h"
#include "tlog/policy/evaluator.h"
#include "tlog/policy/identity.h"
#include "tlog/policy/ldap_manage.h"
#include "tlog/policy/ldap_source.h"
#include "tlog/policy/loader.h"
#include "tlog/policy/paths.h"
#include "tlog_build_config.h"

using namespace tlog::policy;

namespace {

const char kUsage[] =
    "usage: tlog-policy check [FILE] [--ldap CONF]\n"
    "       tlog-policy explain USER [--host HOST] [--service SERVICE] [--session KIND] [--rules FILE]\n"
    "                                [--ldap CONF | --no-ldap]\n"
    "       tlog-policy compile [--rules FILE] [--output CACHE] [--host HOST]\n"
    "       tlog-policy sync [--rules FILE] [--ldap CONF] [--output CACHE] [--host HOST]\n"
    "       tlog-policy show-cache [CACHE]\n"
    "       tlog-policy ldap add|mod NAME [RULE OPTIONS] [MEMBER OPTIONS]    (tlog-policy(8), LDAP MANAGEMENT)\n"
    "       tlog-policy ldap del|show|enable|disable NAME\n"
    "       tlog-policy ldap find [TEXT]\n"
    "       tlog-policy ldap add-member|remove-member NAME MEMBER OPTIONS\n"
    "         common: [--ldap CONF] [--json] [--bind none|simple|external|gssapi] [--bind-dn DN]\n"
    "                 [--password-file FILE]\n"
    "       tlog-policy lookup-cache NAME UID GID [CACHE]\n"
    "       tlog-policy audit-rules [--rules FILE] [--host HOST]\n"
    "       tlog-policy --version | --help\n"
    "defaults: rules " TLOG_SYSCONFDIR "/rules.yaml, LDAP " TLOG_SYSCONFDIR
    "/ldap.yaml,\n"
    "          cache /var/lib/tlog/policy.cache\n";

const std::string kDefaultRules = std::string(TLOG_SYSCONFDIR) + "/rules.yaml";
const std::string kDefaultLdap = std::string(TLOG_SYSCONFDIR) + "/ldap.yaml";
const std::string kDefaultRecorder = std::string(TLOG_BINDIR) + "/tlog-rec-session";

struct Args {
    std::vector<std::string> positional;
    std::string host, service, session, rules, output, ldap;
    bool no_ldap = false;
};

Args parse(int argc, char** argv, int first) {
    Args a;
    for (int i = first; i < argc; ++i) {
        std::string s = argv[i];
        auto value = [&](std::string& dst) {
            if (i + 1 >= argc) throw std::runtime_error("option " + s + " needs a value");
            dst = argv[++i];
        };
        if (s == "--host")
            value(a.host);
        else if (s == "--service")
            value(a.service);
        else if (s == "--session")
            value(a.session);
        else if (s == "--rules")
            value(a.rules);
        else if (s == "--output")
            value(a.output);
        else if (s == "--ldap")
            value(a.ldap);
        else if (s == "--no-ldap")
            a.no_ldap = true;
        else if (s.size() > 1 && s[0] == '-')
            throw std::runtime_error("unknown option " + s);
        else
            a.positional.push_back(s);
    }
    return a;
}

std::string cache_path_default() {
    const char* env = secure_getenv(kCacheEnv);
    return env && *env ? env : kDefaultCachePath;
}

// The cache's creation time: now, or SOURCE_DATE_EPOCH (the reproducible-builds
// convention) so that two compiles of the same rules give the same bytes.
uint64_t created_time() {
    if (const char* e = getenv("SOURCE_DATE_EPOCH"); e && *e) return std::strtoull(e, nullptr, 10);
    return static_cast<uint64_t>(time(nullptr));
}

void log_line(int priority, const std::string& msg) {
    std::cerr << "tlog-policy: " << msg << "\n";
    openlog("tlog-policy", LOG_PID, LOG_AUTHPRIV);
    syslog(priority, "%s", msg.c_str());
    closelog();
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0;
}

// The LDAP configuration explain and sync use: --ldap, else ldap.yaml when it exists.
std::string ldap_config_path(const Args& a) {
    if (a.no_ldap) return "";
    if (!a.ldap.empty()) return a.ldap;
    return file_exists(kDefaultLdap) ? kDefaultLdap : "";
}

int cmd_check(const Args& a) {
    const std::string file = a.positional.empty() ? kDefaultRules : a.positional[0];
    Policy p = load_policy_file(file);
    // Compile too (in memory) so limits of the cache are checked as well.
    CompileResult c = compile_cache(p, local_hostname(), kDefaultRecorder, lookup_group, 0);
    for (const auto& w : c.warnings) std::cerr << "warning: " << w << "\n";
    size_t enabled = 0;
    for (const auto& r : p.rules) enabled += r.enabled;
    std::cout << file << ": OK, " << p.rules.size() << " rules (" << enabled << " enabled), default "
              << action_name(p.default_action) << "\n";
    if (!a.ldap.empty()) {
        const LdapConfig c = load_ldap_config(a.ldap);
        static const char* const methods[] = {"none", "simple", "external", "gssapi"};
        std::cout << a.ldap << ": OK, " << c.uris.size() << " servers, base " << c.base << ", bind "
                  << methods[static_cast<int>(c.bind)] << (c.starttls ? ", StartTLS" : "") << "\n";
    }
    return 0;
}

void print_rule_detail(const Policy& p, int i) {
    const Rule& r = p.rules[i];
    std::cout << "settings: " << r.settings.to_json() << "\n"
              << "audit: " << audit_name(r.audit) << "\n"
              << "retention: " << (r.retention.empty() ? "default" : r.retention) << "\n";
}

int cmd_explain(const Args& a) {
    if (a.positional.size() != 1) throw std::runtime_error("explain needs one USER (name or uid)");
    const std::string file = a.rules.empty() ? kDefaultRules : a.rules;
    Policy p = load_policy_file(file);
    auto user = lookup_subject(a.positional[0]);
    if (!user) throw std::runtime_error("unknown user " + a.positional[0]);
    if (const std::string conf = ldap_config_path(a); !conf.empty()) {
        // The rules sync would merge, read now: explain says what the next sync will compile.
        try {
            LdapRules ldap = fetch_ldap_rules(load_ldap_config(conf));
            std::vector<std::string> skipped = ldap.skipped;
            merge_ldap_rules(p, ldap, skipped);
            for (const auto& w : skipped) std::cerr << "warning: " << w << "\n";
            // Directory groups (nested ones included) the user is in.
            for (const auto& [name, info] : ldap.groups)
                if (std::find(info.members.begin(), info.members.end(), user->name) != info.members.end() &&
                    std::find(user->groups.begin(), user->groups.end(), name) == user->groups.end())
                    user->groups.push_back(name);
            std::cout << "ldap: " << ldap.rules.size() << " rules from " << ldap.server << "\n";
        } catch (const LdapError& e) {
            std::cout << "ldap: not read (" << e.what() << "); local rules only\n";
        }
    }
    const std::string host = a.host.empty() ? local_hostname() : a.host;
    std::string groups;
    for (const auto& g : user->groups) groups += (groups.empty() ? "" : ",") + g;
    std::cout << "user: " << user->name << " uid=" << user->uid << " gid=" << user->gid << " groups=" << groups
              << "\nhost: " << host << "\n";
    const std::string recorder = p.recorder.empty() ? kDefaultRecorder : p.recorder;

    if (a.service.empty() && a.session.empty()) {
        // The question nss_tlog answers: recorded for some service or session kind?
        auto classes = evaluate_all_classes(p, *user, host);
        const bool rec = recorded_anywhere(classes);
        std::cout << "nss: " << (rec ? "recorded, shell " + recorder : std::string("not recorded")) << "\n";
        for (const auto& c : classes)
            std::cout << "  service " << (c.service.empty() ? "(any other)" : c.service) << ", " << kind_name(c.kind)
                      << ": " << c.decision.reason << "\n";
    } else {
        Request req{*user, host, a.service, kInteractive};
        if (!a.session.empty()) {
            if (a.session == "interactive")
                req.kind = kInteractive;
            else if (a.session == "command")
                req.kind = kCommand;
            else if (a.session == "transfer")
                req.kind = kTransfer;
            else
                throw std::runtime_error("--session must be interactive, command or transfer");
        }
        Decision d = evaluate(p, req);
        std::cout << "service: " << (a.service.empty() ? "(any)" : a.service) << ", session " << kind_name(req.kind)
                  << "\ndecision: " << (d.recorded ? "record" : "exclude") << "\n"
                  << "reason: " << d.reason << "\n";
        if (d.rule >= 0) print_rule_detail(p, d.rule);
    }
    std::cout << "rules in evaluation order:\n";
    for (int i : rank_rules(p)) {
        const Rule& r = p.rules[i];
        const bool u = rule_matches_user(r, *user), h = rule_matches_host(p, r, host);
        const bool s = a.service.empty() || rule_matches_service(r, a.service);
        const bool from_ldap = r.where.file.rfind("ldap:///", 0) == 0;
        std::cout << "  " << r.name << " (" << action_name(r.action) << ", priority " << r.priority << ", "
                  << (from_ldap ? "ldap " + r.where.file.substr(8) : "file " + r.where.str()) << "): user "
                  << (u ? "matches" : "no") << ", host " << (h ? "matches" : "no") << ", service "
                  << (s ? "matches" : "no") << "\n";
    }
    return 0;
}

int cmd_compile(const Args& a) {
    const std::string file = a.rules.empty() ? kDefaultRules : a.rules;
    const std::string out = a.output.empty() ? cache_path_default() : a.output;
    try {
        Policy p = load_policy_file(file);
        const std::string host = a.host.empty() ? local_hostname() : a.host;
        CompileResult c = compile_cache(p, host, kDefaultRecorder, lookup_group, created_time());
        for (const auto& w : c.warnings) std::cerr << "warning: " << w << "\n";
        write_atomically(out, c.bytes);
        std::cout << "compiled " << file << " (" << p.rules.size() << " rules, host " << host << ") into " << out
                  << "\n";
        return 0;
    } catch (const std::exception& e) {
        // The previous cache stays: nothing was renamed over it.
        const std::string msg = std::string(e.what()) + "; " + out + " not replaced, the last good rules stay in force";
        std::cerr << "tlog-policy: " << msg << "\n";
        openlog("tlog-policy", LOG_PID, LOG_AUTHPRIV);
        syslog(LOG_ERR, "%s", msg.c_str());
        closelog();
        return 1;
    }
}

int cmd_audit_rules(const Args& a) {
    const std::string file = a.rules.empty() ? kDefaultRules : a.rules;
    Policy p = load_policy_file(file);
    const std::string host = a.host.empty() ? local_hostname() : a.host;
    AuditRulesResult r = audit_rules(p, host, lookup_subject, lookup_group);
    for (const auto& w : r.warnings) std::cerr << "warning: " << w << "\n";
    std::cout << r.text;
    return 0;
}

// What the log says when the cache stays: how old the rules in force are.
std::string cache_age(const std::string& path) {
    cache::Mapping m;
    if (cache::map_file(path.c_str(), &m)) return "";
    const uint64_t created = m.view.header().created;
    cache::unmap(&m);
    const auto now = static_cast<uint64_t>(time(nullptr));
    const uint64_t age = now > created ? now - created : 0;
    return std::to_string(age) + " s old (compiled " + std::to_string(created) + ")";
}

// Bounds a whole sync: every LDAP operation has its own timeout, this catches
// anything that would still hang (a server that trickles answers). On expiry
// it logs and exits; the cache was not touched. It naps with poll(2) and
// reads the monotonic clock itself: no condition variable to get wrong.
class Watchdog {
public:
    Watchdog(int seconds, std::string message) : message_(std::move(message)) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
        thread_ = std::thread([this, deadline] {
            while (!done_.load()) {
                poll(nullptr, 0, 100);
                if (std::chrono::steady_clock::now() >= deadline) {
                    log_line(LOG_ERR, message_);
                    _exit(1);
                }
            }
        });
    }
    ~Watchdog() {
        done_.store(true);
        thread_.join();
    }
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

private:
    std::string message_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

int cmd_sync(const Args& a) {
    const std::string file = a.rules.empty() ? kDefaultRules : a.rules;
    const std::string out = a.output.empty() ? cache_path_default() : a.output;
    const std::string conf = a.ldap.empty() ? kDefaultLdap : a.ldap;
    const std::string kept = out + " not replaced, the last good rules stay in force";
    try {
        Policy p;
        if (file_exists(file)) {
            p = load_policy_file(file);
        } else {
            p.source = file;  // LDAP only: no local rules, the default excludes
        }
        const LdapConfig cfg = load_ldap_config(conf);
        const std::string host = !a.host.empty() ? a.host : !cfg.host.empty() ? cfg.host : local_hostname();
        LdapRules ldap;
        try {
            const std::string age = cache_age(out);
            Watchdog dog(cfg.deadline, "LDAP sync took longer than " + std::to_string(cfg.deadline) +
                                           " s (deadline) and was stopped; " + kept +
                                           (age.empty() ? "" : " (" + age + ")"));
            ldap = fetch_ldap_rules(cfg);
        } catch (const LdapError& e) {
            const std::string age = cache_age(out);
            if (!age.empty()) {
                log_line(LOG_ERR, std::string(e.what()) + "; " + kept + " (" + age + ")");
                return 1;
            }
            // No cache at all: the safe default. Everyone the local rules do
            // not exclude is recorded until a sync reaches the directory.
            p.default_action = Action::Record;
            CompileResult c = compile_cache(p, host, kDefaultRecorder, lookup_group, created_time());
            write_atomically(out, c.bytes);
            log_line(LOG_ERR, std::string(e.what()) + "; no cache existed: wrote " + out +
                                  " from the local rules with default record (everyone not excluded locally is "
                                  "recorded until a sync reaches the directory)");
            return 1;
        }
        const size_t local = p.rules.size();
        std::vector<std::string> skipped = ldap.skipped;
        merge_ldap_rules(p, ldap, skipped);
        for (const auto& w : skipped) log_line(LOG_WARNING, w);
        CompileResult c = compile_cache(p, host, kDefaultRecorder, ldap_group_resolver(ldap), created_time());
        for (const auto& w : c.warnings) std::cerr << "warning: " << w << "\n";
        write_atomically(out, c.bytes);
        std::cout << "synced " << (p.rules.size() - local) << " rules from " << ldap.server << " and " << local
                  << " from " << file << " (host " << host << ", " << skipped.size() << " entries skipped) into " << out
                  << "\n";
        return 0;
    } catch (const std::exception& e) {
        log_line(LOG_ERR, std::string(e.what()) + "; " + kept);
        return 1;
    }
}

// `tlog-policy ldap VERB NAME [options]`: rule options, member options and
// the administrator's own bind (the host's ldap.yaml binds as the host, which
// may only read).
int cmd_ldap(int argc, char** argv) {
    if (argc < 3)
        throw std::runtime_error(
            "ldap needs a verb: add, mod, del, show, find, enable, disable, "
            "add-member, remove-member");
    const std::string verb = argv[2];
    std::vector<std::string> pos;
    RuleEdit edit;
    Members members;
    bool as_json = false;
    std::string conf = kDefaultLdap, bind, bind_dn, password_file;
    auto parse_bool = [](const std::string& opt, const std::string& v) {
        if (v == "true" || v == "yes") return true;
        if (v == "false" || v == "no") return false;
        throw std::runtime_error(opt + ": expected true or false, got '" + v + "'");
    };
    auto parse_num = [](const std::string& opt, const std::string& v, bool allow_negative) -> int64_t {
        const bool neg = allow_negative && !v.empty() && v[0] == '-';
        const std::string d = neg ? v.substr(1) : v;
        if (d.empty() || d.size() > 9 || !std::all_of(d.begin(), d.end(), ::isdigit))
            throw std::runtime_error(opt + ": expected a number, got '" + v + "'");
        return neg ? -std::stoll(d) : std::stoll(d);
    };
    for (int i = 3; i < argc; ++i) {
        const std::string s = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error("option " + s + " needs a value");
            return argv[++i];
        };
        if (s == "--json")
            as_json = true;
        else if (s == "--ldap")
            conf = value();
        else if (s == "--bind")
            bind = value();
        else if (s == "--bind-dn")
            bind_dn = value();
        else if (s == "--password-file")
            password_file = value();
        else if (s == "--action")
            edit.action = value();
        else if (s == "--desc")
            edit.description = value();
        else if (s == "--audit")
            edit.audit = value();
        else if (s == "--retention")
            edit.retention = value();
        else if (s == "--writer")
            edit.writer = value();
        else if (s == "--limit-action")
            edit.limit_action = value();
        else if (s == "--hbac-rule")
            edit.hbac_rule = value();
        else if (s == "--priority")
            edit.priority = static_cast<int>(parse_num(s, value(), true));
        else if (s == "--input")
            edit.input = parse_bool(s, value());
        else if (s == "--output")
            edit.output = parse_bool(s, value());
        else if (s == "--window")
            edit.window = parse_bool(s, value());
        else if (s == "--rate")
            edit.rate = static_cast<uint64_t>(parse_num(s, value(), false));
        else if (s == "--burst")
            edit.burst = static_cast<uint64_t>(parse_num(s, value(), false));
        else if (s == "--session") {
            if (!edit.sessions) edit.sessions.emplace();
            edit.sessions->push_back(value());
        } else if (s == "--usercat" || s == "--hostcat" || s == "--servicecat") {
            const std::string v = value();
            if (v != "all" && !v.empty()) throw std::runtime_error(s + ": expected 'all' or ''");
            (s == "--usercat" ? edit.all_users : s == "--hostcat" ? edit.all_hosts : edit.all_services) = v == "all";
        } else if (s == "--user")
            members.users.push_back(value());
        else if (s == "--group")
            members.groups.push_back(value());
        else if (s == "--host")
            members.hosts.push_back(value());
        else if (s == "--hostgroup")
            members.hostgroups.push_back(value());
        else if (s == "--service")
            members.services.push_back(value());
        else if (s == "--servicegroup")
            members.servicegroups.push_back(value());
        else if (s.size() > 1 && s[0] == '-')
            throw std::runtime_error("unknown option " + s);
        else
            pos.push_back(s);
    }
    LdapConfig cfg = load_ldap_config(conf);
    if (!bind.empty()) {
        static const std::pair<const char*, BindMethod> methods[] = {{"none", BindMethod::None},
                                                                     {"simple", BindMethod::Simple},
                                                                     {"external", BindMethod::External},
                                                                     {"gssapi", BindMethod::Gssapi}};
        auto it = std::find_if(std::begin(methods), std::end(methods), [&](const auto& m) { return bind == m.first; });
        if (it == std::end(methods)) throw std::runtime_error("--bind: expected none, simple, external or gssapi");
        cfg.bind = it->second;
        cfg.use_keytab = false;  // an administrator binds with their own ticket
    }
    if (!bind_dn.empty()) cfg.bind_dn = bind_dn;
    if (!password_file.empty()) cfg.password_file = password_file;
    if (cfg.bind == BindMethod::Simple && (cfg.bind_dn.empty() || cfg.password_file.empty()))
        throw std::runtime_error("simple bind needs --bind-dn and --password-file");

    const bool needs_name = verb != "find";
    if (needs_name && pos.size() != 1) throw std::runtime_error("ldap " + verb + " needs one rule NAME");
    if (!needs_name && pos.size() > 1) throw std::runtime_error("ldap find takes at most one TEXT");
    const std::string name = pos.empty() ? "" : pos[0];
    const bool takes_edit = verb == "add" || verb == "mod";
    const bool takes_members = verb == "add" || verb == "add-member" || verb == "remove-member";
    if (!takes_edit &&
        (edit.action || edit.description || edit.audit || edit.retention || edit.writer || edit.limit_action ||
         edit.hbac_rule || edit.priority || edit.input || edit.output || edit.window || edit.rate || edit.burst ||
         edit.sessions || edit.all_users || edit.all_hosts || edit.all_services))
        throw std::runtime_error("ldap " + verb + " takes no rule options");
    if (!takes_members && !members.empty())
        throw std::runtime_error("ldap " + verb + " takes no member options (use add-member / remove-member)");

    RuleManager m(cfg);
    tlog::json::Value result;
    std::string done;
    if (verb == "add") {
        result = m.add(name, edit, members);
        done = "Added recording rule \"" + name + "\"";
    } else if (verb == "mod") {
        result = m.modify(name, edit);
        done = "Modified recording rule \"" + name + "\"";
    } else if (verb == "del") {
        m.remove(name);
        result = tlog::json::Value::make_object();
        result.set("deleted", tlog::json::Value::make_string(name));
        done = "Deleted recording rule \"" + name + "\"";
    } else if (verb == "show") {
        result = m.show(name);
    } else if (verb == "find") {
        result = m.find(name);
        done = std::to_string(result.items().size()) + " recording rules matched";
    } else if (verb == "enable" || verb == "disable") {
        RuleEdit e;
        e.enabled = verb == "enable";
        result = m.modify(name, e);
        done = std::string(verb == "enable" ? "Enabled" : "Disabled") + " recording rule \"" + name + "\"";
    } else if (verb == "add-member") {
        result = m.add_members(name, members);
        done = "Added members to recording rule \"" + name + "\"";
    } else if (verb == "remove-member") {
        result = m.remove_members(name, members);
        done = "Removed members from recording rule \"" + name + "\"";
    } else {
        throw std::runtime_error("unknown ldap verb " + verb);
    }
    if (as_json) {
        std::cout << tlog::json::dump(result, true) << "\n";
        return 0;
    }
    if (!done.empty()) std::cout << done << "\n";
    // Text: one "key: value" line per field, as `ipa hbacrule-show` prints.
    auto print_rule = [](const tlog::json::Value& r) {
        for (const auto& mem : r.members()) {
            const auto& v = mem.second;
            std::string text;
            if (v.is_array()) {
                if (v.items().empty()) continue;
                for (const auto& i : v.items()) text += (text.empty() ? "" : ", ") + i.as_string();
            } else if (v.is_object()) {
                if (v.members().empty()) continue;
                text = tlog::json::dump(v);
            } else if (v.is_bool()) {
                text = v.as_bool() ? "TRUE" : "FALSE";
            } else {
                text = v.as_string();
            }
            std::cout << "  " << mem.first << ": " << text << "\n";
        }
    };
    if (result.is_array()) {
        for (const auto& r : result.items()) {
            print_rule(r);
            std::cout << "\n";
        }
    } else if (verb != "del") {
        print_rule(result);
    }
    return 0;
}

int cmd_show_cache(const Args& a) {
    const std::string path = a.positional.empty() ? cache_path_default() : a.positional[0];
    cache::Mapping m;
    if (const char* err = cache::map_file(path.c_str(), &m)) throw std::runtime_error(path + ": " + err);
    const auto& v = m.view;
    const auto& h = v.header();
    std::cout << "cache: " << path << "\nversion: " << h.version << "\nsource: " << v.str(h.source)
              << "\nhost: " << v.str(h.host) << "\nrecorder: " << v.recorder() << "\ncreated: " << h.created
              << "\ndefault: " << ((h.flags & cache::kDefaultRecord) ? "record" : "exclude")
              << "\nclasses: " << h.nclasses << "\nrules: " << v.rule_count() << "\n";
    for (uint32_t i = 0; i < v.rule_count(); ++i) {
        const auto& r = v.rule(i);
        std::cout << "  " << i << " " << v.str(r.name) << " " << (r.action ? "exclude" : "record") << " "
                  << v.str(r.settings) << "\n";
    }
    cache::unmap(&m);
    return 0;
}

int cmd_lookup_cache(const Args& a) {
    if (a.positional.size() < 3) throw std::runtime_error("lookup-cache needs NAME UID GID");
    const std::string path = a.positional.size() > 3 ? a.positional[3] : cache_path_default();
    cache::Mapping m;
    if (const char* err = cache::map_file(path.c_str(), &m)) throw std::runtime_error(path + ": " + err);
    uint32_t rule = cache::kNone;
    const bool rec = m.view.recorded(a.positional[0].c_str(), static_cast<uid_t>(std::stoul(a.positional[1])),
                                     static_cast<gid_t>(std::stoul(a.positional[2])), &rule);
    std::cout << (rec ? "record" : "exclude");
    if (rec) std::cout << " " << (rule == cache::kNone ? "(default)" : m.view.str(m.view.rule(rule).name));
    std::cout << "\n";
    cache::unmap(&m);
    return rec ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << kUsage;
        return 2;
    }
    const std::string cmd = argv[1];
    try {
        if (cmd == "ldap") return cmd_ldap(argc, argv);
        Args a = parse(argc, argv, 2);
        if (cmd == "check") return cmd_check(a);
        if (cmd == "explain") return cmd_explain(a);
        if (cmd == "compile") return cmd_compile(a);
        if (cmd == "sync") return cmd_sync(a);
        if (cmd == "show-cache") return cmd_show_cache(a);
        if (cmd == "lookup-cache") return cmd_lookup_cache(a);
        if (cmd == "audit-rules") return cmd_audit_rules(a);
        if (cmd == "--version" || cmd == "-v" || cmd == "version") {
            std::cout << "tlog-policy " << TLOG_VERSION << "\n";
            return 0;
        }
        if (cmd == "--help" || cmd == "-h" || cmd == "help") {
            std::cout << kUsage;
            return 0;
        }
        std::cerr << "tlog-policy: unknown command " << cmd << "\n" << kUsage;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "tlog-policy: " << e.what() << "\n";
        return 1;
    }
}
