// tlog-server keygen --out FILE: the checkpoints' Ed25519 key
// (doc/server.md, "Integrity"; tlog-server(8)).
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "tlog/proof/proof.h"

namespace tlog::server {

namespace {

int run_keygen(const std::vector<std::string>& args) {
    std::string out;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--out" && i + 1 < args.size()) {
            out = args[++i];
        } else if (a == "--help" || a == "-h") {
            std::cout << "Usage: tlog-server keygen --out FILE\n"
                         "Writes a new Ed25519 private key to FILE (mode 0600, never overwritten) and its\n"
                         "public key to FILE.pub; checkpoint_key names FILE.\n";
            return 0;
        } else {
            std::cerr << "tlog-server keygen: unexpected argument " << a << " (usage: tlog-server keygen --out FILE)\n";
            return 2;
        }
    }
    if (out.empty()) {
        std::cerr << "tlog-server keygen: --out FILE is needed\n";
        return 2;
    }
    proof::Key::generate(out);
    auto key = proof::Key::load_private(out);
    std::cout << "wrote " << out << " and " << out << ".pub, key " << key.fingerprint() << '\n';
    return 0;
}

}  // namespace

int cmd_keygen(const ServerConfig& /*c*/, const std::vector<std::string>& args) {
    try {
        return run_keygen(args);
    } catch (const std::exception& e) {
        std::cerr << "tlog-server keygen: " << e.what() << '\n';
        return 2;
    }
}

}  // namespace tlog::server
