// Viewers' access entries (tlogViewerAccess, ldap-schema/) from the
// directory: who may view whose recordings made where, with every DN
// resolved to the plain names tlog-server's access rules use. The server
// decides what the rights mean; this reads and resolves.
//
// In libtlogpolicy-ldap, linked by tlog-policy and tlog-server only.
#pragma once

#include <string>
#include <vector>

#include "tlog/policy/ldap_source.h"

namespace tlog::policy {

struct ViewerAccessEntry {
    std::string name;  // cn
    std::string dn;
    // tlogViewer: users (uid), and groups with every group nested in them
    // by name, and those groups' member users (nested members included),
    // so a viewer matches by name even where the server's NSS does not see
    // the directory's groups.
    std::vector<std::string> viewer_users, viewer_groups;
    std::vector<std::string> rights;  // tlogAccessRight, lower case, as written
    // memberUser/userCategory: recorded users, and their groups by name
    // (nested groups included).
    bool all_users = false;
    std::vector<std::string> users, groups;
    // memberHost/hostCategory: host names, host groups flattened.
    bool all_hosts = false;
    std::vector<std::string> hosts;
};

struct LdapAccess {
    std::string server;                      // the URI that answered
    std::vector<ViewerAccessEntry> entries;  // enabled ones, ordered by cn
    std::vector<std::string> skipped;        // "DN: attribute 'X': why; entry skipped"
};

// The attributes of a tlogViewerAccess entry, for searches.
const std::vector<std::string>& access_attributes();

// Reads the enabled entries under config.access_base. An entry with no
// viewer, no recorded user or no host (FreeIPA's meaning: nobody, nowhere)
// or a malformed value is skipped and reported; a base this bind cannot
// see, or a directory that cannot be read, throws LdapError.
LdapAccess fetch_ldap_access(const LdapConfig& config);

}  // namespace tlog::policy
