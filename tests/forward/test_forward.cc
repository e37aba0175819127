// tlog-forward's pieces without a network: what counts as the server's
// acknowledgement (against the answers tlog-server's own ingest code
// writes), the commit point's file, and the configuration's errors.
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "cmocka_cxx.h"
#include "internal.h"
#include "tlog/error.h"
#include "tlog/forward/forward.h"
#include "tlog/server/ingest.h"
#include "tlog/server/store.h"

using namespace tlog::forward;

namespace {

std::string msg(const std::string& rec, uint64_t id) {
    return "{\"ver\":\"2.3\",\"host\":\"h\",\"rec\":\"" + rec +
           "\",\"user\":\"u\",\"term\":\"xterm\",\"session\":7,\"id\":" + std::to_string(id) +
           ",\"pos\":" + std::to_string((id - 1) * 1000) +
           ",\"time\":1700000000.000,\"timing\":\">2\",\"in_txt\":\"\",\"in_bin\":[],\"out_txt\":\"hi\","
           "\"out_bin\":[]}";
}

struct TempDir {
    std::string dir;
    TempDir() {
        char tmpl[] = "/tmp/tlog-forward-test.XXXXXX";
        dir = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(dir); }
};

// The answers tlog-server writes, read as the forwarder reads them.
void test_answer_from_server(void** /*state*/) {
    TempDir t;
    auto store_ptr = tlog::server::open_store(t.dir + "/db.sqlite");
    auto& store = *store_ptr;
    std::string body = msg("r", 1) + "\n" + "{\"ver\":\"2.3\",\"broken\n" + msg("r", 2) + "\n";
    auto r = tlog::server::ingest_json_lines(store, body, 0);
    auto d = parse_answer(400, tlog::server::native_response(r), 3);
    assert_true(d.acked);
    assert_int_equal(d.created, 2);
    assert_int_equal(d.refused.size(), 1);
    assert_true(d.refused.count(2) == 1);
    // Sent again (the answer was lost): duplicates, the same refusal.
    r = tlog::server::ingest_json_lines(store, body, 0);
    d = parse_answer(400, tlog::server::native_response(r), 3);
    assert_true(d.acked);
    assert_int_equal(d.created, 0);
    assert_int_equal(d.duplicates, 2);
    r = tlog::server::ingest_json_lines(store, msg("r", 3) + "\n", 0);
    d = parse_answer(200, tlog::server::native_response(r), 1);
    assert_true(d.acked);
    assert_int_equal(d.created, 1);
    assert_true(d.refused.empty());
}

// Anything that does not account for every line moves nothing.
void test_answer_not_acked(void** /*state*/) {
    const std::string ok = R"({"created":2,"duplicates":0,"failed":0,"errors":[]})";
    assert_true(parse_answer(200, ok, 2).acked);
    assert_false(parse_answer(200, ok, 3).acked);  // a line without a result
    assert_false(parse_answer(500, ok, 2).acked);
    assert_false(parse_answer(503, "", 2).acked);
    assert_false(parse_answer(404, ok, 2).acked);
    assert_false(parse_answer(200, "not json", 2).acked);
    assert_false(parse_answer(200, "", 2).acked);
    // A whole request refused (tlog-server's error body): not per line.
    assert_false(parse_answer(400, R"({"error":"bad","status":400})", 2).acked);
    // 200 must not carry failures; a 400 must name each failure once, in range.
    assert_false(
        parse_answer(200, R"({"created":1,"duplicates":0,"failed":1,"errors":[{"line":2,"error":"x"}]})", 2).acked);
    assert_false(
        parse_answer(400, R"({"created":1,"duplicates":0,"failed":1,"errors":[{"line":3,"error":"x"}]})", 2).acked);
    assert_false(parse_answer(400, R"({"created":1,"duplicates":0,"failed":1,"errors":[]})", 2).acked);
    assert_false(
        parse_answer(
            400, R"({"created":0,"duplicates":0,"failed":2,"errors":[{"line":1,"error":"x"},{"line":1,"error":"y"}]})",
            2)
            .acked);
    assert_false(
        parse_answer(400, R"({"created":"1","duplicates":0,"failed":1,"errors":[{"line":1,"error":"x"}]})", 2).acked);
    // One line over the server's body limit can never be taken: refused.
    auto d = parse_answer(413, "", 1);
    assert_true(d.acked);
    assert_true(d.refused.count(1) == 1);
    assert_false(parse_answer(413, "", 2).acked);
}

void test_state_file(void** /*state*/) {
    TempDir t;
    auto a = state_path(t.dir, "file", "/var/log/tlog/tlog.log");
    auto b = state_path(t.dir, "file", "/var/log/other/tlog.log");
    assert_true(a != b);
    assert_true(a.find("file-tlog.log-") != std::string::npos);
    assert_null(read_state(a).get());
    auto v = tlog::json::Value::make_object();
    v.set("cursor", tlog::json::Value::make_string("s=1;i=2"));
    write_state(a, v);
    auto back = read_state(a);
    assert_non_null(back.get());
    assert_string_equal(back->find("cursor")->as_string().c_str(), "s=1;i=2");
    struct stat st {};
    assert_int_equal(stat((a + ".tmp").c_str(), &st), -1);  // renamed into place
    assert_int_equal(stat(a.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    // A damaged state file is an error naming it, never a silent restart.
    {
        std::ofstream f(a);
        f << "{\"cursor\": ";
    }
    try {
        read_state(a);
        fail_msg("a damaged state file was read");
    } catch (const tlog::InputError& e) {
        assert_true(std::string(e.what()).find(a) != std::string::npos);
    }
}

void test_config(void** /*state*/) {
    TempDir t;
    std::string path = t.dir + "/fw.conf";
    {
        std::ofstream f(path);
        f << "// comment\n{\n  \"server\": {\"urls\": [\"https://a:1\", \"http://b:2/p\"], \"balance\": "
             "\"round-robin\",\n  \"ca_file\": \"/ca.pem\", \"timeout\": 5, \"tls_cert\": \"/h.pem\", \"tls_key\": "
             "\"/h.key\", \"token_file\": \"/t\"},\n  \"files\": "
             "[\"/var/log/tlog/tlog.log\"],\n  \"audit_files\": [\"/var/log/tlog/audit.json\"],\n"
             "  \"journal\": {\"enabled\": true, \"recorder_users\": [\"tlog\"]},\n  \"batch\": {\"lines\": 7},\n}\n";
    }
    auto c = load_config(path, Config{});
    assert_int_equal(c.server.urls.size(), 2);
    assert_true(c.server.balance == Balance::RoundRobin);
    assert_string_equal(c.server.ca_file.c_str(), "/ca.pem");
    assert_string_equal(c.server.tls_cert.c_str(), "/h.pem");
    assert_string_equal(c.server.tls_key.c_str(), "/h.key");
    assert_string_equal(c.server.token_file.c_str(), "/t");
    assert_true(c.server.io_timeout == 5);
    assert_int_equal(c.files.size(), 1);
    assert_int_equal(c.audit_files.size(), 1);
    assert_string_equal(c.audit_files[0].c_str(), "/var/log/tlog/audit.json");
    assert_true(c.journal.enabled);
    assert_int_equal(c.batch_lines, 7);
    {
        std::ofstream f(path);
        f << "{\n  \"server\": {\n    \"urls\": [\"http://a:1\"],\n    \"balanse\": \"failover\"\n  }\n}\n";
    }
    try {
        load_config(path, Config{});
        fail_msg("an unknown key was accepted");
    } catch (const tlog::InputError& e) {
        assert_true(e.where().file == path);
        assert_int_equal(e.where().line, 4);
        assert_string_equal(e.where().field.c_str(), "server.balanse");
    }
    {
        std::ofstream f(path);
        f << "{\n  \"server\": {\"urls\": [\"http://a:1\"]},\n  \"audit_files\": [\"audit.json\"]\n}\n";
    }
    try {
        load_config(path, Config{});
        fail_msg("a relative audit file was accepted");
    } catch (const tlog::InputError& e) {
        assert_true(e.where().file == path);
        assert_int_equal(e.where().line, 3);
        assert_string_equal(e.where().field.c_str(), "audit_files");
    }
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_from_server),
        cmocka_unit_test(test_answer_not_acked),
        cmocka_unit_test(test_state_file),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
