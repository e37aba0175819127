// tlog-server: receives recordings over HTTP, stores them in SQLite or
// PostgreSQL and serves them back (doc/server.md, tlog-server(8)).
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "tlog/policy/ldap_source.h"
#include "tlog/server/http.h"
#include "tlog_build_config.h"

namespace {

// Subcommands: after the options, a command's name and its arguments; no
// command runs the server.
const struct {
    const char* name;
    tlog::server::Command run;
} commands[] = {
    {"token", tlog::server::cmd_token},         {"viewer-token", tlog::server::cmd_viewer_token},
    {"retention", tlog::server::cmd_retention}, {"hold", tlog::server::cmd_hold},
    {"verify", tlog::server::cmd_verify},       {"keygen", tlog::server::cmd_keygen},
    {"export", tlog::server::cmd_export},       {"access", tlog::server::cmd_access},
};

void usage(std::ostream& o) {
    o << "Usage: tlog-server [--config FILE] [--listen HOST:PORT] [--database DATABASE] [--access-rules FILE]\n"
         "                   [--plain-http] [--max-streams N] [--stream-keepalive SECONDS]\n"
         "                   [--stream-gap-timeout SECONDS] [--stream-poll MILLISECONDS]\n"
         "       tlog-server [--config FILE] [--database DATABASE] viewer-token issue USER [--expires DAYS]\n"
         "       tlog-server [--config FILE] [--database DATABASE] viewer-token list | revoke ID\n"
         "       tlog-server token issue HOST | list | revoke ID|HOST\n"
         "       tlog-server retention run [--now TIME] [--dry-run] [--json] [--timer]\n"
         "       tlog-server retention show [--json]\n"
         "       tlog-server retention tombstones [--json]\n"
         "       tlog-server hold set|clear|list [--host H] [--rec R] [--user U] [--reason TEXT]\n"
         "       tlog-server verify [--from TIME] [--to TIME] [--host HOST] [--rec REC] [--json]\n"
         "       tlog-server keygen --out FILE\n"
         "       tlog-server export --rec REC [--host HOST] --out DIR\n"
         "       tlog-server [--access-rules FILE] access show [--json]\n"
         "       tlog-server --version | --help\n"
         "Commands take --config FILE and --database DATABASE, before or after their name.\n"
         "Default configuration file: " TLOG_SYSCONFDIR
         "/tlog-server.conf (if it exists).\n"
         "--listen with port 0 picks a free port and prints \"listening on HOST:PORT\".\n"
         "DATABASE: an SQLite file's path, a postgresql:// URI, or postgres:CONNINFO.\n"
         "Without tls_cert and tls_key in the configuration, --plain-http (plain HTTP,\n"
         "loopback addresses only) is required.\n";
}

}  // namespace

int main(int argc, char** argv) {
    using namespace tlog::server;
    std::string config_path = TLOG_SYSCONFDIR "/tlog-server.conf";
    bool config_given = false;
    std::string listen, database, access_rules;
    bool plain_http = false;
    std::vector<std::pair<std::string, std::string>> stream_settings;  // (key, value), applied after the file
    tlog::server::Command command = nullptr;
    std::vector<std::string> command_args;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto cmd = std::find_if(std::begin(commands), std::end(commands), [&](const auto& c) { return a == c.name; });
        if (cmd != std::end(commands)) {
            command = cmd->run;
            // --config and --database also after the name, as the
            // commands' manuals show them; main reads both for every command.
            for (int j = i + 1; j < argc; ++j) {
                std::string w = argv[j];
                bool is_config = w == "--config" || w == "-c", is_database = w == "--database" || w == "-d";
                if (!is_config && !is_database) {
                    command_args.push_back(w);
                    continue;
                }
                if (j + 1 >= argc) {
                    std::cerr << "tlog-server: " << w << " needs a value\n";
                    return 2;
                }
                if (is_config) {
                    config_path = argv[++j];
                    config_given = true;
                } else {
                    database = argv[++j];
                }
            }
            break;
        }
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
        } else if (a == "--plain-http") {
            plain_http = true;
        } else if (a == "--access-rules") {
            access_rules = value("--access-rules");
        } else if (a == "--max-streams") {
            stream_settings.emplace_back("max_streams", value("--max-streams"));
        } else if (a == "--stream-keepalive") {
            stream_settings.emplace_back("stream_keepalive", value("--stream-keepalive"));
        } else if (a == "--stream-gap-timeout") {
            stream_settings.emplace_back("stream_gap_timeout", value("--stream-gap-timeout"));
        } else if (a == "--stream-poll") {
            stream_settings.emplace_back("stream_poll", value("--stream-poll"));
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
        if (!access_rules.empty()) {
            c.access_rules = access_rules;
        }
        if (plain_http) {
            c.ingest_auth.plain_http = true;
        }
        for (const auto& [key, text] : stream_settings) {
            std::string option = "--" + key;
            std::replace(option.begin(), option.end(), '_', '-');
            parse_stream_setting(key, text, option, c);
        }
        if (command != nullptr) {
            return command(c, command_args);
        }
        if (!c.retention.ldap.empty()) {
            // Read by each run; a file that does not load is said now, not
            // at the first run.
            (void)tlog::policy::load_ldap_config(c.retention.ldap);
        }
        if (!c.retention.classes.empty() && c.retention.default_class.empty()) {
            std::cerr << "tlog-server: retention: no retention_default: recordings whose rule names no configured "
                         "class are kept for ever\n";
        }
        return run_server(c,
                          [&](int port) { std::cout << "listening on " << c.listen_host << ":" << port << std::endl; });
    } catch (const std::exception& e) {
        std::cerr << "tlog-server: " << e.what() << '\n';
        return 1;
    }
}
