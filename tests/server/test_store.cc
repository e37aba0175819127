// tlog-server's storage and ingest: idempotency on (host, rec, id), id
// order whatever the arrival order, byte-for-byte storage, malformed lines
// reported by number without stopping the others, _bulk pairing, session
// filters and cursor paging, the schema version.
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "cmocka_cxx.h"
#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/server/ingest.h"
#include "tlog/server/store.h"

using namespace tlog::server;

namespace {

std::string msg(const std::string& host, const std::string& rec, uint64_t id, const std::string& out,
                const std::string& user = "alice", uint64_t time_s = 1700000000, size_t chars = std::string::npos) {
    return "{\"ver\":\"2.3\",\"host\":\"" + host + "\",\"rec\":\"" + rec + "\",\"user\":\"" + user +
           "\",\"term\":\"xterm\",\"session\":7,\"id\":" + std::to_string(id) +
           ",\"pos\":" + std::to_string((id - 1) * 1000) + ",\"time\":" + std::to_string(time_s + id - 1) +
           ".000,\"timing\":\">" + std::to_string(chars == std::string::npos ? out.size() : chars) +
           "\",\"in_txt\":\"\",\"in_bin\":[],\"out_txt\":\"" + out + "\",\"out_bin\":[]}";
}

struct TempDb {
    std::string dir, path;
    TempDb() {
        char tmpl[] = "/tmp/tlog-server-test.XXXXXX";
        dir = mkdtemp(tmpl);
        path = dir + "/db.sqlite";
    }
    ~TempDb() {
        for (const char* suffix : {"", "-wal", "-shm"}) {
            unlink((path + suffix).c_str());
        }
        rmdir(dir.c_str());
    }
};

void test_idempotent(void**) {
    TempDb t;
    Store s(t.path);
    std::string body = msg("h1", "r1", 1, "one") + "\n" + msg("h1", "r1", 2, "two") + "\n";
    auto a = ingest_json_lines(s, body, 0);
    assert_int_equal(a.created, 2);
    auto b = ingest_json_lines(s, body, 0);
    assert_int_equal(b.created, 0);
    assert_int_equal(b.duplicates, 2);
    // The same rec and id from another host is another message.
    auto c = ingest_json_lines(s, msg("h2", "r1", 1, "one"), 0);
    assert_int_equal(c.created, 1);
    assert_int_equal(s.messages("r1", "h1", 0, 100).size(), 2);
    assert_int_equal(s.message_count("r1"), 3);
    auto sessions = s.sessions({});
    assert_int_equal(sessions.size(), 2);
    assert_int_equal(sessions[0].messages + sessions[1].messages, 3);
}

void test_order_and_bytes(void**) {
    TempDb t;
    Store s(t.path);
    // Arrival order 3, 1, 2; the messages come back in id order, byte for byte.
    std::string m1 = msg("h", "r", 1, "a"), m2 = msg("h", "r", 2, "b"),
                m3 = msg("h", "r", 3, "c\\u00e9", "alice", 1700000000, 2);
    ingest_json_lines(s, m3 + "\r\n\n" + m1 + "\n", 0);
    auto sess = s.sessions({});
    assert_int_equal(sess.size(), 1);
    assert_int_equal(sess[0].gaps, 1);  // id 2 not yet received
    ingest_json_lines(s, m2, 0);
    auto got = s.messages("r", "", 0, 100);
    assert_int_equal(got.size(), 3);
    assert_str_eq(got[0], m1);
    assert_str_eq(got[1], m2);
    assert_str_eq(got[2], m3);
    sess = s.sessions({});
    assert_int_equal(sess[0].gaps, 0);
    assert_int_equal(sess[0].first_id, 1);
    assert_int_equal(sess[0].last_id, 3);
    assert_int_equal(sess[0].messages, 3);
    assert_int_equal(sess[0].bytes, m1.size() + m2.size() + m3.size());
    assert_int_equal(sess[0].start_ms, 1700000000000ULL);
    assert_int_equal(sess[0].end_ms, 1700000002000ULL);
    // Elasticsearch paging by position, and paging by id.
    auto page = s.messages_page("r", 1, 1);
    assert_int_equal(page.size(), 1);
    assert_str_eq(page[0], m2);
    assert_int_equal(s.messages("r", "", 2, 100).size(), 1);
}

void test_malformed_lines(void**) {
    TempDb t;
    Store s(t.path);
    std::string good1 = msg("h", "r", 1, "x"), good2 = msg("h", "r", 2, "y");
    std::string bad_timing = msg("h", "r", 3, "zz");
    bad_timing.replace(bad_timing.find("\">2\""), 4, "\">9\"");  // timing names more text than there is
    std::string body = good1 + "\n{not json\n" + msg("h", "r", 0, "z") + "\n" + bad_timing + "\n\"a string\"\n" +
                       std::string(max_line_bytes + 1, ' ') + "x\n" + good2 + "\n";
    auto r = ingest_json_lines(s, body, 0);
    assert_int_equal(r.created, 2);
    assert_int_equal(r.failed, 5);
    std::vector<std::string> errors;
    for (const auto& i : r.items) {
        if (i.status == 400) {
            errors.push_back(i.error);
        }
    }
    assert_int_equal(errors.size(), 5);
    assert_true(errors[0].rfind("line 2:", 0) == 0);
    assert_true(errors[1].rfind("line 3", 0) == 0);
    assert_true(errors[1].find("'id'") != std::string::npos);
    assert_true(errors[2].rfind("line 4", 0) == 0);
    assert_true(errors[3].rfind("line 5", 0) == 0);
    assert_true(errors[4].rfind("line 6", 0) == 0);
    assert_true(errors[4].find("longer than the limit") != std::string::npos);
    assert_int_equal(s.messages("r", "", 0, 100).size(), 2);
    // The native response names each failed line.
    auto resp = tlog::json::parse(native_response(r), "response");
    assert_int_equal(resp.find("failed")->as_uint().value(), 5);
    assert_int_equal(resp.find("errors")->items()[0].find("line")->as_uint().value(), 2);
}

// What a recorded user or a forged sender controls: types, encodings, ids.
void test_hostile_fields(void**) {
    TempDb t;
    Store s(t.path);
    std::string good = msg("h", "r", 1, "x");
    auto with = [&](const std::string& from, const std::string& to) {
        std::string m = good;
        m.replace(m.find(from), from.size(), to);
        return m;
    };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {with("\"id\":1", "\"id\":\"1\""), "'id'"},
        {with("\"id\":1", "\"id\":-1"), "'id'"},
        {with("\"id\":1", "\"id\":9223372036854775808"), "'id'"},
        {with("\"id\":1", "\"id\":1e3"), "'id'"},
        {with("\"host\":\"h\"", "\"host\":7"), "host"},
        {with("\"out_txt\":\"x\"", "\"out_txt\":\"\xff\""), "UTF-8"},
        {with("\"out_txt\":\"x\"", "\"out_txt\":\"\\ud800\""), "surrogate"},
        {with("{", "["), ""},
        {good + "x", ""},
    };
    std::string body;
    for (const auto& c : cases) {
        body += c.first + "\n";
    }
    auto r = ingest_json_lines(s, body, 0);
    assert_int_equal(r.failed, cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
        const auto& e = r.items[i].error;
        assert_true(e.rfind("line " + std::to_string(i + 1), 0) == 0);
        if (e.find(cases[i].second) == std::string::npos) {
            fail_msg("line %zu: %s does not name %s", i + 1, e.c_str(), cases[i].second.c_str());
        }
    }
    assert_int_equal(s.sessions({}).size(), 0);
}

// What the decoder only copies (host, rec, user, term, names, fields the
// format does not define) is checked too: UTF-8 for the whole line, each
// field once. Each refused line names its problem; the lines around it are
// stored. The same lines in a _bulk body give the same answers per item.
void test_hostile_strings(void**) {
    TempDb t;
    Store s(t.path);
    std::string good = msg("h", "r", 1, "x");
    auto with = [&](const std::string& from, const std::string& to) {
        std::string m = good;
        m.replace(m.find(from), from.size(), to);
        return m;
    };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {with("\"host\":\"h\"", "\"host\":\"h\xc0\xaf\""), "line 1:23: not valid UTF-8"},    // overlong '/'
        {with("\"rec\":\"r\"", "\"rec\":\"r\xed\xa0\x80\""), "line 2:33: not valid UTF-8"},  // a surrogate, raw
        {with("\"user\":\"alice\"", "\"user\":\"al\xffice\""), "not valid UTF-8"},
        {with("\"term\":\"xterm\"", "\"term\":\"xterm\xe2\x82\""), "not valid UTF-8"},  // cut short
        {with("{", "{\"n\xe9\":1,"), "not valid UTF-8"},
        {with("{", "{\"note\":\"\xf8\x88\x80\x80\x80\","), "not valid UTF-8"},
        {with("{", "{\"note\":\"\\udc00\","), "surrogate"},
        {with("{", "{\"dropped\":1,\"dropped\":2,"), "field 'dropped': field appears twice"},
        {with("{", "{\"host\":\"other\","), "field 'host': field appears twice"},
        {with("\"id\":1", "\"id\":0"), "field 'id': message ids start at 1"},
        {with("\"id\":1", "\"id\":18446744073709551616"), "field 'id': number too large"},
        {with("\"id\":1", "\"id\":null"), "field 'id'"},
        {with("\"session\":7", "\"session\":7.5"), "field 'session'"},
        {with("\"timing\":\">1\"", "\"timing\":[1]"), "field 'timing'"},
        {with("\"out_bin\":[]", "\"out_bin\":[256]"), "field 'out_bin'"},
        {with("\"out_bin\":[]", "\"out_bin\":{}"), "field 'out_bin'"},
        {with("}", ",\"note\":" + std::string(70, '[') + "1" + std::string(70, ']') + "}"), "nesting too deep"},
        {"{}", "field 'ver': required field is missing"},
        {"", ""},  // blank: skipped, not counted
        {"\x1b[2J", "line 20:1"},
    };
    std::string body;
    for (const auto& c : cases) {
        body += c.first + "\n";
    }
    body += msg("h", "r", 2, "y") + "\n";
    auto check = [&](const std::vector<LineResult>& items) {
        size_t k = 0;
        for (size_t i = 0; i < cases.size(); ++i) {
            if (cases[i].first.empty()) {
                continue;
            }
            const auto& it = items.at(k++);
            assert_int_equal(it.status, 400);
            assert_int_equal(it.line, i + 1);
            if (it.error.find(cases[i].second) == std::string::npos || it.error.rfind("line ", 0) != 0) {
                fail_msg("line %zu: \"%s\" does not name \"%s\"", i + 1, it.error.c_str(), cases[i].second.c_str());
            }
        }
        assert_int_equal(items.at(k).status, 201);
    };
    // Checked without the store (as requests are, side by side), then stored.
    auto checked = check_json_lines(body);
    assert_int_equal(checked.failed, cases.size() - 1);
    assert_int_equal(checked.messages.size(), 1);
    assert_int_equal(s.message_count("r"), 0);
    auto r = store_checked(s, std::move(checked), 0);
    check(r.items);
    assert_int_equal(r.created, 1);
    assert_int_equal(s.message_count("r"), 1);

    // _bulk: the source line's number, the same problems, one item each.
    std::string bulk;
    for (const auto& c : cases) {
        if (!c.first.empty()) {
            bulk += "{\"index\":{}}\n" + c.first + "\n";
        }
    }
    bulk += "{\"index\":{}}\n" + msg("h", "r", 3, "z") + "\n";
    auto b = ingest_bulk(s, bulk, "tlog", 0);
    assert_int_equal(b.failed, cases.size() - 1);
    assert_int_equal(b.created, 1);
    for (size_t i = 0, k = 0; i < cases.size(); ++i) {
        if (cases[i].first.empty()) {
            continue;
        }
        const auto& it = b.items.at(k++);
        assert_int_equal(it.line, 2 * k);
        std::string want = cases[i].second.substr(0, cases[i].second.rfind("line ", 0) == 0 ? 0 : std::string::npos);
        if (it.error.find(want) == std::string::npos) {
            fail_msg("bulk item %zu: \"%s\" does not name \"%s\"", k, it.error.c_str(), want.c_str());
        }
    }
    // The response is JSON Elasticsearch's clients read: errors escaped, ids
    // and the index name too.
    auto resp = tlog::json::parse(bulk_response(b, "ti\"tle"), "response");
    const auto& items = resp.find("items")->items();
    assert_int_equal(items.size(), cases.size());
    assert_str_eq(items[0].find("index")->find("_index")->as_string(), "ti\"tle");
    assert_true(items[0].find("index")->find("error")->find("reason")->as_string().find("UTF-8") != std::string::npos);
    assert_str_eq(items.back().find("index")->find("_id")->as_string(), "h/r/3");
    assert_str_eq(items.back().find("index")->find("result")->as_string(), "created");
}

// A line over the limit is refused unread, with its length; one at the
// limit is read (and refused for what it is), and the next is stored.
void test_huge_lines(void**) {
    TempDb t;
    Store s(t.path);
    std::string big = msg("h", "r", 1, std::string(max_line_bytes, 'a'));
    std::string at_limit = "{\"x\":\"" + std::string(max_line_bytes - 8, 'a') + "\"}";
    assert_int_equal(at_limit.size(), max_line_bytes);
    std::string body = big + "\n" + at_limit + "\n" + msg("h", "r", 2, "ok") + "\n";
    auto r = ingest_json_lines(s, body, 0);
    assert_int_equal(r.failed, 2);
    assert_int_equal(r.created, 1);
    assert_true(r.items[0].error.find("bytes is longer than the limit") != std::string::npos);
    assert_true(r.items[1].error.find("required field is missing") != std::string::npos);
    assert_int_equal(r.items[2].status, 201);
}

void test_bulk(void**) {
    TempDb t;
    Store s(t.path);
    std::string body = "{\"index\":{\"_index\":\"tlog\"}}\n" + msg("h", "r", 1, "a") + "\n" + "{\"create\":{}}\n" +
                       msg("h", "r", 2, "b") + "\n" + "{\"delete\":{\"_id\":\"x\"}}\n" +
                       "{\"update\":{}}\n{\"doc\":{}}\n" + "{\"index\":{}}\n{\"broken\"\n" + "{\"index\":{}}\n" +
                       msg("h", "r", 1, "a") + "\n" + "{\"index\":{}}\n";
    auto r = ingest_bulk(s, body, "tlog", 0);
    assert_int_equal(r.created, 2);
    assert_int_equal(r.duplicates, 1);
    assert_int_equal(r.failed, 4);  // delete, update, broken source, action without source
    auto resp = tlog::json::parse(bulk_response(r, "tlog"), "response");
    assert_true(resp.find("errors")->as_bool());
    const auto& items = resp.find("items")->items();
    assert_int_equal(items.size(), 7);
    assert_int_equal(items[0].find("index")->find("status")->as_uint().value(), 201);
    assert_int_equal(items[2].find("index")->find("status")->as_uint().value(), 400);
    assert_true(items[2].find("index")->find("error")->find("reason")->as_string().find("line 5") != std::string::npos);
    assert_int_equal(items[5].find("index")->find("status")->as_uint().value(), 200);
    assert_int_equal(s.messages("r", "", 0, 100).size(), 2);
}

void test_session_query(void**) {
    TempDb t;
    Store s(t.path);
    std::string body;
    for (int i = 0; i < 5; ++i) {
        body += msg("h" + std::to_string(i % 2), "r" + std::to_string(i), 1, "x", i < 3 ? "alice" : "bob",
                    1700000000 + static_cast<uint64_t>(i) * 100) +
                "\n";
    }
    ingest_json_lines(s, body, 0);
    SessionQuery q;
    q.user = "alice";
    assert_int_equal(s.sessions(q).size(), 3);
    q = {};
    q.host = "h1";
    assert_int_equal(s.sessions(q).size(), 2);
    q = {};
    q.since_ms = 1700000150000ULL;
    q.until_ms = 1700000350000ULL;
    auto mid = s.sessions(q);
    assert_int_equal(mid.size(), 2);
    assert_str_eq(mid[0].rec, "r2");
    assert_str_eq(mid[1].rec, "r3");
    // Cursor paging visits each session once, in start order.
    q = {};
    q.limit = 2;
    std::vector<std::string> seen;
    for (;;) {
        auto page = s.sessions(q);
        for (const auto& x : page) {
            seen.push_back(x.rec);
        }
        if (page.size() < q.limit) {
            break;
        }
        q.after = {page.back().start_ms, page.back().host, page.back().rec};
    }
    assert_int_equal(seen.size(), 5);
    for (size_t i = 0; i < seen.size(); ++i) {
        assert_str_eq(seen[i], "r" + std::to_string(i));
    }
}

void test_schema(void**) {
    TempDb t;
    {
        Store s(t.path);
        assert_int_equal(s.schema_version(), Store::current_schema_version());
        ingest_json_lines(s, msg("h", "r", 1, "x"), 0);
    }
    {
        // Reopening keeps the data and the version.
        Store s(t.path);
        assert_int_equal(s.schema_version(), Store::current_schema_version());
        assert_int_equal(s.message_count("r"), 1);
    }
    // A database from a newer server is refused, naming the file.
    std::string cmd = "sqlite3 " + t.path + " 'UPDATE schema_version SET version = 999'";
    assert_int_equal(std::system(cmd.c_str()), 0);
    try {
        Store s(t.path);
        fail_msg("a newer schema was accepted");
    } catch (const std::runtime_error& e) {
        assert_true(std::string(e.what()).find(t.path) != std::string::npos);
        assert_true(std::string(e.what()).find("999") != std::string::npos);
    }
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idempotent),
        cmocka_unit_test(test_order_and_bytes),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_hostile_fields),
        cmocka_unit_test(test_hostile_strings),
        cmocka_unit_test(test_huge_lines),
        cmocka_unit_test(test_bulk),
        cmocka_unit_test(test_session_query),
        cmocka_unit_test(test_schema),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
