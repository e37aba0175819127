// tlog-server viewer-token issue USER [--expires DAYS] | list | revoke ID:
// API tokens for viewers' scripts (doc/server.md, "Authentication").
#include <chrono>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "tlog/json.h"
#include "tlog/server/store.h"
#include "tlog/server/viewers.h"

namespace tlog::server {

namespace {

uint64_t now_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

std::string utc(uint64_t ms) {
    if (ms == 0) return "-";
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

int usage() {
    std::cerr << "Usage: tlog-server [--config FILE] [--database DATABASE] viewer-token issue USER [--expires DAYS]\n"
                 "       tlog-server ... viewer-token list\n"
                 "       tlog-server ... viewer-token revoke ID\n";
    return 2;
}

}  // namespace

int cmd_viewer_token(const ServerConfig& c, const std::vector<std::string>& args) {
    if (args.empty()) return usage();
    auto store_ptr = open_store(c.database);
    Store& store = *store_ptr;
    const std::string& verb = args[0];
    if (verb == "issue") {
        if (args.size() != 2 && !(args.size() == 4 && args[2] == "--expires")) return usage();
        const std::string& user = args[1];
        if (user.empty() || user.size() > 256 || user.find_first_of(std::string("\0:/\n", 4)) != std::string::npos) {
            std::cerr << "tlog-server: viewer-token issue: not a user name: " << json::quote(user) << '\n';
            return 2;
        }
        ViewerToken t;
        t.viewer = user;
        t.created_ms = now_ms();
        if (args.size() == 4) {
            const std::string& d = args[3];
            auto days = json::Value::make_number(d).as_uint();
            if (d.empty() || d.find_first_not_of("0123456789") != std::string::npos || !days || *days == 0 ||
                *days > 3650) {
                std::cerr << "tlog-server: viewer-token issue: --expires: expected whole days from 1 to 3650, got "
                          << json::quote(d) << '\n';
                return 2;
            }
            t.expires_ms = t.created_ms + *days * 86400 * 1000;
        }
        std::string token = issue_viewer_token(store, t);
        // The token itself is shown this once and never stored.
        std::cout << token << std::endl;
        std::cerr << "tlog-server: token " << t.id << " for viewer " << user << ", expires " << utc(t.expires_ms)
                  << " (shown once: keep it now)\n";
        return 0;
    }
    if (verb == "list" && args.size() == 1) {
        std::cout << "ID            VIEWER                CREATED               EXPIRES               REVOKED\n";
        for (const auto& t : store.viewer_tokens()) {
            std::string v = t.viewer;
            v.resize(std::max<size_t>(v.size(), 20), ' ');
            std::string created = utc(t.created_ms), expires = utc(t.expires_ms);
            created.resize(20, ' ');
            expires.resize(20, ' ');
            std::cout << t.id << "  " << v << "  " << created << "  " << expires << "  " << utc(t.revoked_ms) << '\n';
        }
        return 0;
    }
    if (verb == "revoke" && args.size() == 2) {
        if (!store.revoke_viewer_token(args[1], now_ms())) {
            std::cerr << "tlog-server: viewer-token revoke: no token " << json::quote(args[1]) << " not revoked\n";
            return 1;
        }
        std::cerr << "tlog-server: token " << args[1] << " revoked\n";
        return 0;
    }
    return usage();
}

}  // namespace tlog::server
