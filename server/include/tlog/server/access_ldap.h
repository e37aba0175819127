// The directory's viewer access entries (tlogViewerAccess, ldap-schema/)
// as access rules, and the thread that keeps the rules in force current:
// the directory read every access_ldap_refresh seconds, and both the
// directory and the access rules file at SIGHUP (doc/server.md, "Access
// rules from LDAP").
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tlog/server/access.h"

namespace tlog::policy {
struct LdapConfig;
struct LdapAccess;
}  // namespace tlog::policy

namespace tlog::server {

struct DirectoryAccess {
    std::string server;  // the URI that answered
    std::vector<AccessRule> rules;
    std::vector<std::string> skipped;  // "DN: attribute 'X': why; entry skipped"
};

// The entries as rules: `play` is `view`; an entry with an unknown right
// is skipped whole (a typo must not give less, or more, than written).
DirectoryAccess directory_access_rules(const policy::LdapAccess& entries);

// Reads the entries now. Throws policy::LdapError when no server can be read.
DirectoryAccess read_directory_access(const policy::LdapConfig& config);

// Reads access_ldap's configuration; throws tlog::InputError naming the file.
std::unique_ptr<policy::LdapConfig> load_access_ldap_config(const std::string& path);

class AccessRefresher {
public:
    // Reads the directory once before returning (a failure is logged and
    // the file's rules alone apply), then keeps `access` current in a
    // thread of its own. Throws tlog::InputError for a bad access_ldap file.
    AccessRefresher(AccessControl& access, std::string rules_path, const AccessLdapSettings& settings);
    ~AccessRefresher();
    AccessRefresher(const AccessRefresher&) = delete;
    AccessRefresher& operator=(const AccessRefresher&) = delete;

private:
    using Clock = std::chrono::steady_clock;
    void run();
    void refresh_directory(bool always_log);
    void reload_file();

    AccessControl& access_;
    std::string rules_path_;
    AccessLdapSettings settings_;
    std::unique_ptr<policy::LdapConfig> ldap_;
    Clock::time_point last_good_{}, next_{};
    bool have_good_ = false;  // directory rules are in force
    std::string signature_;   // of the last rules read
    unsigned hangups_seen_ = 0;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace tlog::server
