// tlog-server: receives recordings over HTTP, stores them in SQLite or
// PostgreSQL and serves them back (doc/server.md, tlog-server(8)).
#include <unistd.h>

#include <iostream>
#include <string>

#include "tlog/server/http.h"
#include "tlog_build_config.h"

namespace {

void usage(std::ostream& o) {
    o << "Usage: tlog-server [--config FILE] [--listen HOST:PORT] [--database DATABASE]\n"
         "       tlog-server --version | --help\n"
         "Default configuration file: " TLOG_SYSCONFDIR
         "/tlog-server.conf (if it exists).\n"
         "--listen with port 0 picks a free port and prints \"listening on HOST:PORT\".\n"
         "DATABASE: an SQLite file's path, a postgresql:// URI, or postgres:CONNINFO.\n";
}

}  // namespace

int main(int argc, char** argv) {
    using namespace tlog::server;
    std::string config_path = TLOG_SYSCONFDIR "/tlog-server.conf";
    bool config_given = false;
    std::string listen, database;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const char* name) -> std::string {
            if (i + 1 >= argc) {
                std::cerr << "tlog-server: " << name << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--version") {
            std::cout << "tlog-server " TLOG_VERSION "\n";
            return 0;
        }
        if (a == "--help" || a == "-h") {
            usage(std::cout);
            return 0;
        }
        if (a == "--config" || a == "-c") {
            config_path = value("--config");
            config_given = true;
        } else if (a == "--listen" || a == "-l") {
            listen = value("--listen");
        } else if (a == "--database" || a == "-d") {
            database = value("--database");
        } else {
            std::cerr << "tlog-server: unknown argument " << a << '\n';
            usage(std::cerr);
            return 2;
        }
    }
    try {
        ServerConfig c;
        if (config_given || access(config_path.c_str(), F_OK) == 0) {
            c = load_config(config_path, c);
        }
        if (!listen.empty()) {
            parse_listen(listen, "--listen", c);
        }
        if (!database.empty()) {
            c.database = database;
        }
        return run_server(c,
                          [&](int port) { std::cout << "listening on " << c.listen_host << ":" << port << std::endl; });
    } catch (const std::exception& e) {
        std::cerr << "tlog-server: " << e.what() << '\n';
        return 1;
    }
}
