// tlog-server: receives recordings over HTTP, stores them in SQLite and
// serves them back (doc/server.md, tlog-server(8)).
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <string>

#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/server/http.h"
#include "tlog_build_config.h"

namespace {

void usage(std::ostream& o) {
    o << "Usage: tlog-server [--config FILE] [--listen HOST:PORT] [--database PATH]\n"
         "       tlog-server --version | --help\n"
         "Default configuration file: " TLOG_SYSCONFDIR
         "/tlog-server.conf (if it exists).\n"
         "--listen with port 0 picks a free port and prints \"listening on HOST:PORT\".\n";
}

}  // namespace

namespace tlog::server {

ServerConfig load_config(const std::string& path, ServerConfig c) {
    std::string text;
    {
        FILE* f = fopen(path.c_str(), "re");
        if (f == nullptr) {
            throw InputError({path, 0, 0, ""}, std::string("cannot open: ") + std::strerror(errno));
        }
        char buf[4096];
        size_t n = 0;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
            text.append(buf, n);
        }
        fclose(f);
    }
    auto v = json::parse(text, path, json::ParseOptions::tlog_configuration());
    if (!v.is_object()) {
        throw InputError({path, v.line, v.column, ""}, "expected a JSON object");
    }
    for (const auto& [key, val] : v.members()) {
        if (!val.is_string()) {
            throw InputError({path, val.line, val.column, key}, "expected a string");
        }
        if (key == "listen") {
            parse_listen(val.as_string(), path + ":" + std::to_string(val.line), c);
        } else if (key == "database") {
            c.database = val.as_string();
        } else {
            throw InputError({path, val.line, val.column, key}, "unknown setting");
        }
    }
    c.source = path;
    return c;
}

}  // namespace tlog::server

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
