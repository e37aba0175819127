// Viewers of the recordings: how they sign in (API tokens, PAM sessions;
// doc/server.md "Authentication") and what a route asks of them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tlog/server/store.h"

namespace tlog::server {

// The configuration keys of signing in (tlog-server.conf(5)).
struct AuthSettings {
    std::string pam_service = "tlog-server";
    uint64_t session_idle_s = 30 * 60;      // session_idle: unused this long, a session ends
    uint64_t session_max_s = 12 * 60 * 60;  // session_max: and at this age whatever its use
    uint64_t pam_timeout_s = 10;            // pam_timeout: a PAM module hung longer fails the sign-in
    // Failed sign-ins: after login_max_failures within login_window for a
    // user or a remote address, further attempts are answered 429 until
    // the backoff (doubling from 30 s, at most the window) has passed.
    uint64_t login_max_failures = 5;
    uint64_t login_window_s = 15 * 60;
    // The listener is TLS: the session cookie is marked Secure.
    bool secure_cookie = false;
};

// The directory's access entries (doc/server.md "Access rules from LDAP").
struct AccessLdapSettings {
    std::string config;            // access_ldap: an ldap.yaml as tlog-policy reads; empty: none
    uint64_t refresh_s = 300;      // access_ldap_refresh: seconds between reads
    uint64_t max_stale_s = 86400;  // access_ldap_max_stale: the last good entries kept this long
};

// What a route of the table asks: Public (anyone), Host (a recording
// host's ingest, authenticated as a host, not a viewer), or a viewer's
// right.
// Viewer: any signed-in viewer, whatever their rights (GET /api/v1/me).
enum class Permission { Public, Host, Search, View, Export, Purge, Hold, Manage, Viewer };
const char* permission_name(Permission p);

// Stores a new API token for t.viewer (t.id is chosen here) and returns
// it: the only time it is seen, the store keeps its hash.
std::string issue_viewer_token(Store& store, ViewerToken& t);

}  // namespace tlog::server
