// tlog-server export --rec REC [--host H] --out DIR: a recording's evidence
// (doc/server.md, "Integrity"; tlog-server(8)).
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "tlog/proof/proof.h"
#include "tlog/server/evidence.h"
#include "tlog/server/http.h"
#include "tlog_build_config.h"

namespace tlog::server {

namespace {

int run_export(const ServerConfig& c, const std::vector<std::string>& args) {
    std::string rec, host, out, key_file;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            std::cout << "Usage: tlog-server export --rec REC [--host HOST] --out DIR [--config FILE]\n"
                         "                          [--database DATABASE] [--key PUBKEY]\n"
                         "Check the result with tlog-evidence-verify DIR --key PUBKEY.\n";
            return 0;
        }
        if (i + 1 >= args.size()) {
            std::cerr << "tlog-server export: " << a << " needs a value\n";
            return 2;
        }
        const std::string& v = args[++i];
        if (a == "--rec") {
            rec = v;
        } else if (a == "--host") {
            host = v;
        } else if (a == "--out") {
            out = v;
        } else if (a == "--key") {
            key_file = v;
        } else {
            std::cerr << "tlog-server export: unknown argument " << a << '\n';
            return 2;
        }
    }
    if (rec.empty() || out.empty()) {
        std::cerr << "tlog-server export: --rec and --out are needed\n";
        return 2;
    }
    if (key_file.empty() && !c.checkpoint_key.empty()) key_file = c.checkpoint_key + ".pub";
    if (key_file.empty()) {
        std::cerr << "tlog-server export: no checkpoint key (checkpoint_key, or --key PUBKEY)\n";
        return 2;
    }
    auto key = proof::Key::load_public(key_file);
    auto store = open_store(c.database);
    if (host.empty()) host = store->host_of(rec);
    if (host.empty()) {
        std::cerr << "tlog-server export: no recording " << rec << '\n';
        return 1;
    }
    auto r = export_evidence(*store, key, host, rec, out);
    std::cout << "exported " << host << "/" << rec << " to " << out << ": " << r.messages << " messages (" << r.covered
              << " covered by checkpoint " << r.checkpoint << "), " << r.audit_lines << " audit lines\n";
    if (r.covered < r.messages) {
        std::cout << "note: " << (r.messages - r.covered)
                  << " messages came after the checkpoint: export again after the next one to cover them\n";
    }
    return 0;
}

}  // namespace

int cmd_export(const ServerConfig& c, const std::vector<std::string>& args) {
    try {
        return run_export(c, args);
    } catch (const std::exception& e) {
        std::cerr << "tlog-server export: " << e.what() << '\n';
        return 2;
    }
}

}  // namespace tlog::server
