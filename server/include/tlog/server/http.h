// tlog-server's HTTP interface: the routes of doc/server.md over one Store.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tlog/server/ingest_auth.h"
#include "tlog/server/live.h"
#include "tlog/server/retention.h"
#include "tlog/server/sessions_api.h"
#include "tlog/server/viewers.h"

namespace tlog::server {

struct ServerConfig {
    std::string listen_host = "127.0.0.1";  // loopback unless the administrator says otherwise
    int port = 8640;                        // 0: any free port (tests)
    std::string database = "/var/lib/tlog-server/server.db";
    std::string source;  // where the settings came from, for messages
    StreamSettings streams;
    SearchSettings search;  // host_groups, user_groups, interrupted_after
    // Integrity key files, as tlog-play --key takes them: the indexer's
    // verdicts of keyed chains (doc/server.md, "Index").
    std::vector<std::string> integrity_keys;
    // retention, retention_default, retention_rules (doc/server.md, "Retention").
    RetentionSettings retention;
    TlsSettings tls;                 // tls_cert, tls_key, tls_client_ca, tls_crl
    IngestAuthSettings ingest_auth;  // plain_http, ingest_relays
    // Signed checkpoints (doc/server.md, "Integrity"): the private key's
    // file (empty: none made) and how often.
    std::string checkpoint_key;
    uint64_t checkpoint_interval_s = 300;
    AuthSettings auth;  // viewers' sign-in (doc/server.md, "Authentication")
    // The access rules file (tlog-server-access.yaml(5)); empty: the
    // default, SYSCONFDIR/server-access.yaml.
    std::string access_rules;
    AccessLdapSettings access_ldap;  // access_ldap, access_ldap_refresh, access_ldap_max_stale
    // The web console's files (ui.h); empty: DATADIR/tlog-server/ui.
    std::string ui_dir;
};

// The web console's directory: ui_dir, or DATADIR/tlog-server/ui.
std::string ui_dir(const ServerConfig& c);

// The access rules file: access_rules, or SYSCONFDIR/server-access.yaml.
std::string access_rules_file(const ServerConfig& c);

// Reads the JSON configuration file ({"listen": "HOST:PORT", "database":
// PATH, and the streams' numbers}); throws tlog::InputError naming the
// file, line and field.
ServerConfig load_config(const std::string& path, ServerConfig defaults);
// "HOST:PORT" or "[V6]:PORT"; throws tlog::InputError naming `what`.
void parse_listen(const std::string& text, const std::string& what, ServerConfig& c);
// One of the streams' settings ("max_streams", "stream_keepalive",
// "stream_gap_timeout", "stream_poll") from its text (an unsigned number;
// seconds, or milliseconds for stream_poll); false for another key. Throws
// tlog::InputError naming `what`.
bool parse_stream_setting(const std::string& key, const std::string& text, const std::string& what, ServerConfig& c);

// A route as server/openapi.yaml documents it: "GET", "/api/v1/sessions",
// and what it asks of the client ("none", "host", "search", "view", ...).
struct RouteInfo {
    std::string method, path, permission;
};
// Every route the server registers (its one table).
std::vector<RouteInfo> api_routes();

// Serves until stopped by SIGINT/SIGTERM. `on_listen` is told the bound
// port once the socket is listening. Returns the exit status.
int run_server(const ServerConfig& c, const std::function<void(int port)>& on_listen);

}  // namespace tlog::server
