// tlog-forward: ships this host's recordings and audit events to tlog-server with commit
// points and resume (doc/forward.md, tlog-forward(8)).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <string>

#include "tlog/forward/forward.h"
#include "tlog_build_config.h"

namespace {

std::atomic<bool> stop_requested{false};

extern "C" void on_stop_signal(int /*sig*/) { stop_requested = true; }

void usage(std::ostream& o) {
    o << "Usage: tlog-forward [--config FILE] [--server URL]... [--file PATH]... [--audit-file PATH]...\n"
         "                    [--journal] [--state-dir DIR]\n"
         "       tlog-forward --version | --help\n"
         "Default configuration file: " TLOG_SYSCONFDIR
         "/tlog-forward.conf (if it exists).\n"
         "Options given on the command line replace the file's settings of the same name.\n";
}

}  // namespace

int main(int argc, char** argv) {
    using namespace tlog::forward;
    std::string config_path = TLOG_SYSCONFDIR "/tlog-forward.conf";
    bool config_given = false;
    std::vector<std::string> urls, files, audit_files;
    bool journal = false;
    std::string state_dir;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const char* name) -> std::string {
            if (i + 1 >= argc) {
                std::cerr << "tlog-forward: " << name << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--version") {
            std::cout << "tlog-forward " TLOG_VERSION "\n";
            return 0;
        }
        if (a == "--help" || a == "-h") {
            usage(std::cout);
            return 0;
        }
        if (a == "--config" || a == "-c") {
            config_path = value("--config");
            config_given = true;
        } else if (a == "--server" || a == "-s") {
            urls.push_back(value("--server"));
        } else if (a == "--file" || a == "-f") {
            files.push_back(value("--file"));
        } else if (a == "--audit-file" || a == "-a") {
            audit_files.push_back(value("--audit-file"));
        } else if (a == "--journal" || a == "-j") {
            journal = true;
        } else if (a == "--state-dir") {
            state_dir = value("--state-dir");
        } else {
            std::cerr << "tlog-forward: unknown argument " << a << '\n';
            usage(std::cerr);
            return 2;
        }
    }
    Config c;
    try {
        if (config_given || access(config_path.c_str(), F_OK) == 0) {
            c = load_config(config_path, c);
        }
    } catch (const std::exception& e) {
        std::cerr << "tlog-forward: " << e.what() << '\n';
        return 1;
    }
    if (!urls.empty()) {
        c.server.urls = urls;
    }
    if (!files.empty()) {
        c.files = files;
    }
    if (!audit_files.empty()) {
        c.audit_files = audit_files;
    }
    if (journal) {
        c.journal.enabled = true;
    }
    if (!state_dir.empty()) {
        c.state_dir = state_dir;
    }
    if (c.server.urls.empty()) {
        std::cerr << "tlog-forward: no server URL: set server.urls in " << config_path << " or give --server\n";
        return 1;
    }
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    // A server closing the connection must not kill the service.
    signal(SIGPIPE, SIG_IGN);
    return run(c, stop_requested);
}
