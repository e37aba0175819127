// Access rules: which recordings each viewer may search, view, export,
// purge or hold, and who manages the server (tlog-server-access.yaml(5),
// and the directory's tlogViewerAccess entries: access_ldap.h). Read with
// policy/'s strict YAML reading; turned into SQL conditions over the
// sessions table so that a viewer's searches and lookups never see past
// their scope.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tlog/error.h"
#include "tlog/server/sessions_api.h"
#include "tlog/server/store.h"
#include "tlog/server/viewers.h"

namespace tlog::server {

// A list of the rules file, or `all`. `given` false: the key is absent.
struct AccessList {
    bool given = false, all = false;
    std::vector<std::string> items;
};

struct AccessRule {
    std::string name;
    Location where;                          // the file and line, or "ldap:///DN"
    AccessList viewer_users, viewer_groups;  // the viewers it applies to
    // The recordings it covers: those matching every list given. `hosts`
    // holds globs, and, from the directory, `host_names` exact names.
    AccessList users, groups, hosts, host_groups;
    std::vector<std::string> host_names;
    unsigned rights = 0;  // bits of 1 << Permission
};

// The rights of access rules, by their names in the file ("search",
// "view", ...); nullopt for another name.
std::optional<Permission> access_right(const std::string& name);
// Every right of access rules, in the order the documentation lists them.
const std::vector<Permission>& access_rights();

struct AccessRules {
    std::string source;
    bool found = false;  // the file exists
    std::vector<AccessRule> rules;
};

// Reads the rules file; a missing file is no rule (nobody may read).
// Errors: tlog::InputError naming the file, line, column and key; a host
// group the server's configuration does not define is one.
AccessRules load_access_rules(const std::string& path, const SearchSettings& settings);
AccessRules parse_access_rules(const std::string& text, const std::string& source, const SearchSettings& settings);

// A viewer's reach for one right: nothing, everything, or the recordings
// of `cond` (over sessions `s`).
struct AccessScope {
    bool none = true, all = false;
    SqlCondition cond;
};

// The rules in force: the file's and the directory's, each replaced
// whole while requests are answered (a reload, a directory refresh).
class AccessControl {
public:
    AccessControl(AccessRules rules, SearchSettings settings);
    // `groups`: the viewer's groups (NSS).
    AccessScope scope(const std::string& viewer, const std::vector<std::string>& groups, Permission right) const;
    bool may(const std::string& viewer, const std::vector<std::string>& groups, Permission right) const;
    void set_file_rules(AccessRules rules);
    void set_directory_rules(std::vector<AccessRule> rules);
    size_t directory_rule_count() const;
    const SearchSettings& settings() const { return settings_; }

private:
    using Rules = std::shared_ptr<const std::vector<AccessRule>>;
    Rules snapshot() const;
    void publish();  // with mu_ held
    mutable std::mutex mu_;
    AccessRules file_;
    std::vector<AccessRule> directory_;
    Rules all_;  // file_ then directory_, what requests read
    SearchSettings settings_;
};

// The condition over audit_events of events whose recording is in `scope`.
SqlCondition audit_scope(const AccessScope& scope);

// GET /api/v1/access-log (access_log.cc): viewer, rec, since, until,
// limit, cursor; throws tlog::InputError naming a bad or unknown one.
AccessLogQuery access_log_query(const QueryParams& params, const SearchSettings& settings);
// A search's line in the access log: {"query": {PARAM: VALUE...},
// "hits": [{"host": H, "rec": R}...]}.
std::string search_detail(const QueryParams& params, const std::vector<Session>& rows);
std::string audit_search_detail(const QueryParams& params, const std::vector<AuditEvent>& events);
// {"entries": [...], "next_cursor": ...}
std::string access_log_response(const std::vector<AccessLogEntry>& rows, const AccessLogQuery& q);

}  // namespace tlog::server
