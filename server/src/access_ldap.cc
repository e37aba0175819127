// Access rules from the directory (access_ldap.h): policy/'s LDAP reader
// gives the entries with every DN resolved; here they become rules, and a
// thread replaces them whole when the directory changes.
#include "tlog/server/access_ldap.h"

#include <algorithm>

#include "event_log.h"
#include "hangup.h"
#include "tlog/json.h"
#include "tlog/policy/ldap_access.h"

namespace tlog::server {

namespace {

json::Value strings(const std::vector<std::string>& v) {
    json::Value a = json::Value::make_array();
    for (const auto& s : v) a.items().push_back(json::Value::make_string(s));
    return a;
}

// What a read gave, to log a refresh only when it changed something.
std::string signature(const DirectoryAccess& d) {
    std::string out = d.server;
    auto add = [&out](const AccessList& l) {
        out += l.given ? (l.all ? "*" : "+") : "-";
        for (const auto& i : l.items) out += i + '\x1f';
        out += '\x1e';
    };
    for (const auto& r : d.rules) {
        out += r.where.file + '\x1e' + std::to_string(r.rights) + '\x1e';
        for (const auto* l : {&r.viewer_users, &r.viewer_groups, &r.users, &r.groups, &r.hosts, &r.host_groups}) {
            add(*l);
        }
        add({true, false, r.host_names});
    }
    for (const auto& k : d.skipped) out += k + '\x1d';
    return out;
}

AccessList list_of(const std::vector<std::string>& items) {
    AccessList l;
    l.given = !items.empty();
    l.items = items;
    return l;
}

AccessList all_list() {
    AccessList l;
    l.given = l.all = true;
    return l;
}

}  // namespace

DirectoryAccess directory_access_rules(const policy::LdapAccess& in) {
    DirectoryAccess out;
    out.server = in.server;
    out.skipped = in.skipped;
    for (const auto& e : in.entries) {
        AccessRule r;
        r.name = e.name;
        r.where.file = "ldap:///" + e.dn;
        std::string unknown;
        for (const auto& name : e.rights) {
            // The schema's word for watching a recording is tlog-play's.
            auto p = access_right(name == "play" ? "view" : name);
            if (!p) {
                unknown = name;
                break;
            }
            r.rights |= 1U << static_cast<unsigned>(*p);
        }
        if (!unknown.empty()) {
            out.skipped.push_back(e.dn + ": attribute 'tlogAccessRight': unknown right " + json::quote(unknown) +
                                  " (search, view, play, export, purge, hold, manage); entry skipped");
            continue;
        }
        r.viewer_users = list_of(e.viewer_users);
        r.viewer_groups = list_of(e.viewer_groups);
        if (!e.all_hosts) {
            r.hosts.given = true;
            r.host_names = e.hosts;
        }
        if (e.all_users) {
            r.users = all_list();
            out.rules.push_back(std::move(r));
            continue;
        }
        // Users and groups in one memberUser are alternatives (as in
        // FreeIPA); a rule's lists must all match, so one rule each.
        if (!e.users.empty()) {
            AccessRule by_user = r;
            by_user.users = list_of(e.users);
            out.rules.push_back(std::move(by_user));
        }
        if (!e.groups.empty()) {
            r.groups = list_of(e.groups);
            out.rules.push_back(std::move(r));
        }
    }
    return out;
}

DirectoryAccess read_directory_access(const policy::LdapConfig& config) {
    return directory_access_rules(policy::fetch_ldap_access(config));
}

std::unique_ptr<policy::LdapConfig> load_access_ldap_config(const std::string& path) {
    return std::make_unique<policy::LdapConfig>(policy::load_ldap_config(path));
}

AccessRefresher::AccessRefresher(AccessControl& access, std::string rules_path, const AccessLdapSettings& settings)
    : access_(access), rules_path_(std::move(rules_path)), settings_(settings) {
    catch_hangups();
    hangups_seen_ = hangups();
    if (!settings_.config.empty()) {
        ldap_ = load_access_ldap_config(settings_.config);
        refresh_directory(true);
    }
    thread_ = std::thread([this] { run(); });
}

AccessRefresher::~AccessRefresher() {
    {
        std::lock_guard<std::mutex> g(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void AccessRefresher::run() {
    std::unique_lock<std::mutex> lk(mu_);
    while (!stop_) {
        // A signal handler cannot wake a condition variable: SIGHUP is
        // seen within a second.
        cv_.wait_for(lk, std::chrono::seconds(1));
        if (stop_) break;
        const unsigned n = hangups();
        const bool hangup = n != hangups_seen_;
        hangups_seen_ = n;
        if (!hangup && (!ldap_ || Clock::now() < next_)) continue;
        lk.unlock();
        if (hangup) reload_file();
        if (ldap_) refresh_directory(hangup);
        lk.lock();
    }
}

void AccessRefresher::reload_file() {
    json::Value o = json::Value::make_object();
    o.set("event", json::Value::make_string("access_reload"));
    o.set("file", json::Value::make_string(rules_path_));
    try {
        AccessRules rules = load_access_rules(rules_path_, access_.settings());
        o.set("rules", json::Value::make_uint(rules.rules.size()));
        access_.set_file_rules(std::move(rules));
        o.set("result", json::Value::make_string("loaded"));
    } catch (const std::exception& e) {
        o.set("result", json::Value::make_string("kept the former rules"));
        o.set("error", json::Value::make_string(e.what()));
    }
    log_event(std::move(o));
}

void AccessRefresher::refresh_directory(bool always_log) {
    json::Value o = json::Value::make_object();
    o.set("event", json::Value::make_string("access_ldap"));
    const auto now = Clock::now();
    try {
        DirectoryAccess d = read_directory_access(*ldap_);
        std::string sig = signature(d);
        // Every read after a failure or a reload is logged, a periodic one
        // only when it changed the rules (a day of unchanged reads would
        // otherwise be 288 identical lines).
        const bool changed = !have_good_ || sig != signature_;
        signature_ = std::move(sig);
        if (!changed && !always_log) {
            last_good_ = now;
            next_ = now + std::chrono::seconds(settings_.refresh_s);
            return;
        }
        o.set("result", json::Value::make_string("loaded"));
        o.set("server", json::Value::make_string(d.server));
        o.set("rules", json::Value::make_uint(d.rules.size()));
        o.set("skipped", strings(d.skipped));
        access_.set_directory_rules(std::move(d.rules));
        have_good_ = true;
        last_good_ = now;
        next_ = now + std::chrono::seconds(settings_.refresh_s);
    } catch (const std::exception& e) {
        o.set("error", json::Value::make_string(e.what()));
        const auto stale = std::chrono::duration_cast<std::chrono::seconds>(now - last_good_);
        if (have_good_ && stale.count() >= static_cast<int64_t>(settings_.max_stale_s)) {
            // Fail closed: entries nobody could confirm for this long may
            // have been revoked.
            access_.set_directory_rules({});
            have_good_ = false;
            o.set("result", json::Value::make_string("dropped"));
            o.set("stale_s", json::Value::make_uint(static_cast<uint64_t>(stale.count())));
        } else {
            o.set("result", json::Value::make_string("failed"));
            o.set("kept", json::Value::make_uint(have_good_ ? access_.directory_rule_count() : 0));
        }
        // Sooner than the refresh: access comes back soon after the directory.
        next_ = now + std::chrono::seconds(std::min<uint64_t>(settings_.refresh_s, 30));
    }
    log_event(std::move(o));
}

}  // namespace tlog::server
