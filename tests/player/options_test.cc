// tlog-play's configuration: the layers tlog's tlog-play reads (system file,
// TLOG_PLAY_CONF_FILE, TLOG_PLAY_CONF_TEXT, command line) in that order,
// Debian's own tlog-play.conf, and errors that name the source, line and key.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "options.h"

// cmocka last: its fail() macro clashes with the C++ headers.
#include "cmocka_cxx.h"

using namespace tlog::play::cli;

namespace {

std::map<std::string, std::string> g_env;
std::string g_dir;

ConfigSources sources() {
    ConfigSources s;
    s.sysconfdir = g_dir;
    s.getenv = [](const char* n) -> const char* {
        auto it = g_env.find(n);
        return it == g_env.end() ? nullptr : it->second.c_str();
    };
    return s;
}

Options parse(std::vector<std::string> args) {
    args.insert(args.begin(), "tlog-play");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_options(static_cast<int>(args.size()), argv.data(), sources());
}

std::string config_error(std::vector<std::string> args = {}) {
    try {
        parse(std::move(args));
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

int setup(void**) {
    char tmpl[] = "/tmp/play-options-test-XXXXXX";
    g_dir = mkdtemp(tmpl);
    g_env.clear();
    return 0;
}

int teardown(void**) {
    std::string cmd = "rm -rf '" + g_dir + "'";
    return std::system(cmd.c_str()) == 0 ? 0 : -1;
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

void test_layers_in_order(void**) {
    Options d = parse({});
    assert_str_eq(d.reader, "file");
    assert_true(d.speed == 1.0);
    write_file(g_dir + "/tlog-play.conf", "{\"speed\": 2, \"lax\": true, \"file\": {\"path\": '/var/log/a.log'},}");
    write_file(g_dir + "/user.conf", "// the auditor's\n{\"speed\": 4, \"file\": {\"match\": \"rec-7\"}}");
    g_env["TLOG_PLAY_CONF_FILE"] = g_dir + "/user.conf";
    g_env["TLOG_PLAY_CONF_TEXT"] = "{\"reader\": \"journal\", \"journal\": {\"match\": [\"A=1\"], \"since\": 5}}";
    Options o = parse({});
    assert_true(o.speed == 4.0);
    assert_true(o.lax);
    assert_str_eq(o.path, "/var/log/a.log");
    assert_str_eq(o.match, "rec-7");
    assert_str_eq(o.reader, "journal");
    assert_int_equal(o.journal_match.size(), 1);
    assert_str_eq(o.since, "5");
    // The command line comes last; its journal matches replace the configuration's.
    Options c = parse({"-s", "8", "-r", "file", "-M", "B=2", "-M", "C=3"});
    assert_true(c.speed == 8.0);
    assert_str_eq(c.reader, "file");
    assert_int_equal(c.journal_match.size(), 2);
    assert_str_eq(c.journal_match[0], "B=2");
    // --configuration prints what is in force, in tlog-play.conf's keys, which reads back.
    Options p = parse({"--configuration", "-p"});
    assert_true(p.configuration);
    std::string printed = tlog::json::dump(configuration_json(p), true);
    assert_true(printed.find("\"paused\": true") != std::string::npos);
    g_env.clear();
    g_env["TLOG_PLAY_CONF_TEXT"] = printed;
    assert_true(parse({}).paused);
}

// tlog's "es" keys and our "server" ones reach the remote readers; the
// command line wins, and --configuration prints them back.
void test_remote_readers(void**) {
    g_env["TLOG_PLAY_CONF_TEXT"] =
        "{\"reader\": \"es\", \"es\": {\"baseurl\": \"http://es:9200/tlog/_search\", \"query\": \"rec:a\"},"
        " \"server\": {\"url\": \"https://logs:8443\", \"rec\": \"r1\", \"host\": \"h1\"}, \"ca_file\": "
        "\"/etc/ca.pem\"}";
    Options o = parse({});
    assert_str_eq(o.reader, "es");
    assert_str_eq(o.es_baseurl, "http://es:9200/tlog/_search");
    assert_str_eq(o.es_query, "rec:a");
    assert_str_eq(o.server_url, "https://logs:8443");
    assert_str_eq(o.server_rec, "r1");
    assert_str_eq(o.server_host, "h1");
    assert_str_eq(o.ca_file, "/etc/ca.pem");
    Options c = parse({"-r", "server", "--server-url=http://other:1", "--es-query=rec:b", "--server-rec=r2",
                       "--server-host=h2", "--ca-file=/x.pem"});
    assert_str_eq(c.reader, "server");
    assert_str_eq(c.server_url, "http://other:1");
    assert_str_eq(c.es_query, "rec:b");
    assert_str_eq(c.server_rec, "r2");
    assert_str_eq(c.server_host, "h2");
    assert_str_eq(c.ca_file, "/x.pem");
    std::string printed = tlog::json::dump(configuration_json(c), true);
    g_env.clear();
    g_env["TLOG_PLAY_CONF_TEXT"] = printed;
    Options back = parse({});
    assert_str_eq(back.server_url, "http://other:1");
    assert_str_eq(back.es_baseurl, "http://es:9200/tlog/_search");
    assert_str_eq(back.ca_file, "/x.pem");
}

void test_debian_tlog_play_conf(void**) {
    const char* dir = getenv("DEBIAN_TLOG_CONF_DIR");
    assert_non_null(dir);
    g_env["TLOG_PLAY_CONF_FILE"] = std::string(dir) + "/tlog-play.conf";
    Options o = parse({});
    assert_str_eq(o.reader, "file");
    assert_true(o.speed == 1.0);
}

void test_errors_name_source_line_key(void**) {
    write_file(g_dir + "/tlog-play.conf", "{\n  \"speed\": -1\n}");
    std::string e = config_error();
    assert_true(e.find(g_dir + "/tlog-play.conf:2:12: field 'speed': expected a positive number") == 0);
    unlink((g_dir + "/tlog-play.conf").c_str());
    g_env["TLOG_PLAY_CONF_TEXT"] = "{\"writer\": \"file\"}";
    assert_true(config_error().find("<env TLOG_PLAY_CONF_TEXT>:1:12: field 'writer': unknown setting for tlog-play") ==
                0);
    g_env["TLOG_PLAY_CONF_TEXT"] = "{\"reader\": \"ftp\"}";
    assert_true(
        config_error().find("field 'reader': expected one of \"file\", \"journal\", \"es\", \"server\", got \"ftp\"") !=
        std::string::npos);
    g_env["TLOG_PLAY_CONF_TEXT"] = "{\"server\": {\"url\": 5}}";
    assert_true(config_error().find("field 'server.url': expected a URL") != std::string::npos);
    g_env["TLOG_PLAY_CONF_TEXT"] = "{\"lax\": true,,}";
    assert_true(config_error().find("<env TLOG_PLAY_CONF_TEXT>:1:14: expected a quoted key") == 0);
    g_env.erase("TLOG_PLAY_CONF_TEXT");
    g_env["TLOG_PLAY_CONF_FILE"] = g_dir + "/missing.conf";
    assert_true(config_error().find(g_dir + "/missing.conf") == 0);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layers_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debian_tlog_play_conf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_source_line_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remote_readers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
