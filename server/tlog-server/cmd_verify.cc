// tlog-server verify: every stored recording in a range checked again
// (doc/server.md, "Integrity"; tlog-server(8)).
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "tlog/json.h"
#include "tlog/proof/proof.h"
#include "tlog/server/http.h"
#include "tlog/server/sessions_api.h"
#include "tlog/server/verify.h"
#include "tlog_build_config.h"

namespace tlog::server {

namespace {

void verify_usage(std::ostream& o) {
    o << "Usage: tlog-server verify [--config FILE] [--database DATABASE] [--from TIME] [--to TIME]\n"
         "                          [--host HOST] [--rec REC] [--key PUBKEY] [--last-checkpoint SEQ:HASH] [--json]\n"
         "PUBKEY: the checkpoints' public key (default: checkpoint_key's file with .pub added).\n"
         "SEQ:HASH: a checkpoint as the server's log gave it, to find the chain cut short.\n"
         "TIME: seconds since the epoch, or YYYY-MM-DDTHH:MM:SSZ (UTC).\n"
         "Exit status: 0 every recording checked is intact (or purged by retention, its tombstone signed), 1 one is "
         "not (or none was found), 2 bad usage.\n";
}

}  // namespace

namespace {

int run_verify(const ServerConfig& c, const std::vector<std::string>& args) {
    bool as_json = false;
    std::string key_file;
    std::optional<std::pair<uint64_t, std::string>> expect;
    VerifyRange range;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) {
                std::cerr << "tlog-server verify: " << a << " needs a value\n";
                std::exit(2);
            }
            return args[++i];
        };
        if (a == "--help" || a == "-h") {
            verify_usage(std::cout);
            return 0;
        }
        if (a == "--from") {
            range.since_ms = time_value(a, value());
        } else if (a == "--to") {
            range.until_ms = time_value(a, value());
        } else if (a == "--host") {
            range.host = value();
        } else if (a == "--rec") {
            range.rec = value();
        } else if (a == "--key") {
            key_file = value();
        } else if (a == "--last-checkpoint") {
            std::string v = value();
            auto colon = v.find(':');
            char* end = nullptr;
            uint64_t seq = colon == std::string::npos ? 0 : std::strtoull(v.c_str(), &end, 10);
            if (seq == 0 || end != v.c_str() + colon || v.size() - colon - 1 != 64) {
                std::cerr << "tlog-server verify: --last-checkpoint: expected SEQ:HASH (64 hex digits), not " << v
                          << '\n';
                return 2;
            }
            expect = {seq, v.substr(colon + 1)};
        } else if (a == "--json") {
            as_json = true;
        } else {
            std::cerr << "tlog-server verify: unknown argument " << a << '\n';
            verify_usage(std::cerr);
            return 2;
        }
    }
    Verifier verifier(c.integrity_keys);
    auto store = open_store(c.database);
    if (key_file.empty() && !c.checkpoint_key.empty()) key_file = c.checkpoint_key + ".pub";
    // The checkpoints first: which entries are to be trusted.
    std::optional<CheckpointReport> cps;
    std::vector<std::string> cp_problems;
    if (!key_file.empty()) {
        cps = verify_checkpoints(*store, proof::Key::load_public(key_file), expect);
        cp_problems = cps->problems;
        if (cps->checkpoints == 0) cp_problems.emplace_back("no checkpoint stored, though a key is configured");
    } else if (store->last_checkpoint()) {
        cp_problems.push_back("checkpoints are stored but not checked: no public key (checkpoint_key, or --key)");
    }
    for (const auto& p : cp_problems) {
        if (as_json) {
            auto o = json::Value::make_object();
            o.set("checkpoint_problem", json::Value::make_string(p));
            std::cout << json::dump(o) << '\n';
        } else {
            std::cout << "checkpoints: " << p << '\n';
        }
    }
    uint64_t checked = 0, intact = 0, purged = 0;
    verifier.check_range(*store, range, cps ? &*cps : nullptr, [&](const RecordingCheck& r) {
        ++checked;
        if (r.intact()) ++intact;
        if (r.purged()) ++purged;
        std::cout << (as_json ? json::dump(check_json(r)) : check_line(r)) << '\n';
    });
    // A recording purged by a signed retention run is no problem, but not
    // intact either: counted apart.
    const uint64_t bad = checked - intact - purged;
    bool ok = checked > 0 && bad == 0 && cp_problems.empty();
    if (as_json) {
        auto o = json::Value::make_object();
        o.set("checkpoints", json::Value::make_uint(cps ? cps->checkpoints : 0));
        if (cps && cps->last) {
            o.set("last_checkpoint", json::Value::make_uint(cps->last->seq));
        }
        o.set("checkpoint_problems", json::Value::make_uint(cp_problems.size()));
        o.set("checked", json::Value::make_uint(checked));
        o.set("intact", json::Value::make_uint(intact));
        o.set("purged", json::Value::make_uint(purged));
        o.set("not_intact", json::Value::make_uint(bad));
        o.set("ok", json::Value::make_bool(ok));
        std::cout << json::dump(o) << '\n';
    } else {
        std::cout << checked << " recordings checked, " << intact << " intact, " << bad << " not intact, " << purged
                  << " purged by retention" << (checked == 0 ? " (no recording in the range)" : "");
        if (cps) std::cout << "; " << cps->checkpoints << " checkpoints, " << cp_problems.size() << " problems";
        std::cout << '\n';
    }
    return ok ? 0 : 1;
}

}  // namespace

int cmd_verify(const ServerConfig& c, const std::vector<std::string>& args) {
    try {
        return run_verify(c, args);
    } catch (const std::exception& e) {
        std::cerr << "tlog-server verify: " << e.what() << '\n';
        return 2;
    }
}

}  // namespace tlog::server
