// The sessions search and the audit events search of the HTTP API
// (GET /api/v1/sessions, GET /api/v1/audit): parameters to queries, rows
// to responses; host groups from the configuration, user groups from the
// server's NSS.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tlog/server/ingest.h"
#include "tlog/server/store.h"

namespace tlog::server {

struct SearchSettings {
    // Host group name -> glob patterns ('*', '?') and @netgroup entries.
    std::map<std::string, std::vector<std::string>> host_groups;
    // Look up the recorded users' groups through NSS.
    bool user_groups = true;
    // A session not ended, whose audit session did not close, with no
    // message for this long is interrupted; 0: never by time alone.
    uint64_t interrupted_after_s = 86400;
};

// A request's query parameters, as the HTTP library keeps them.
using QueryParams = std::multimap<std::string, std::string>;

// GET /api/v1/sessions's parameters as a query. Throws tlog::InputError
// naming the parameter (unknown ones too: a misspelt filter must not
// widen an auditor's search to everything).
SessionQuery session_query(const QueryParams& params, const SearchSettings& settings, uint64_t now_ms);
// {"sessions": [...], "next_cursor": ...}
std::string sessions_response(const std::vector<Session>& rows, const SessionQuery& q);

// GET /api/v1/audit's parameters; throws tlog::InputError naming one.
AuditQuery audit_query(const QueryParams& params);
// The cursor of the next page after `k` (the format of a recording's
// audit events' Tlog-Next-Cursor).
std::string audit_cursor(const AuditKey& k);
AuditKey read_audit_cursor(const std::string& text);
// A time in milliseconds from seconds since the epoch (decimals allowed)
// or "YYYY-MM-DDTHH:MM:SSZ"; throws InputError naming `name`.
uint64_t time_value(const std::string& name, const std::string& v);

// The groups of recorded users through the server's NSS (getpwnam_r,
// getgrouplist: with SSSD, FreeIPA's and LDAP's groups), looked up outside
// the store's turn, cached for a minute, at most 4096 users.
class GroupResolver {
public:
    explicit GroupResolver(bool enabled) : enabled_(enabled) {}
    // user -> groups for the users of a checked request; empty when
    // disabled. A user NSS does not know gets no group, logged once.
    std::map<std::string, std::vector<std::string>> groups_of(const CheckedBody& body);
    bool enabled() const { return enabled_; }
    // One user's groups, through the same cache, whether or not recorded
    // users' groups are enabled (a viewer's groups for the access rules);
    // none when NSS does not know the user.
    std::vector<std::string> groups_of_user(const std::string& user);

private:
    std::vector<std::string> lookup(const std::string& user);
    struct Entry {
        std::vector<std::string> groups;
        std::chrono::steady_clock::time_point at;
    };
    bool enabled_;
    std::mutex mu_;
    std::map<std::string, Entry> cache_;
    std::set<std::string> logged_;  // users whose lookup failure was logged
};

}  // namespace tlog::server
