// tlog-server token issue HOST | list | revoke ID|HOST: the per-host ingest
// tokens (doc/server.md, "Transport and host identity").
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "tlog/server/http.h"
#include "tlog/server/ingest_auth.h"
#include "tlog/server/store.h"
#include "tlog_build_config.h"

namespace tlog::server {

namespace {

void token_usage(std::ostream& o) {
    o << "Usage: tlog-server token [--config FILE] [--database DATABASE] issue HOST\n"
         "       tlog-server token [--config FILE] [--database DATABASE] list\n"
         "       tlog-server token [--config FILE] [--database DATABASE] revoke ID|HOST\n"
         "issue prints the new token once; only its SHA-256 is stored.\n";
}

uint64_t now_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

std::string utc(uint64_t ms) {
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

int cmd_token(const ServerConfig& c, const std::vector<std::string>& args) {
    std::vector<std::string> rest;
    for (const auto& a : args) {
        if (a == "--help" || a == "-h") {
            token_usage(std::cout);
            return 0;
        } else if (a.rfind("--", 0) == 0) {
            std::cerr << "tlog-server token: unknown option " << a << '\n';
            token_usage(std::cerr);
            return 2;
        } else {
            rest.push_back(a);
        }
    }
    const bool ok_args = !rest.empty() && ((rest[0] == "list" && rest.size() == 1) ||
                                           ((rest[0] == "issue" || rest[0] == "revoke") && rest.size() == 2));
    if (!ok_args) {
        token_usage(std::cerr);
        return 2;
    }
    try {
        auto store = open_store(c.database);
        if (rest[0] == "issue") {
            auto t = issue_token(*store, rest[1], now_ms());
            std::cout << t.token << std::endl;
            std::cerr << "tlog-server: token " << t.id << " for host " << rest[1]
                      << " (shown once: only its hash is stored)\n";
        } else if (rest[0] == "list") {
            for (const auto& t : list_tokens(*store)) {
                std::cout << t.id << '\t' << t.host << "\tissued " << utc(t.created_ms);
                if (t.revoked_ms) std::cout << "\trevoked " << utc(*t.revoked_ms);
                std::cout << '\n';
            }
        } else {
            auto n = revoke_tokens(*store, rest[1], now_ms());
            if (n == 0) {
                std::cerr << "tlog-server: no valid token with the id or host " << rest[1] << '\n';
                return 1;
            }
            std::cerr << "tlog-server: revoked " << n << " token" << (n == 1 ? "" : "s") << '\n';
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "tlog-server token: " << e.what() << '\n';
        return 1;
    }
}

}  // namespace tlog::server
