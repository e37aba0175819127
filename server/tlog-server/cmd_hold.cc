// tlog-server hold set|clear|list [--host H] [--rec R] [--user U] [--reason TEXT] [--all]
// (doc/server.md, "Legal hold"; tlog-server(8)).
#include <ctime>
#include <iostream>
#include <stdexcept>

#include "cmd_retention.h"
#include "tlog/server/retention.h"
#include "tlog/server/store.h"

namespace {

using namespace tlog::server;

int hold(const ServerConfig& c, const CommandArgs& a) {
    const std::string& verb = a.words[0];
    auto get = [&](const char* k) { return a.values.count(k) != 0 ? a.values.at(k) : std::string(); };
    RetentionHold h;
    h.host = get("--host");
    h.rec = get("--rec");
    h.user = get("--user");
    uint64_t now_ms = static_cast<uint64_t>(time(nullptr)) * 1000;
    if (verb == "set" || verb == "clear") {
        if (h.host.empty() && h.rec.empty() && h.user.empty()) {
            throw std::invalid_argument(verb + ": give --host, --rec or --user (a hold on everything is refused)");
        }
        if (get("--reason").empty()) throw std::invalid_argument(verb + ": --reason is required");
    }
    auto store = open_store(c.database);
    if (verb == "set") {
        h.reason = get("--reason");
        h.set_by = invoking_user();
        h.set_ms = now_ms;
        std::cout << "hold " << set_hold(*store, h) << " set\n";
        return 0;
    }
    if (verb == "clear") {
        h.clear_reason = get("--reason");
        h.cleared_by = invoking_user();
        h.cleared_ms = now_ms;
        uint64_t n = clear_holds(*store, h);
        std::cout << n << " hold" << (n == 1 ? "" : "s") << " cleared\n";
        return n == 0 ? 1 : 0;
    }
    for (const auto& x : list_holds(*store, a.flags.count("--all") != 0)) {
        if ((!h.host.empty() && x.host != h.host) || (!h.rec.empty() && x.rec != h.rec) ||
            (!h.user.empty() && x.user != h.user)) {
            continue;
        }
        auto any = [](const std::string& s) { return s.empty() ? std::string("*") : s; };
        std::cout << x.id << " host " << any(x.host) << " rec " << any(x.rec) << " user " << any(x.user) << " set by "
                  << x.set_by << " at " << x.set_ms / 1000 << ": " << x.reason;
        if (x.cleared_ms != 0) {
            std::cout << " | cleared by " << x.cleared_by << " at " << x.cleared_ms / 1000 << ": " << x.clear_reason;
        }
        std::cout << '\n';
    }
    return 0;
}

}  // namespace

int tlog::server::cmd_hold(const ServerConfig& c, const std::vector<std::string>& args) {
    try {
        auto a = parse_command(args, {"--host", "--rec", "--user", "--reason"}, {"--all"});
        if (a.words.size() == 1 && (a.words[0] == "set" || a.words[0] == "clear" || a.words[0] == "list")) {
            return hold(c, a);
        }
        std::cerr << "usage: tlog-server hold set|clear [--host H] [--rec R] [--user U] --reason TEXT\n"
                     "       tlog-server hold list [--host H] [--rec R] [--user U] [--all]\n";
        return 2;
    } catch (const std::invalid_argument& e) {
        std::cerr << "tlog-server: hold: " << e.what() << '\n';
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "tlog-server: hold: " << e.what() << '\n';
        return 1;
    }
}
