// tlog-server's storage and ingest, the same suite on each backend:
// idempotency on (host, rec, id), id order whatever the arrival order,
// byte-for-byte storage, malformed lines reported by number without
// stopping the others, _bulk pairing, session filters and cursor paging,
// two writers on one database, the schema version and upgrades; messages in
// batches: resent subsets, supersets and interleavings, the open batch,
// windows of ids, damaged batches refused; audit events: stored
// once per (host, serial, time, type) byte for byte, a recording's events
// in time order joined by rec and by its start event's (host, ses), with
// the failed authentications the start event lists, malformed lines named
// by line and field.
// Usage: test_server_store [sqlite | postgres:CONNINFO]. With PostgreSQL,
// CONNINFO reaches a server where the test may create databases (one per
// test, dropped after it); tests/server/pg_store_test.py starts one.
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <tuple>

#include "cmocka_cxx.h"
#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/policy/ldap_access.h"
#include "tlog/proof/proof.h"
#include "tlog/server/access.h"
#include "tlog/server/access_ldap.h"
#include "tlog/server/checkpoint.h"
#include "tlog/server/ingest.h"
#include "tlog/server/ingest_auth.h"
#include "tlog/server/secret.h"
#include "tlog/server/store.h"
#include "tlog/server/verify.h"

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

// The backend under test; empty: SQLite.
std::string pg_base;  // NOLINT(cert-err58-cpp): set once in main

std::string sh_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

void psql(const std::string& db, const std::string& sql) {
    std::string cmd =
        "psql -X -q -v ON_ERROR_STOP=1 " + sh_quote(pg_base + " dbname=" + db) + " -c " + sh_quote(sql) + " >/dev/null";
    if (std::system(cmd.c_str()) != 0) {
        fail_msg("psql failed: %s", sql.c_str());
    }
}

// A fresh database for one test: a temporary SQLite file, or a PostgreSQL
// database created for it.
struct TempDb {
    std::string spec;   // what open_store is given
    std::string named;  // what its errors name
    std::string dir, path, pg_db;
    TempDb() {
        if (!pg_base.empty()) {
            static int n = 0;
            pg_db = "tlog_test_" + std::to_string(getpid()) + "_" + std::to_string(++n);
            psql("postgres", "CREATE DATABASE " + pg_db);
            spec = "postgres:" + pg_base + " dbname=" + pg_db;
            named = "\"" + pg_db + "\"";
            return;
        }
        char tmpl[] = "/tmp/tlog-server-test.XXXXXX";
        dir = mkdtemp(tmpl);
        path = dir + "/db.sqlite";
        spec = named = path;
    }
    ~TempDb() {
        if (!pg_db.empty()) {
            psql("postgres", "DROP DATABASE " + pg_db + " WITH (FORCE)");
            return;
        }
        for (const char* suffix : {"", "-wal", "-shm"}) {
            unlink((path + suffix).c_str());
        }
        rmdir(dir.c_str());
    }
    TempDb(const TempDb&) = delete;
    TempDb& operator=(const TempDb&) = delete;
    std::unique_ptr<Store> open() const { return open_store(spec); }
    bool postgres() const { return !pg_db.empty(); }
    // Runs SQL on the database behind the store's back.
    void sql(const std::string& text) const {
        if (postgres()) {
            psql(pg_db, text);
        } else {
            assert_int_equal(std::system(("sqlite3 " + path + " " + sh_quote(text)).c_str()), 0);
        }
    }
    // The first value a query gives, read behind the store's back.
    std::string query(const std::string& text) const {
        std::string cmd = postgres()
                              ? "psql -X -q -A -t " + sh_quote(pg_base + " dbname=" + pg_db) + " -c " + sh_quote(text)
                              : "sqlite3 " + path + " " + sh_quote(text);
        std::string out;
        FILE* f = popen(cmd.c_str(), "r");
        assert_non_null(f);
        char buf[256];
        while (fgets(buf, sizeof buf, f) != nullptr) {
            out += buf;
        }
        assert_int_equal(pclose(f), 0);
        while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
            out.pop_back();
        }
        return out;
    }
    // Sets the recorded schema version behind the store's back.
    void set_version(int v) const { sql("UPDATE schema_version SET version = " + std::to_string(v)); }
};

void test_idempotent(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
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
    auto sp = t.open();
    Store& s = *sp;
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
    auto sp = t.open();
    Store& s = *sp;
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
    auto sp = t.open();
    Store& s = *sp;
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
        {with("\"host\":\"h\"", "\"host\":\"h\\u0000\""), "'host'"},
        {with("\"rec\":\"r\"", "\"rec\":\"\\u0000\""), "'rec'"},
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
    auto sp = t.open();
    Store& s = *sp;
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
    auto r = store_checked(s, checked, 0);
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
    auto sp = t.open();
    Store& s = *sp;
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
    auto sp = t.open();
    Store& s = *sp;
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
    auto sp = t.open();
    Store& s = *sp;
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

// Per-host ingest tokens: only the hash is stored, a token finds its host
// until revoked (by id or by host), a revoked one stays listed.
void test_ingest_tokens(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    auto a = issue_token(s, "hosta.example", 1000);
    auto a2 = issue_token(s, "hosta.example", 2000);
    auto b = issue_token(s, "hostb.example", 3000);
    assert_int_equal(a.token.size(), 64);
    assert_true(a.token != a2.token && a.id != a2.id);
    assert_str_eq(a.id, secret_hash(a.token).substr(0, 12));
    assert_str_eq(token_host(s, secret_hash(a.token)).value_or(""), "hosta.example");
    assert_str_eq(token_host(s, secret_hash(b.token)).value_or(""), "hostb.example");
    assert_false(token_host(s, a.token).has_value());  // the token itself is not a key
    for (const auto& row : s.ingest_tokens()) {
        for (const auto& col : row) {
            assert_true(!col || col->find(a.token) == std::string::npos);
        }
    }
    assert_int_equal(revoke_tokens(s, a.id, 4000), 1);
    assert_false(token_host(s, secret_hash(a.token)).has_value());
    assert_str_eq(token_host(s, secret_hash(a2.token)).value_or(""), "hosta.example");
    assert_int_equal(revoke_tokens(s, "hosta.example", 5000), 1);  // a2; a was already
    assert_false(token_host(s, secret_hash(a2.token)).has_value());
    assert_int_equal(revoke_tokens(s, "hosta.example", 6000), 0);
    auto rows = list_tokens(s);
    assert_int_equal(rows.size(), 3);
    assert_str_eq(rows[0].host, "hosta.example");
    assert_true(rows[0].revoked_ms.has_value() && *rows[0].revoked_ms == 4000);
    assert_true(rows[1].revoked_ms.has_value() && *rows[1].revoked_ms == 5000);
    assert_false(rows[2].revoked_ms.has_value());
    assert_int_equal(rows[2].created_ms, 3000);
    for (const char* bad : {"", "a b", "a/b"}) {
        bool refused = false;
        try {
            issue_token(s, bad, 1);
        } catch (const tlog::InputError& e) {
            refused = std::string(e.what()).find("HOST") != std::string::npos;
        }
        assert_true(refused);
    }
}

void test_schema(void**) {
    TempDb t;
    {
        auto sp = t.open();
        Store& s = *sp;
        assert_int_equal(s.schema_version(), Store::current_schema_version());
        ingest_json_lines(s, msg("h", "r", 1, "x"), 0);
    }
    {
        // Reopening keeps the data and the version.
        auto sp = t.open();
        Store& s = *sp;
        assert_int_equal(s.schema_version(), Store::current_schema_version());
        assert_int_equal(s.message_count("r"), 1);
    }
    // A database from a newer server is refused, naming the database.
    t.set_version(999);
    try {
        auto sp = t.open();
        fail_msg("a newer schema was accepted");
    } catch (const std::runtime_error& e) {
        assert_true(std::string(e.what()).find(t.named) != std::string::npos);
        assert_true(std::string(e.what()).find("999") != std::string::npos);
    }
}

// A database of schema version 1 (as the first tlog-server made it) is
// upgraded in place: its messages read back byte for byte, its key still
// refuses duplicates, its sessions row goes on counting.
void test_upgrade_from_v1(void**) {
    TempDb t;
    std::string m1 = msg("h", "r", 1, "one");
    std::string packed(ZSTD_compressBound(m1.size()), '\0');
    packed.resize(ZSTD_compress(packed.data(), packed.size(), m1.data(), m1.size(), 3));
    std::string hex;
    for (unsigned char c : packed) {
        static const char digits[] = "0123456789abcdef";
        hex += digits[c >> 4U];
        hex += digits[c & 15U];
    }
    if (t.postgres()) {
        t.sql(
            "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);"
            "CREATE TABLE messages (host TEXT COLLATE \"C\" NOT NULL, rec TEXT COLLATE \"C\" NOT NULL, "
            "id BIGINT NOT NULL, json_size BIGINT NOT NULL, json_zstd BYTEA NOT NULL, PRIMARY KEY (rec, id, host));"
            "CREATE TABLE sessions (host TEXT COLLATE \"C\" NOT NULL, rec TEXT COLLATE \"C\" NOT NULL, "
            "\"user\" TEXT COLLATE \"C\" NOT NULL, term TEXT COLLATE \"C\" NOT NULL, session BIGINT NOT NULL, "
            "first_id BIGINT NOT NULL, last_id BIGINT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, "
            "messages BIGINT NOT NULL, bytes BIGINT NOT NULL, PRIMARY KEY (host, rec));"
            "INSERT INTO messages VALUES ('h', 'r', 1, " +
            std::to_string(m1.size()) + ", '\\x" + hex + "'::bytea);");
    } else {
        t.sql(
            "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);"
            "CREATE TABLE messages (host TEXT NOT NULL, rec TEXT NOT NULL, id INTEGER NOT NULL, "
            "json_size INTEGER NOT NULL, json_zstd BLOB NOT NULL, PRIMARY KEY (rec, id, host)) WITHOUT ROWID;"
            "CREATE TABLE sessions (host TEXT NOT NULL, rec TEXT NOT NULL, user TEXT NOT NULL, term TEXT NOT NULL, "
            "session INTEGER NOT NULL, first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, "
            "start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, messages INTEGER NOT NULL, "
            "bytes INTEGER NOT NULL, PRIMARY KEY (host, rec));"
            "INSERT INTO messages VALUES ('h', 'r', 1, " +
            std::to_string(m1.size()) + ", X'" + hex + "');");
    }
    t.sql("INSERT INTO sessions VALUES ('h', 'r', 'alice', 'xterm', 7, 1, 1, 1700000000000, 1700000000000, 1, " +
          std::to_string(m1.size()) + ")");
    auto sp = t.open();
    Store& s = *sp;
    assert_int_equal(s.schema_version(), Store::current_schema_version());
    auto got = s.messages("r", "h", 0, 10);
    assert_int_equal(got.size(), 1);
    assert_str_eq(got[0], m1);
    std::string m2 = msg("h", "r", 2, "two");
    auto r = ingest_json_lines(s, m1 + "\n" + m2 + "\n", 0);
    assert_int_equal(r.duplicates, 1);
    assert_int_equal(r.created, 1);
    auto sess = s.sessions({});
    assert_int_equal(sess.size(), 1);
    assert_int_equal(sess[0].messages, 2);
    assert_int_equal(sess[0].last_id, 2);
    assert_int_equal(sess[0].bytes, m1.size() + m2.size());
    // Migrating again from version 1 (the layout is already the new one)
    // keeps everything.
    sp.reset();
    t.set_version(1);
    sp = t.open();
    assert_int_equal(sp->schema_version(), Store::current_schema_version());
    assert_int_equal(sp->message_count("r"), 2);
    assert_int_equal(ingest_json_lines(*sp, m2, 0).duplicates, 1);
}

std::string zstd_hex(const std::string& json) {
    std::string packed(ZSTD_compressBound(json.size()), '\0');
    packed.resize(ZSTD_compress(packed.data(), packed.size(), json.data(), json.size(), 1));
    std::string hex;
    for (unsigned char c : packed) {
        static const char digits[] = "0123456789abcdef";
        hex += digits[c >> 4U];
        hex += digits[c & 15U];
    }
    return hex;
}

// A database of schema version 3 (a row per message, keyed by host and
// rec text, as the previous tlog-server wrote it) is converted to batches:
// its recordings read back byte for byte, in order, with the two hosts of
// one rec apart; its messages stay duplicates; new messages go on; and
// migrating again from version 3 keeps everything.
void test_upgrade_from_v3(void**) {
    TempDb t;
    struct Row {
        std::string host, rec;
        uint64_t id;
        std::string json;
    };
    std::vector<Row> rows = {{"h", "r", 2, msg("h", "r", 2, "two")},
                             {"h", "r", 1, msg("h", "r", 1, "one")},
                             {"g", "r", 1, msg("g", "r", 1, "other host")},
                             {"h", "s", 1, msg("h", "s", 1, "another recording \u00e9", "bob")}};
    std::string inserts;
    for (const auto& r : rows) {
        inserts += "INSERT INTO messages VALUES ('" + r.host + "', '" + r.rec + "', " + std::to_string(r.id) + ", " +
                   std::to_string(r.json.size()) + ", " +
                   (t.postgres() ? "'\\x" + zstd_hex(r.json) + "'::bytea" : "X'" + zstd_hex(r.json) + "'") + ");";
    }
    if (t.postgres()) {
        t.sql(
            "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (3);"
            "CREATE TABLE messages (host TEXT COLLATE \"C\" NOT NULL, rec TEXT COLLATE \"C\" NOT NULL, "
            "id BIGINT NOT NULL, json_size BIGINT NOT NULL, json_zstd BYTEA NOT NULL, PRIMARY KEY (rec, id, host));"
            "ALTER TABLE messages ALTER COLUMN json_zstd SET STORAGE EXTERNAL;"
            "CREATE TABLE sessions (host TEXT COLLATE \"C\" NOT NULL, rec TEXT COLLATE \"C\" NOT NULL, "
            "\"user\" TEXT COLLATE \"C\" NOT NULL, term TEXT COLLATE \"C\" NOT NULL, session BIGINT NOT NULL, "
            "first_id BIGINT NOT NULL, last_id BIGINT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, "
            "messages BIGINT NOT NULL, bytes BIGINT NOT NULL, PRIMARY KEY (host, rec));"
            "CREATE INDEX sessions_by_start ON sessions (start_ms, host, rec);"
            "CREATE INDEX sessions_by_user ON sessions (\"user\", start_ms);"
            "CREATE TABLE audit_events (host TEXT COLLATE \"C\" NOT NULL, serial BIGINT NOT NULL, "
            "time_ms BIGINT NOT NULL, type TEXT COLLATE \"C\" NOT NULL, ses BIGINT, rec TEXT COLLATE \"C\" NOT NULL, "
            "session_start BOOLEAN NOT NULL, json_size BIGINT NOT NULL, json_zstd BYTEA NOT NULL);"
            "CREATE UNIQUE INDEX audit_key ON audit_events (host, serial, time_ms, type);"
            "CREATE INDEX audit_by_session ON audit_events (host, ses, time_ms);"
            "CREATE INDEX audit_by_rec ON audit_events (rec, time_ms);"
            "CREATE INDEX audit_by_time ON audit_events (time_ms);" +
            inserts);
    } else {
        t.sql(
            "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (3);"
            "CREATE TABLE messages (host TEXT NOT NULL, rec TEXT NOT NULL, id INTEGER NOT NULL, "
            "json_size INTEGER NOT NULL, json_zstd BLOB NOT NULL);"
            "CREATE UNIQUE INDEX messages_key ON messages (rec, id, host);"
            "CREATE TABLE sessions (host TEXT NOT NULL, rec TEXT NOT NULL, user TEXT NOT NULL, term TEXT NOT NULL, "
            "session INTEGER NOT NULL, first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, "
            "start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, messages INTEGER NOT NULL, "
            "bytes INTEGER NOT NULL, PRIMARY KEY (host, rec));"
            "CREATE INDEX sessions_by_start ON sessions (start_ms, host, rec);"
            "CREATE INDEX sessions_by_user ON sessions (user, start_ms);"
            "CREATE TABLE audit_events (host TEXT NOT NULL, serial INTEGER NOT NULL, time_ms INTEGER NOT NULL, "
            "type TEXT NOT NULL, ses INTEGER, rec TEXT NOT NULL, session_start INTEGER NOT NULL, "
            "json_size INTEGER NOT NULL, json_zstd BLOB NOT NULL);"
            "CREATE UNIQUE INDEX audit_key ON audit_events (host, serial, time_ms, type);"
            "CREATE INDEX audit_by_session ON audit_events (host, ses, time_ms);"
            "CREATE INDEX audit_by_rec ON audit_events (rec, time_ms);"
            "CREATE INDEX audit_by_time ON audit_events (time_ms);" +
            inserts);
    }
    t.sql("INSERT INTO sessions VALUES ('h', 'r', 'alice', 'xterm', 7, 1, 2, 1700000000000, 1700000001000, 2, " +
          std::to_string(rows[0].json.size() + rows[1].json.size()) + ")");
    auto check = [&](Store& s, const std::string& m3) {
        assert_int_equal(s.schema_version(), Store::current_schema_version());
        std::vector<std::string> want = {rows[2].json, rows[1].json, rows[0].json};
        if (!m3.empty()) {
            want.push_back(m3);
        }
        assert_true(s.messages("r", "", 0, 10) == want);
        assert_int_equal(s.message_count("r"), want.size());
        assert_true(s.messages_page("r", 1, 2) == std::vector<std::string>(want.begin() + 1, want.begin() + 3));
        auto h = s.messages("r", "h", 1, 10);
        assert_int_equal(h.size(), want.size() - 2);
        assert_str_eq(h[0], rows[0].json);
        auto other = s.messages("s", "h", 0, 10);
        assert_int_equal(other.size(), 1);
        assert_str_eq(other[0], rows[3].json);
    };
    std::string m3 = msg("h", "r", 3, "three");
    {
        auto sp = t.open();
        check(*sp, "");
        auto r = ingest_json_lines(*sp, rows[1].json + "\n" + rows[0].json + "\n" + m3 + "\n", 0);
        assert_int_equal(r.duplicates, 2);
        assert_int_equal(r.created, 1);
        check(*sp, m3);
        auto sess = sp->sessions({});
        assert_int_equal(sess.size(), 1);  // the converted rows kept the sessions table as it was
        assert_int_equal(sess[0].messages, 3);
        assert_int_equal(sess[0].last_id, 3);
    }
    t.set_version(3);
    auto sp = t.open();
    check(*sp, m3);
    assert_int_equal(ingest_json_lines(*sp, m3 + "\n" + rows[2].json, 0).duplicates, 2);
}

// Instances starting together on a new database: the schema is created
// once (PostgreSQL: under the advisory lock) and both open it.
void test_concurrent_open(void**) {
    TempDb t;
    std::vector<std::string> errors(4);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < errors.size(); ++i) {
        threads.emplace_back([&, i] {
            try {
                auto sp = t.open();
                if (sp->schema_version() != Store::current_schema_version()) {
                    errors[i] = "wrong schema version";
                }
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    for (const auto& e : errors) {
        if (!e.empty()) {
            fail_msg("%s", e.c_str());
        }
    }
}

// Two writers (two connections, as two tlog-server instances) ingest the
// same recordings at once, in different orders and batch sizes: every
// message stored once, each session counted exactly.
void test_two_writers(void**) {
    TempDb t;
    constexpr int recs = 12, per_rec = 15;
    std::vector<std::string> lines;
    for (int r = 0; r < recs; ++r) {
        for (int i = 1; i <= per_rec; ++i) {
            lines.push_back(msg("h", "r" + std::to_string(r), static_cast<uint64_t>(i), "m" + std::to_string(i)));
        }
    }
    auto a = t.open(), b = t.open();
    auto writer = [&](Store& s, bool reverse, size_t batch, std::string& error, uint64_t& created) {
        std::vector<std::string> order = lines;
        if (reverse) {
            std::reverse(order.begin(), order.end());
        }
        try {
            for (size_t i = 0; i < order.size(); i += batch) {
                std::string body;
                for (size_t j = i; j < std::min(order.size(), i + batch); ++j) {
                    body += order[j] + "\n";
                }
                created += retry_transient([&] { return ingest_json_lines(s, body, 0); }).created;
            }
        } catch (const std::exception& e) {
            error = e.what();
        }
    };
    std::string ea, eb;
    uint64_t ca = 0, cb = 0;
    std::thread ta([&] { writer(*a, false, 7, ea, ca); });
    std::thread tb([&] { writer(*b, true, 5, eb, cb); });
    ta.join();
    tb.join();
    if (!ea.empty() || !eb.empty()) {
        fail_msg("writer failed: %s%s", ea.c_str(), eb.c_str());
    }
    assert_int_equal(ca + cb, lines.size());
    SessionQuery q;
    q.limit = 1000;
    auto sess = a->sessions(q);
    assert_int_equal(sess.size(), recs);
    for (const auto& x : sess) {
        assert_int_equal(a->message_count(x.rec), per_rec);
        assert_int_equal(x.messages, per_rec);
        assert_int_equal(x.first_id, 1);
        assert_int_equal(x.last_id, per_rec);
        assert_int_equal(x.gaps, 0);
        assert_int_equal(x.start_ms, 1700000000000ULL);
        assert_int_equal(x.end_ms, 1700000000000ULL + (per_rec - 1) * 1000ULL);
        uint64_t bytes = 0;
        for (const auto& m : b->messages(x.rec, "h", 0, 1000)) {
            bytes += m.size();
        }
        assert_int_equal(x.bytes, bytes);
    }
}

// Messages are stored in batches (a request's consecutive messages of one
// recording in one zstd frame, closed at a count or a size): whatever the
// batch boundaries, a message whose (host, rec, id) is stored is a
// duplicate, and every message reads back byte for byte, by id and by
// position. Resent: a subset, a superset, an interleaving, ids twice in
// one body, out of order.
void test_batches_resend(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    constexpr uint64_t total = 700;
    std::vector<std::string> m(total + 1);
    for (uint64_t id = 1; id <= total; ++id) {
        // Sizes from a few bytes to about 3 KB, so that batches close by
        // size as well as by count.
        size_t len = (id * 7919) % 3000;
        std::string out;
        for (size_t i = 0; i < len; ++i) {
            out += static_cast<char>('a' + (id + i * i) % 26);
        }
        m[id] = msg("h", "r", id, out);
    }
    auto body = [&](const std::vector<uint64_t>& ids) {
        std::string b;
        for (uint64_t id : ids) {
            b += m[id] + "\n";
        }
        return b;
    };
    auto range = [](uint64_t from, uint64_t to, uint64_t step = 1) {
        std::vector<uint64_t> ids;
        for (uint64_t id = from; id <= to; id += step) {
            ids.push_back(id);
        }
        return ids;
    };
    auto r = ingest_json_lines(s, body(range(1, 300)), 0);
    assert_int_equal(r.created, 300);
    // A subset of what is stored, from the middle of batches.
    r = ingest_json_lines(s, body(range(10, 20)), 0);
    assert_int_equal(r.created, 0);
    assert_int_equal(r.duplicates, 11);
    // A superset: the stored ones are duplicates, the rest new.
    r = ingest_json_lines(s, body(range(1, 400)), 0);
    assert_int_equal(r.created, 100);
    assert_int_equal(r.duplicates, 300);
    // Interleaved: every third id of a range first, then the whole range
    // backwards, then an id twice in one body.
    r = ingest_json_lines(s, body(range(401, 700, 3)), 0);
    assert_int_equal(r.created, 100);
    auto back = range(401, 700);
    std::reverse(back.begin(), back.end());
    r = ingest_json_lines(s, body(back), 0);
    assert_int_equal(r.created, 200);
    assert_int_equal(r.duplicates, 100);
    r = ingest_json_lines(s, body({5, 700, 5}), 0);
    assert_int_equal(r.created, 0);
    assert_int_equal(r.duplicates, 3);

    assert_int_equal(s.message_count("r"), total);
    auto all = s.messages("r", "", 0, 100000);
    assert_int_equal(all.size(), total);
    for (uint64_t id = 1; id <= total; ++id) {
        if (all[id - 1] != m[id]) {
            fail_msg("message %llu differs", static_cast<unsigned long long>(id));
        }
    }
    // Paging by id after the last one read: exact across batches.
    std::vector<std::string> paged;
    for (uint64_t after = 0;;) {
        auto page = s.messages("r", "h", after, 37);
        if (page.empty()) {
            break;
        }
        after += page.size();
        paged.insert(paged.end(), page.begin(), page.end());
    }
    assert_true(paged == all);
    // By position, as Elasticsearch's from/size.
    for (uint64_t from : {0, 1, 255, 256, 299, 300, 650, 699, 700}) {
        auto page = s.messages_page("r", from, 60);
        size_t want = std::min<uint64_t>(60, total - from);
        assert_int_equal(page.size(), want);
        for (size_t i = 0; i < want; ++i) {
            assert_true(page[i] == all[from + i]);
        }
    }
    auto sess = s.sessions({});
    assert_int_equal(sess.size(), 1);
    assert_int_equal(sess[0].messages, total);
    assert_int_equal(sess[0].gaps, 0);
    uint64_t bytes = 0;
    for (uint64_t id = 1; id <= total; ++id) {
        bytes += m[id].size();
    }
    assert_int_equal(sess[0].bytes, bytes);
    // A message outside any transaction is a batch of its own.
    assert_int_equal(s.add({"h", "r", "alice", "xterm", 7, 5, 4000, std::nullopt}, m[5], 0), AddResult::Duplicate);
}

// A live session sends a message or two a request: each request's
// messages join the recording's open batch (stored again, larger), so
// they are compressed together too; a full batch is closed and the next
// one opened. Resent messages stay duplicates and leave the batch as it is.
void test_open_batch(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    constexpr uint64_t total = 300;
    std::vector<std::string> m;
    for (uint64_t id = 1; id <= total; ++id) {
        m.push_back(msg("h", "live", id, "line " + std::to_string(id) + " of a live session"));
        assert_int_equal(ingest_json_lines(s, m.back(), 0).created, 1);
        if (id % 50 == 0) {
            // Another recording in between, and a resend.
            assert_int_equal(ingest_json_lines(s, msg("h", "other", id, "x") + "\n" + m.back(), 0).created, 1);
        }
    }
    // Batches of up to 16 KiB of JSON for the live session (about 70 of
    // these messages), one for the other recording: 306 requests, 5
    // batches.
    assert_str_eq(t.query("SELECT count(*) FROM message_batches"), "5");
    assert_true(s.messages("live", "h", 0, 1000) == m);
    assert_int_equal(s.messages("other", "h", 0, 1000).size(), 6);
    auto r = ingest_json_lines(s, m[0] + "\n" + m[299] + "\n" + m[150], 0);
    assert_int_equal(r.duplicates, 3);
    // Reopened (another instance), the open batch is found again.
    sp.reset();
    sp = t.open();
    std::string next = msg("h", "live", total + 1, "after a restart");
    assert_int_equal(ingest_json_lines(*sp, next, 0).created, 1);
    m.push_back(next);
    assert_true(sp->messages("live", "", 0, 1000) == m);
    assert_str_eq(t.query("SELECT count(*) FROM message_batches"), "5");
    assert_int_equal(sp->sessions({}).size(), 2);
}

// Ids on both sides of a multiple of 4,096 (PostgreSQL reads which ids are
// stored by windows of 4,096, and keeps runs of consecutive ids in a row):
// a run that began before a window is found from within it, by the
// duplicate check and by reading.
void test_batches_window(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    std::string body;
    for (uint64_t id = 4000; id <= 4200; ++id) {
        body += msg("h", "w", id, "m" + std::to_string(id)) + "\n";
    }
    assert_int_equal(ingest_json_lines(s, body, 0).created, 201);
    sp.reset();
    sp = t.open();  // nothing remembered from the first transaction
    auto r = ingest_json_lines(*sp,
                               msg("h", "w", 4097, "m4097") + "\n" + msg("h", "w", 4096, "m4096") + "\n" +
                                   msg("h", "w", 4201, "m4201") + "\n" + msg("h", "w", 8192, "m8192"),
                               0);
    assert_int_equal(r.duplicates, 2);
    assert_int_equal(r.created, 2);
    auto got = sp->messages("w", "h", 4095, 3);
    assert_int_equal(got.size(), 3);
    assert_str_eq(got[0], msg("h", "w", 4096, "m4096"));
    assert_str_eq(got[2], msg("h", "w", 4098, "m4098"));
    auto page = sp->messages_page("w", 200, 3);
    assert_int_equal(page.size(), 3);
    assert_str_eq(page[0], msg("h", "w", 4200, "m4200"));
    assert_str_eq(page[2], msg("h", "w", 8192, "m8192"));
    assert_int_equal(sp->message_count("w"), 203);
    assert_int_equal(sp->messages("w", "h", 8192, 10).size(), 0);
}

// A batch altered behind the server's back (its sizes, its frame) is
// refused when read, naming the database, rather than cut at the wrong
// places: a recording is evidence, and no message comes back other than
// as it was sent.
void test_batches_damaged(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    std::string body;
    for (uint64_t id = 1; id <= 5; ++id) {
        body += msg("h", "d", id, "m" + std::to_string(id)) + "\n";
    }
    assert_int_equal(ingest_json_lines(s, body, 0).created, 5);
    assert_int_equal(s.messages("d", "h", 0, 10).size(), 5);
    auto refused = [&](const std::string& damage) {
        t.sql(damage);
        try {
            s.messages("d", "h", 0, 10);
            fail_msg("a damaged batch was read: %s", damage.c_str());
        } catch (const std::runtime_error& e) {
            assert_true(std::string(e.what()).find(t.named) != std::string::npos);
        }
    };
    // Each damage on top of the one before: the batch's size off by one
    // (the frame and the sizes disagree with it), the sizes list cut (its
    // varints no longer add up), the frame cut short.
    refused("UPDATE message_batches SET json_size = json_size + 1");
    refused("UPDATE message_batches SET json_size = json_size - 1, sizes = substr(sizes, 2)");
    refused("UPDATE message_batches SET json_zstd = substr(json_zstd, 1, 10)");
}

// A rec two hosts sent: read in (id, host) order, by id and by position.
void test_batches_two_hosts(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    std::string body1, body2;
    for (uint64_t id = 1; id <= 40; ++id) {
        body1 += msg("h1", "r", id, "one" + std::to_string(id)) + "\n";
        if (id % 2 == 0) {
            body2 += msg("h2", "r", id, "two" + std::to_string(id)) + "\n";
        }
    }
    assert_int_equal(ingest_json_lines(s, body2, 0).created, 20);
    assert_int_equal(ingest_json_lines(s, body1, 0).created, 40);
    std::vector<std::string> want;
    for (uint64_t id = 1; id <= 40; ++id) {
        want.push_back(msg("h1", "r", id, "one" + std::to_string(id)));
        if (id % 2 == 0) {
            want.push_back(msg("h2", "r", id, "two" + std::to_string(id)));
        }
    }
    assert_int_equal(s.message_count("r"), 60);
    assert_true(s.messages("r", "", 0, 1000) == want);
    auto page = s.messages_page("r", 10, 7);
    assert_true(page == std::vector<std::string>(want.begin() + 10, want.begin() + 17));
    auto after = s.messages("r", "", 30, 3);  // id 31 (h1), 32 (h1), 32 (h2)
    assert_true(after == std::vector<std::string>(want.begin() + 45, want.begin() + 48));
    auto h2 = s.messages("r", "h2", 0, 1000);
    assert_int_equal(h2.size(), 20);
    assert_str_eq(h2[0], msg("h2", "r", 2, "two2"));
}

// A database that cannot be opened is named, without any password.
void test_unreachable(void**) {
    for (const std::string spec : {"postgres:host=/nonexistent-dir port=5 dbname=audit password=s3cret",
                                   "postgresql://u:s3cret@/audit?host=/nonexistent-dir&port=5"}) {
        try {
            open_store(spec);
            fail_msg("%s opened", spec.c_str());
        } catch (const std::runtime_error& e) {
            std::string what = e.what();
            assert_true(what.find("PostgreSQL database \"audit\"") != std::string::npos);
            assert_true(what.find("/nonexistent-dir") != std::string::npos);
            assert_true(what.find("s3cret") == std::string::npos);
        }
    }
    try {
        open_store("/nonexistent-dir/db.sqlite");
        fail_msg("a database in a missing directory opened");
    } catch (const std::runtime_error& e) {
        assert_true(std::string(e.what()).find("/nonexistent-dir/db.sqlite") != std::string::npos);
    }
}

}  // namespace

// One tlog-audit event as the converter writes it; rec and op optional.
std::string audit_ev(const std::string& host, uint64_t serial, const std::string& time, const std::string& ses,
                     const std::string& rec, const std::string& type, const std::string& op = "") {
    return "{\"serial\":" + std::to_string(serial) + ",\"time\":\"" + time + "\",\"host\":\"" + host +
           "\",\"ses\":" + ses + (rec.empty() ? std::string() : ",\"rec\":\"" + rec + "\"") + ",\"type\":\"" + type +
           "\"" + (op.empty() ? std::string() : ",\"op\":\"" + op + "\"") + ",\"records\":[{\"type\":\"" + type +
           "\",\"fields\":{\"x\":\"caf\u00e9 \\u00e9\"}}]}";
}

std::string lines(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& l : v) {
        out += l + "\n";
    }
    return out;
}

// A recording's audit events read in pages of 2 (each page after the
// last key of the one before), checked against one page of all.
std::vector<std::string> audit_of(Store& s, const std::string& rec) {
    std::vector<std::string> paged;
    std::optional<AuditKey> after;
    for (;;) {
        auto page = s.audit_events(rec, after, 2);
        for (const auto& e : page) {
            paged.push_back(e.json);
        }
        if (page.size() < 2) {
            break;
        }
        after = page.back().key;
    }
    auto whole = s.audit_events(rec, std::nullopt, 100000);
    assert_int_equal(whole.size(), paged.size());
    for (size_t i = 0; i < whole.size(); ++i) {
        assert_str_eq(whole[i].json, paged[i]);
    }
    return paged;
}

// Stored once per (host, serial, time, type), byte for byte; the LOGIN
// and SYSCALL objects libauparse makes of one serial are two events.
void test_audit_idempotent(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    std::string login = audit_ev("h", 10, "2026-12-04T21:25:01.266Z", "5", "", "LOGIN");
    std::string sys = audit_ev("h", 10, "2026-12-04T21:25:01.266Z", "5", "", "SYSCALL");
    std::string start = audit_ev("h", 11, "2026-12-04T21:25:01.300Z", "5", "r1", "TRUSTED_APP", "tlog-session-start");
    auto a = ingest_audit_lines(s, lines({login, sys, start}));
    assert_int_equal(a.created, 3);
    assert_int_equal(a.failed, 0);
    auto b = ingest_audit_lines(s, lines({start, sys, login}));
    assert_int_equal(b.created, 0);
    assert_int_equal(b.duplicates, 3);
    // The same serial and time from another host, or at another time (the
    // serial counter restarts with auditd), is another event.
    auto c = ingest_audit_lines(s, lines({audit_ev("h2", 10, "2026-12-04T21:25:01.266Z", "5", "", "LOGIN"),
                                          audit_ev("h", 10, "2026-12-05T01:00:00.000Z", "9", "", "LOGIN")}));
    assert_int_equal(c.created, 2);
    auto got = audit_of(s, "r1");
    assert_int_equal(got.size(), 3);  // both objects of serial 10 (ses 5 on h), then the start
    assert_str_eq(got[0], login);
    assert_str_eq(got[1], sys);
    assert_str_eq(got[2], start);
    // The native response counts as for messages.
    auto resp = tlog::json::parse(native_response(b), "response");
    assert_int_equal(resp.find("duplicates")->as_uint().value(), 3);
}

// A recording's events in time order (then serial) whatever the arrival
// order: those with its rec, those of its audit session logged before the
// start record; not another host's, session's or recording's.
void test_audit_join(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    std::string auth = audit_ev("h", 100, "2026-12-04T21:25:01.000Z", "5", "", "USER_AUTH");
    std::string login = audit_ev("h", 101, "2026-12-04T21:25:01.100Z", "5", "", "LOGIN");
    std::string start = audit_ev("h", 102, "2026-12-04T21:25:01.200Z", "5", "R", "TRUSTED_APP", "tlog-session-start");
    std::string exec1 = audit_ev("h", 103, "2026-12-04T21:25:02.000Z", "5", "R", "SYSCALL");
    // Same millisecond: serial decides.
    std::string exec2 = audit_ev("h", 105, "2026-12-04T21:25:03.000Z", "5", "R", "SYSCALL");
    std::string exec3 = audit_ev("h", 104, "2026-12-04T21:25:03.000Z", "5", "R", "SYSCALL");
    std::string end = audit_ev("h", 106, "2026-12-04T22:00:00.000Z", "5", "R", "USER_END");
    // Not of R: another host's session 5, another session, no session, a
    // later session 5 (after a reboot) recorded as R2, a rec-less event
    // claiming an op on another session.
    std::string other_host = audit_ev("h2", 107, "2026-12-04T21:25:02.500Z", "5", "", "SYSCALL");
    std::string other_ses = audit_ev("h", 108, "2026-12-04T21:25:02.600Z", "6", "", "SYSCALL");
    std::string no_ses = audit_ev("h", 109, "2026-12-04T21:25:02.700Z", "null", "", "DAEMON_START");
    std::string reboot_start =
        audit_ev("h", 7, "2026-12-06T08:00:00.000Z", "5", "R2", "TRUSTED_APP", "tlog-session-start");
    std::string reboot_exec = audit_ev("h", 8, "2026-12-06T08:00:01.000Z", "5", "R2", "SYSCALL");
    // A rec-less event that says tlog-session-start joins nothing.
    std::string fake_start =
        audit_ev("h", 110, "2026-12-04T21:25:02.800Z", "6", "", "USER_START", "tlog-session-start");
    ingest_audit_lines(s, lines({end, exec2, other_host, reboot_exec, start}));
    ingest_audit_lines(s, lines({exec3, no_ses, auth, other_ses, reboot_start, exec1, login, fake_start}));
    auto got = audit_of(s, "R");
    std::vector<std::string> want = {auth, login, start, exec1, exec3, exec2, end};
    assert_int_equal(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        assert_str_eq(got[i], want[i]);
    }
    // R2's session: its own events and the rec-less events of (h, 5),
    // which audit session ids reused across boots make ambiguous.
    auto got2 = audit_of(s, "R2");
    assert_int_equal(got2.size(), 4);
    assert_str_eq(got2[0], auth);
    assert_str_eq(got2[1], login);
    assert_str_eq(got2[2], reboot_start);
    assert_str_eq(got2[3], reboot_exec);
    assert_int_equal(audit_of(s, "nobody").size(), 0);
    // An event joined by rec alone, without a start event (the start
    // record was before the input began).
    ingest_audit_lines(s, audit_ev("h3", 1, "2026-12-04T21:25:01.000Z", "9", "R3", "SYSCALL"));
    assert_int_equal(audit_of(s, "R3").size(), 1);
}

// A recording's audit trail as GET .../audit serves it: one line per item,
// "E:" and the JSON for a joined event, "B:" (before the session) and the
// JSON or "missing serial time" for a failure its start event lists.
// Paged two at a time, it must equal the whole.
std::vector<std::string> trail_of(Store& s, const std::string& rec) {
    auto text = [](const RecordingAuditItem& it) {
        if (!it.before_session) {
            return "E:" + it.event.json;
        }
        return "B:" + (it.event.json.empty() ? "missing " + it.listed_serial + " " + it.listed_time : it.event.json);
    };
    std::vector<std::string> paged;
    std::optional<AuditKey> after;
    for (;;) {
        auto page = s.recording_audit(rec, after, 2);
        for (const auto& it : page) {
            paged.push_back(text(it));
        }
        if (page.size() < 2) {
            break;
        }
        after = page.back().event.key;
    }
    auto whole = s.recording_audit(rec, std::nullopt, 100000);
    assert_int_equal(whole.size(), paged.size());
    for (size_t i = 0; i < whole.size(); ++i) {
        assert_str_eq(text(whole[i]), paged[i]);
    }
    return paged;
}

// pam_tlog's start event listing failed authentications (serial, time).
std::string start_listing(const std::string& host, uint64_t serial, const std::string& time, uint64_t ses,
                          const std::string& rec, const std::string& failures) {
    return "{\"serial\":" + std::to_string(serial) + ",\"time\":\"" + time + "\",\"host\":\"" + host +
           "\",\"ses\":" + std::to_string(ses) + ",\"rec\":\"" + rec +
           "\",\"type\":\"TRUSTED_APP\",\"op\":\"tlog-session-start\",\"acct\":\"alice\",\"service\":\"sshd\","
           "\"rhost\":\"192.0.2.7\",\"res\":\"success\",\"failed_auth_before\":[" +
           failures + "]}";
}

std::string failure(uint64_t serial, const std::string& time) {
    return "{\"serial\":" + std::to_string(serial) + ",\"time\":\"" + time + "\"}";
}

void assert_trail(Store& s, const std::string& rec, const std::vector<std::string>& want) {
    auto got = trail_of(s, rec);
    for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
        if (got[i] != want[i]) {
            fail_msg("%s item %zu:\n got %s\nwant %s", rec.c_str(), i, got[i].c_str(), want[i].c_str());
        }
    }
    assert_int_equal(got.size(), want.size());
}

// The failed authentications a start event lists come with the
// recording's events, in time order, marked before the session, found by
// the start event's host, serial and time whichever is stored first (the
// failures, the start event, the recording); one not stored is reported
// missing until it is; another host's event, or one of another time (the
// serial counter restarts with auditd), with the same serial is not
// joined; a failure also in the login's audit session comes once; a
// second start event for the recording (forged) lists nothing that counts.
void test_audit_failed_auth_before(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    // sshd's failures have no audit session yet (ses null), the third is in
    // the login's audit session (5), the fourth is not stored at first.
    std::string f1 = audit_ev("h", 50, "2026-12-04T21:24:50.000Z", "null", "", "USER_AUTH");
    std::string f2 = audit_ev("h", 51, "2026-12-04T21:24:55.000Z", "null", "", "USER_AUTH");
    std::string f3 = audit_ev("h", 52, "2026-12-04T21:24:58.000Z", "5", "", "USER_AUTH");
    std::string f4 = audit_ev("h", 53, "2026-12-04T21:24:59.000Z", "null", "", "USER_AUTH");
    std::string login = audit_ev("h", 54, "2026-12-04T21:25:00.000Z", "5", "", "LOGIN");
    std::string start =
        start_listing("h", 55, "2026-12-04T21:25:01.000Z", 5, "R",
                      failure(50, "2026-12-04T21:24:50.000Z") + "," + failure(51, "2026-12-04T21:24:55.000Z") + "," +
                          failure(52, "2026-12-04T21:24:58.000Z") + "," + failure(53, "2026-12-04T21:24:59.000Z"));
    std::string exec = audit_ev("h", 56, "2026-12-04T21:25:02.000Z", "5", "R", "SYSCALL");
    // The same serials elsewhere: another host (at the same time), the same
    // host at another time; and a second start event naming R that lists
    // an event of its own.
    std::string other_host = audit_ev("h2", 51, "2026-12-04T21:24:55.000Z", "null", "", "USER_AUTH");
    std::string other_host_missing = audit_ev("h2", 53, "2026-12-04T21:24:59.000Z", "null", "", "USER_AUTH");
    std::string other_boot = audit_ev("h", 50, "2026-11-01T08:00:00.000Z", "null", "", "USER_AUTH");
    std::string bait = audit_ev("h", 90, "2026-12-04T21:20:00.000Z", "null", "", "USER_AUTH");
    std::string forged =
        start_listing("h", 91, "2026-12-04T21:30:00.000Z", 9, "R", failure(90, "2026-12-04T21:20:00.000Z"));

    // Failures stored before the start event, the recording after it.
    ingest_audit_lines(s, lines({f2, other_host, other_host_missing, f1, other_boot, bait}));
    ingest_audit_lines(s, lines({start, f3, login, exec}));
    ingest_audit_lines(s, lines({forged}));
    const std::vector<std::string> before_f4 = {
        "B:" + f1,    "B:" + f2,    "B:" + f3,   "B:missing 53 \"2026-12-04T21:24:59.000Z\"",
        "E:" + login, "E:" + start, "E:" + exec, "E:" + forged};
    assert_trail(s, "R", before_f4);
    ingest_json_lines(s, msg("h", "R", 1, "x"), 0);
    assert_trail(s, "R", before_f4);
    // The missing failure arrives.
    ingest_audit_lines(s, lines({f4}));
    assert_trail(s, "R",
                 {"B:" + f1, "B:" + f2, "B:" + f3, "B:" + f4, "E:" + login, "E:" + start, "E:" + exec, "E:" + forged});
    // The plain join is unchanged: no failure before the session in it.
    assert_int_equal(audit_of(s, "R").size(), 5);

    // The other order: the recording, then the start event, then the
    // failures; and another host's start event of the same rec (its own
    // session) lists the same serial, which is that host's.
    std::string g1 = audit_ev("h", 150, "2026-12-04T22:00:00.000Z", "null", "", "USER_AUTH");
    std::string g1_h2 = audit_ev("h2", 150, "2026-12-04T22:00:00.000Z", "null", "", "USER_AUTH");
    std::string start2 =
        start_listing("h", 151, "2026-12-04T22:00:05.000Z", 6, "R2", failure(150, "2026-12-04T22:00:00.000Z"));
    ingest_json_lines(s, msg("h", "R2", 1, "x"), 0);
    ingest_audit_lines(s, lines({start2}));
    ingest_audit_lines(s, lines({g1_h2}));
    assert_trail(s, "R2", {"B:missing 150 \"2026-12-04T22:00:00.000Z\"", "E:" + start2});
    ingest_audit_lines(s, lines({g1}));
    assert_trail(s, "R2", {"B:" + g1, "E:" + start2});
    std::string start2_h2 =
        start_listing("h2", 152, "2026-12-04T22:00:06.000Z", 6, "R2", failure(150, "2026-12-04T22:00:00.000Z"));
    ingest_audit_lines(s, lines({start2_h2}));
    assert_trail(s, "R2", {"B:" + g1, "B:" + g1_h2, "E:" + start2, "E:" + start2_h2});

    // Entries that name no serial and time as tlog-audit writes them
    // (forged) are reported, right after the start event, not looked up.
    std::string start3 = start_listing(
        "h", 160, "2026-12-04T23:00:00.000Z", 7, "R3",
        "{\"serial\":\"50\",\"time\":\"2026-12-04T21:24:50.000Z\"},7," + failure(51, "2026-12-04 21:24:55"));
    ingest_audit_lines(s, lines({start3}));
    assert_trail(s, "R3",
                 {"E:" + start3, "B:missing \"50\" \"2026-12-04T21:24:50.000Z\"", "B:missing null null",
                  "B:missing 51 \"2026-12-04 21:24:55\""});

    // A brute force: 150 failures listed (looked up over several
    // statements), every third not stored.
    std::string list, stored;
    std::vector<std::string> want;
    for (uint64_t i = 0; i < 150; ++i) {
        char time[32];
        std::snprintf(time, sizeof time, "2026-12-05T01:%02u:%02u.000Z", static_cast<unsigned>(i / 60),
                      static_cast<unsigned>(i % 60));
        list += (i == 0 ? "" : ",") + failure(1000 + i, time);
        if (i % 3 == 2) {
            want.push_back("B:missing " + std::to_string(1000 + i) + " \"" + time + "\"");
            continue;
        }
        std::string ev = audit_ev("h", 1000 + i, time, "null", "", "USER_AUTH");
        stored += ev + "\n";
        want.push_back("B:" + ev);
    }
    std::string start4 = start_listing("h", 2000, "2026-12-05T02:00:00.000Z", 8, "R4", list);
    want.push_back("E:" + start4);
    ingest_audit_lines(s, stored + start4 + "\n");
    assert_trail(s, "R4", want);
}

// Each line checked alone, errors naming the line and field; good lines
// stored.
void test_audit_malformed(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    std::string good1 = audit_ev("h", 1, "2026-12-04T21:25:01.000Z", "5", "R", "SYSCALL");
    std::string good2 = audit_ev("h", 2, "2026-12-04T21:25:02.000Z", "null", "R", "SYSCALL");
    std::vector<std::pair<std::string, std::string>> bad = {
        {"{not json", ""},
        {"[1,2]", ""},
        {R"({"time":"2026-12-04T21:25:01.000Z","host":"h","ses":5})", "'serial'"},
        {R"({"serial":-1,"time":"2026-12-04T21:25:01.000Z","host":"h","ses":5})", "'serial'"},
        {R"({"serial":1.5,"time":"2026-12-04T21:25:01.000Z","host":"h","ses":5})", "'serial'"},
        {R"({"serial":99999999999999999999,"time":"2026-12-04T21:25:01.000Z","host":"h","ses":5})", "'serial'"},
        {R"({"serial":1,"time":"2026-12-04 21:25:01","host":"h","ses":5})", "'time'"},
        {R"({"serial":1,"time":"2026-02-30T21:25:01.000Z","host":"h","ses":5})", "'time'"},
        {R"({"serial":1,"time":1796419607,"host":"h","ses":5})", "'time'"},
        {R"({"serial":1,"time":"2026-12-04T21:25:01.000Z","ses":5})", "'host'"},
        {R"({"serial":1,"time":"2026-12-04T21:25:01.000Z","host":"","ses":5})", "'host'"},
        {R"({"serial":1,"time":"2026-12-04T21:25:01.000Z","host":"h\u0000x","ses":5})", "'host'"},
        {R"({"serial":1,"time":"2026-12-04T21:25:01.000Z","host":"h"})", "'ses'"},
        {R"({"serial":1,"time":"2026-12-04T21:25:01.000Z","host":"h","ses":"5"})", "'ses'"},
        {R"({"serial":1,"time":"2026-12-04T21:25:01.000Z","host":"h","ses":5,"rec":"a/../b"})", "'rec'"},
        {R"({"serial":1,"time":"2026-12-04T21:25:01.000Z","host":"h","ses":5,"rec":7})", "'rec'"},
        {R"({"serial":1,"time":"2026-12-04T21:25:01.000Z","host":"h","ses":5,"type":["x"]})", "'type'"},
        {R"({"serial":1,"serial":2,"time":"2026-12-04T21:25:01.000Z","host":"h","ses":5})", ""},
        {"{\"serial\":1,\"time\":\"2026-12-04T21:25:01.000Z\",\"host\":\"h\xff\",\"ses\":5}", "UTF-8"},
    };
    std::vector<std::string> body = {good1};
    for (const auto& b : bad) {
        body.push_back(b.first);
    }
    body.push_back(std::string(max_line_bytes + 1, ' ') + "x");
    body.push_back(good2);
    auto r = ingest_audit_lines(s, lines(body));
    assert_int_equal(r.created, 2);
    assert_int_equal(r.failed, bad.size() + 1);
    size_t k = 0;
    for (const auto& i : r.items) {
        if (i.status != 400) {
            continue;
        }
        std::string line = "line " + std::to_string(k + 2);
        if (i.error.rfind(line, 0) != 0) {
            fail_msg("error %zu does not name %s: %s", k, line.c_str(), i.error.c_str());
        }
        if (k < bad.size() && i.error.find(bad[k].second) == std::string::npos) {
            fail_msg("error for line %zu does not name %s: %s", k + 2, bad[k].second.c_str(), i.error.c_str());
        }
        ++k;
    }
    assert_int_equal(k, bad.size() + 1);
    auto got = audit_of(s, "R");
    assert_int_equal(got.size(), 2);
    assert_str_eq(got[0], good1);
    assert_str_eq(got[1], good2);
}

// pam_tlog's start event as tlog-audit writes it, with the fields the
// sessions search indexes.
std::string start_ev(const std::string& host, uint64_t serial, const std::string& time, uint64_t ses,
                     const std::string& rec, const std::string& acct, const std::string& service,
                     const std::string& rhost, int failed) {
    std::string fails;
    for (int i = 0; i < failed; ++i) {
        fails += (i == 0 ? "" : ",") + std::string("{\"serial\":") + std::to_string(serial - 1 - i) + ",\"time\":\"" +
                 time + "\"}";
    }
    return "{\"serial\":" + std::to_string(serial) + ",\"time\":\"" + time + "\",\"host\":\"" + host +
           "\",\"ses\":" + std::to_string(ses) + ",\"rec\":\"" + rec +
           "\",\"type\":\"TRUSTED_APP\",\"op\":\"tlog-session-start\",\"acct\":\"" + acct + "\",\"service\":\"" +
           service + "\",\"rhost\":\"" + rhost + "\",\"tty\":\"ssh\",\"hostname\":\"" + rhost + "\",\"addr\":\"" +
           rhost + "\",\"terminal\":\"ssh\",\"res\":\"success\"" +
           (failed > 0 ? ",\"failed_auth_before\":[" + fails + "]" : std::string()) + "}";
}

std::string user_end(const std::string& host, uint64_t serial, const std::string& time, uint64_t ses,
                     const std::string& rec) {
    return audit_ev(host, serial, time, std::to_string(ses), rec, "USER_END");
}

// A message that carries `end`: the recording's last.
std::string end_msg(const std::string& host, const std::string& rec, uint64_t id, const std::string& user,
                    uint64_t time_s) {
    std::string m = msg(host, rec, id, "x", user, time_s);
    m.pop_back();
    return m + ",\"end\":\"exit\"}";
}

std::vector<std::string> recs(const std::vector<Session>& v) {
    std::vector<std::string> out;
    for (const auto& x : v) {
        out.push_back(x.rec);
    }
    return out;
}

// What pam_tlog's start event says of a session reaches it whichever comes
// first, the event or the messages; filters by service, tty, remote host,
// audit session and failed authentications.
void test_session_audit_fields(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    // r1: the start event first; r2: the messages first; r3: no event.
    ingest_audit_lines(
        s, lines({start_ev("h", 20, "2023-11-14T22:13:20.000Z", 5, "r1", "alice", "sshd", "192.0.2.7", 2)}));
    ingest_json_lines(s, msg("h", "r1", 1, "x") + "\n" + msg("h", "r2", 1, "x") + "\n" + msg("h", "r3", 1, "x"), 0);
    ingest_audit_lines(s, lines({start_ev("h", 30, "2023-11-14T22:13:21.000Z", 6, "r2", "alice", "login", "", 0)}));
    SessionQuery q;
    auto all = s.sessions(q);
    assert_int_equal(all.size(), 3);
    assert_str_eq(all[0].service, "sshd");
    assert_str_eq(all[0].tty, "ssh");
    assert_str_eq(all[0].rhost, "192.0.2.7");
    assert_true(all[0].audit_session.has_value());
    assert_int_equal(*all[0].audit_session, 5);
    assert_int_equal(all[0].failed_auth, 2);
    assert_str_eq(all[1].service, "login");
    assert_str_eq(all[1].rhost, "");  // libaudit's "?" and an empty value: none
    assert_int_equal(all[1].failed_auth, 0);
    assert_false(all[2].audit_session.has_value());
    q.service = "sshd";
    assert_true(recs(s.sessions(q)) == std::vector<std::string>{"r1"});
    q = {};
    q.failed_auth = true;
    assert_true(recs(s.sessions(q)) == std::vector<std::string>{"r1"});
    q = {};
    q.rhost = "192.0.2.7";
    q.tty = "ssh";
    assert_true(recs(s.sessions(q)) == std::vector<std::string>{"r1"});
    q = {};
    q.ses = 6;
    assert_true(recs(s.sessions(q)) == std::vector<std::string>{"r2"});
    q.ses = 7;
    assert_true(s.sessions(q).empty());
    // A start event resent is a duplicate and changes nothing.
    auto again = ingest_audit_lines(
        s, lines({start_ev("h", 20, "2023-11-14T22:13:20.000Z", 5, "r1", "alice", "sshd", "192.0.2.7", 2)}));
    assert_int_equal(again.duplicates, 1);
    // A second start event naming r1 (another serial: replayed or forged)
    // changes nothing: the first stored is kept.
    ingest_audit_lines(
        s, lines({start_ev("h", 90, "2023-11-14T22:13:25.000Z", 9, "r1", "mallory", "cron", "203.0.113.9", 0)}));
    q = {};
    q.service = "sshd";
    auto kept = s.sessions(q);
    assert_true(recs(kept) == std::vector<std::string>{"r1"});
    assert_str_eq(kept[0].rhost, "192.0.2.7");
    assert_int_equal(*kept[0].audit_session, 5);
    assert_int_equal(kept[0].failed_auth, 2);
    // Another host's start event for the same rec is that host's session's.
    ingest_audit_lines(s, lines({start_ev("h2", 20, "2023-11-14T22:13:20.000Z", 5, "r3", "bob", "sudo", "", 0)}));
    q = {};
    q.service = "sudo";
    assert_true(s.sessions(q).empty());
}

// ended: the message carrying end is stored; interrupted: not ended and
// the audit session closed (USER_END, before or after the start event,
// with or without rec) or no message for idle_ms; else live.
void test_session_state(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    const uint64_t t0 = 1700000000;  // 2023-11-14T22:13:20Z
    std::string body;
    for (const char* r : {"ended", "closed-rec", "closed-ses", "closed-first", "idle", "live", "other-boot"}) {
        body += msg("h", r, 1, "x", "alice", std::string(r) == "idle" ? t0 : t0 + 3000) + "\n";
    }
    body += end_msg("h", "ended", 2, "alice", t0 + 3001) + "\n";
    ingest_json_lines(s, body, 0);
    ingest_audit_lines(s, lines({
                              start_ev("h", 10, "2023-11-14T22:13:20.000Z", 1, "closed-rec", "alice", "sshd", "", 0),
                              user_end("h", 11, "2023-11-14T23:00:00.000Z", 1, "closed-rec"),
                              start_ev("h", 12, "2023-11-14T22:13:20.000Z", 2, "closed-ses", "alice", "sshd", "", 0),
                              // A USER_END tlog-audit could not mark (it missed the start).
                              user_end("h", 13, "2023-11-14T23:00:00.000Z", 2, ""),
                              // Stored before its start event.
                              user_end("h", 14, "2023-11-14T23:00:00.000Z", 3, ""),
                              start_ev("h", 15, "2023-11-14T22:13:20.000Z", 3, "closed-first", "alice", "sshd", "", 0),
                              start_ev("h", 16, "2023-11-14T22:13:20.000Z", 4, "live", "alice", "sshd", "", 0),
                              // Audit session 4 closing before "live" began: an earlier
                              // boot's session 4; and another host's session 4.
                              user_end("h", 17, "2023-11-14T22:00:00.000Z", 4, ""),
                              user_end("h2", 18, "2023-11-14T23:00:00.000Z", 4, ""),
                          }));
    SessionQuery q;
    q.now_ms = (t0 + 3600) * 1000;
    q.idle_ms = 1800 * 1000;  // "idle" last spoke an hour ago, the others 10 min ago
    std::map<std::string, std::string> state;
    for (const auto& x : s.sessions(q)) {
        state[x.rec] = x.state;
    }
    assert_str_eq(state["ended"], "ended");
    assert_str_eq(state["closed-rec"], "interrupted");
    assert_str_eq(state["closed-ses"], "interrupted");
    assert_str_eq(state["closed-first"], "interrupted");
    assert_str_eq(state["idle"], "interrupted");
    assert_str_eq(state["live"], "live");
    assert_str_eq(state["other-boot"], "live");
    for (const char* want : {"live", "ended", "interrupted"}) {
        q.state = want;
        auto got = s.sessions(q);
        assert_true(!got.empty());
        for (const auto& x : got) {
            assert_str_eq(x.state, want);
            assert_str_eq(state[x.rec], want);
        }
        size_t n = 0;
        for (const auto& [rec, st] : state) {
            n += st == want ? 1 : 0;
        }
        assert_int_equal(got.size(), n);
    }
    // Without the idle rule, only the audit trail interrupts.
    q.state = "live";
    q.idle_ms = 0;
    assert_int_equal(s.sessions(q).size(), 3);
}

// The groups given for a user are recorded with the sessions first seen
// while they are set, and kept: membership when the session was recorded.
void test_session_groups(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    std::map<std::string, std::vector<std::string>> groups = {{"alice", {"admins", "staff"}}, {"bob", {"staff"}}};
    s.set_user_groups(&groups);
    ingest_json_lines(s, msg("h", "a1", 1, "x", "alice") + "\n" + msg("h", "b1", 1, "x", "bob"), 0);
    groups["alice"] = {"staff"};  // alice left admins
    ingest_json_lines(s, msg("h", "a1", 2, "x", "alice") + "\n" + msg("h", "a2", 1, "x", "alice", 1700000100), 0);
    s.set_user_groups(nullptr);
    ingest_json_lines(s, msg("h", "a3", 1, "x", "alice", 1700000200), 0);
    SessionQuery q;
    q.group = "admins";
    auto admins = s.sessions(q);
    assert_true(recs(admins) == std::vector<std::string>{"a1"});
    assert_true(admins[0].groups == (std::vector<std::string>{"admins", "staff"}));
    q.group = "staff";
    assert_true(recs(s.sessions(q)) == (std::vector<std::string>{"a1", "b1", "a2"}));
    q.group = "nobody";
    assert_true(s.sessions(q).empty());
    q = {};
    q.user = "alice";
    auto a = s.sessions(q);
    assert_int_equal(a.size(), 3);
    assert_true(a[2].groups.empty());  // seen with no lookup
}

// Two writers (two instances on PostgreSQL) see a session's first messages
// at once with different groups for its user: one set is recorded, whole.
void test_session_groups_two_writers(void**) {
    TempDb t;
    for (int round = 0; round < 5; ++round) {
        std::string rec = "g" + std::to_string(round);
        std::map<std::string, std::vector<std::string>> ga = {{"alice", {"a1", "a2"}}};
        std::map<std::string, std::vector<std::string>> gb = {{"alice", {"b1", "b2", "b3"}}};
        auto writer = [&](const std::map<std::string, std::vector<std::string>>* g, uint64_t first) {
            auto sp = t.open();
            sp->set_user_groups(g);
            for (uint64_t id = first; id < first + 20; id += 2) {
                retry_transient([&] { return ingest_json_lines(*sp, msg("h", rec, id, "x"), 0); });
            }
        };
        std::thread a(writer, &ga, 1);
        std::thread b(writer, &gb, 2);
        a.join();
        b.join();
        auto sp = t.open();
        SessionQuery q;
        q.user = "alice";
        q.limit = 1000;
        bool found = false;
        for (const auto& x : sp->sessions(q)) {
            if (x.rec != rec) {
                continue;
            }
            found = true;
            assert_int_equal(x.messages, 20);
            assert_true(x.groups == ga["alice"] || x.groups == gb["alice"]);
            // session_groups holds the same set as the session's row.
            size_t n = 0;
            for (const auto& g : {"a1", "a2", "b1", "b2", "b3"}) {
                SessionQuery by;
                by.group = g;
                for (const auto& y : sp->sessions(by)) {
                    n += y.rec == rec ? 1 : 0;
                    assert_true(std::find(x.groups.begin(), x.groups.end(), g) != x.groups.end() || y.rec != rec);
                }
            }
            assert_int_equal(n, x.groups.size());
        }
        assert_true(found);
    }
}

// A session's first messages and its start event with failed
// authentications stored at the same time by two writers (two instances
// on PostgreSQL): whichever commits first, the session is found by
// failed_auth=1 (sessions.failed_auth is written by one, read from
// session_info by the other; without the recording's lock each could
// miss the other's uncommitted write).
void test_failed_auth_two_writers(void**) {
    TempDb t;
    const int n = 150;  // without the lock, one run in two or three failed with 40
    auto messages = [&] {
        auto sp = t.open();
        for (int i = 0; i < n; ++i) {
            std::string rec = "f" + std::to_string(i);
            retry_transient([&] { return ingest_json_lines(*sp, msg("h", rec, 1, "x") + "\n", 0); });
        }
    };
    auto events = [&] {
        auto sp = t.open();
        for (int i = 0; i < n; ++i) {
            std::string ev = start_ev("h", 100 + static_cast<uint64_t>(i) * 10, "2023-11-14T22:13:20.000Z",
                                      static_cast<uint64_t>(i), "f" + std::to_string(i), "alice", "sshd", "", 1);
            retry_transient([&] { return ingest_audit_lines(*sp, lines({ev})); });
        }
    };
    std::thread a(messages);
    std::thread b(events);
    a.join();
    b.join();
    auto sp = t.open();
    SessionQuery q;
    q.failed_auth = true;
    q.limit = 1000;
    assert_int_equal(sp->sessions(q).size(), n);
}

// Host groups: glob patterns ('*', '?') and exact names; every other
// character is itself (SQL wildcards and GLOB classes included).
void test_host_group(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    std::string body;
    int i = 0;
    for (const char* h : {"fs1.nj.example.com", "fs22.nj.example.com", "fs1.ny.example.com", "files1", "files10",
                          "fsx_nj", "fs%nj", "f[s]1.nj.example.com", "db1.nj.example.com"}) {
        body += msg(h, "r" + std::to_string(i++), 1, "x") + "\n";
    }
    ingest_json_lines(s, body, 0);
    auto hosts = [&](std::vector<std::string> globs, std::vector<std::string> exact) {
        SessionQuery q;
        q.host_group = true;
        q.host_globs = std::move(globs);
        q.hosts = std::move(exact);
        std::vector<std::string> out;
        for (const auto& x : s.sessions(q)) {
            out.push_back(x.host);
        }
        std::sort(out.begin(), out.end());
        return out;
    };
    assert_true(hosts({"fs*.nj.example.com"}, {"files1"}) ==
                (std::vector<std::string>{"files1", "fs1.nj.example.com", "fs22.nj.example.com"}));
    assert_true(hosts({"fs?.n?.example.com"}, {}) ==
                (std::vector<std::string>{"fs1.nj.example.com", "fs1.ny.example.com"}));
    assert_true(hosts({"fs_nj"}, {}).empty());  // '_' is not a wildcard
    assert_true(hosts({"fs%nj"}, {}) == (std::vector<std::string>{"fs%nj"}));
    assert_true(hosts({"f[s]1.nj.example.com"}, {}) == (std::vector<std::string>{"f[s]1.nj.example.com"}));
    assert_true(hosts({"FS*"}, {}).empty());  // case-sensitive on both backends
    assert_true(hosts({}, {}).empty());       // a group without members
}

// Pages through q's results (q.limit a page, by key) and checks they are
// exactly `want` in q's order: the sort's key, then host, then rec.
void check_pages(Store& s, SessionQuery q, std::vector<Session> want) {
    using S = SessionQuery::Sort;
    auto key = [&](const Session& x) -> uint64_t {
        switch (q.sort) {
            case S::End: return x.end_ms;
            case S::Duration: return x.end_ms - x.start_ms;
            case S::Bytes: return x.bytes;
            default: return x.start_ms;
        }
    };
    std::sort(want.begin(), want.end(), [&](const Session& a, const Session& b) {
        return q.descending ? std::make_tuple(key(b), b.host, b.rec) < std::make_tuple(key(a), a.host, a.rec)
                            : std::make_tuple(key(a), a.host, a.rec) < std::make_tuple(key(b), b.host, b.rec);
    });
    std::vector<std::string> got;
    for (;;) {
        auto page = s.sessions(q);
        for (const auto& x : page) {
            got.push_back(x.host + "/" + x.rec);
        }
        if (page.size() < q.limit) {
            break;
        }
        q.after = {key(page.back()), page.back().host, page.back().rec};
    }
    assert_int_equal(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        assert_str_eq(got[i], want[i].host + "/" + want[i].rec);
    }
}

// Each sort, ascending and descending, paged two at a time, gives every
// session once in the exact order (key, then host, then rec), ties included.
void test_session_sorts(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    std::string body;
    // Start times with ties; lengths and sizes vary independently.
    for (int i = 0; i < 12; ++i) {
        std::string host = "h" + std::to_string(i % 3);
        std::string rec = "r" + std::to_string(i);
        uint64_t start = 1700000000 + static_cast<uint64_t>(i / 4) * 10;
        int len = 1 + (i * 7) % 5;
        for (int id = 1; id <= len; ++id) {
            body += msg(host, rec, static_cast<uint64_t>(id), std::string(static_cast<size_t>(1 + (i * 5) % 4), 'x'),
                        "alice", start) +
                    "\n";
        }
    }
    ingest_json_lines(s, body, 0);
    SessionQuery all;
    all.limit = 1000;
    auto every = s.sessions(all);
    assert_int_equal(every.size(), 12);
    using S = SessionQuery::Sort;
    for (S sort : {S::Start, S::End, S::Duration, S::Bytes}) {
        for (bool desc : {false, true}) {
            SessionQuery q;
            q.sort = sort;
            q.descending = desc;
            q.limit = 2;
            check_pages(s, q, every);
        }
    }
}

// Sessions with failed authentications and sessions by state, the
// filters driven from sessions' own columns and their partial indexes:
// paged by key (3 a page) under every sort and direction, each gives
// exactly the sessions whose fields (read from session_info) say so, in
// order. The start events come before the messages of some sessions and
// after those of others; some sessions end, some are closed by USER_END,
// some are idle.
void fill_flagged_sessions(Store& s) {
    const uint64_t t0 = 1700000000;  // 2023-11-14T22:13:20Z
    std::string body, late_events;
    std::vector<std::string> early, late;
    for (int i = 0; i < 30; ++i) {
        std::string host = "h" + std::to_string(i % 3);
        std::string rec = "r" + std::to_string(i);
        const auto u = static_cast<uint64_t>(i);
        uint64_t start = t0 + u / 4 * 10;  // ties
        int len = 1 + (i * 7) % 5;
        int failed = i % 4 == 1 ? 1 + i % 3 : 0;
        std::string ev = start_ev(host, 1000 + u * 10, "2023-11-14T22:13:20.000Z", 100 + u, rec, "alice", "sshd",
                                  "192.0.2.7", failed);
        (i % 2 == 0 ? early : late).push_back(ev);
        for (int id = 1; id <= len; ++id) {
            body += msg(host, rec, static_cast<uint64_t>(id), std::string(static_cast<size_t>(1 + (i * 5) % 4), 'x'),
                        "alice", i % 5 == 4 ? t0 - 7200 : start) +
                    "\n";
        }
        if (i % 3 == 0) {
            body += end_msg(host, rec, static_cast<uint64_t>(len) + 1, "alice", start + 20) + "\n";
        } else if (i % 5 == 2) {
            late.push_back(user_end(host, 5000 + u, "2023-11-14T23:00:00.000Z", 100 + u, rec));
        }
    }
    ingest_audit_lines(s, lines(early));
    ingest_json_lines(s, body, 0);
    ingest_audit_lines(s, lines(late));
}

void check_flag_paging(Store& s) {
    SessionQuery all;
    all.limit = 1000;
    all.now_ms = (1700000000 + 600) * 1000ULL;  // the sessions at t0 - 7200 are idle
    all.idle_ms = 1800 * 1000;
    auto every = s.sessions(all);
    assert_int_equal(every.size(), 30);
    size_t failed = 0, states[3] = {0, 0, 0};
    for (const auto& x : every) {
        failed += x.failed_auth > 0 ? 1 : 0;
        states[x.state == "live" ? 0 : x.state == "ended" ? 1 : 2]++;
    }
    // Each filter selects some sessions and not all.
    assert_true(failed > 0 && failed < every.size());
    for (size_t n : states) {
        assert_true(n > 0 && n < every.size());
    }
    using S = SessionQuery::Sort;
    struct Filter {
        bool failed_auth;
        std::string state;
    };
    for (const Filter& f : {Filter{true, ""}, Filter{false, "interrupted"}, Filter{false, "live"},
                            Filter{false, "ended"}, Filter{true, "interrupted"}}) {
        for (S sort : {S::Start, S::End, S::Duration, S::Bytes}) {
            for (bool desc : {false, true}) {
                std::vector<Session> want;
                for (const auto& x : every) {
                    if ((!f.failed_auth || x.failed_auth > 0) && (f.state.empty() || x.state == f.state)) {
                        want.push_back(x);
                    }
                }
                SessionQuery q = all;
                q.failed_auth = f.failed_auth;
                q.state = f.state;
                q.sort = sort;
                q.descending = desc;
                q.limit = 3;
                check_pages(s, q, want);
            }
        }
    }
}

void test_session_flag_paging(void**) {
    TempDb t;
    auto sp = t.open();
    fill_flagged_sessions(*sp);
    check_flag_paging(*sp);
}

// A database of schema version 7, before sessions held failed_auth and
// ended: the migration fills them from session_info.
void test_upgrade_from_v7(void**) {
    TempDb t;
    {
        auto sp = t.open();
        fill_flagged_sessions(*sp);
    }
    for (const char* i : {"failed_auth", "open"}) {
        for (const char* sort : {"start", "end", "duration", "bytes"}) {
            t.sql(std::string("DROP INDEX sessions_") + i + "_by_" + sort);
        }
    }
    t.sql("ALTER TABLE sessions DROP COLUMN failed_auth");
    t.sql("ALTER TABLE sessions DROP COLUMN ended");
    t.set_version(7);
    auto sp = t.open();
    assert_int_equal(sp->schema_version(), Store::current_schema_version());
    assert_str_eq(t.query("SELECT count(*) FROM sessions WHERE failed_auth > 0"), "8");
    check_flag_paging(*sp);
}

// since/until by overlap (the default), by start and by end.
void test_session_time(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    // a: 100..104 s, b: 200..209 s, c: 300..301 s (after 1700000000).
    std::string body;
    for (int id = 1; id <= 5; ++id) body += msg("h", "a", id, "x", "u", 1700000100) + "\n";
    for (int id = 1; id <= 10; ++id) body += msg("h", "b", id, "x", "u", 1700000200) + "\n";
    for (int id = 1; id <= 2; ++id) body += msg("h", "c", id, "x", "u", 1700000300) + "\n";
    ingest_json_lines(s, body, 0);
    SessionQuery q;
    q.since_ms = 1700000205000ULL;
    q.until_ms = 1700000300000ULL;
    assert_true(recs(s.sessions(q)) == (std::vector<std::string>{"b", "c"}));
    q.time = SessionQuery::Time::Start;
    assert_true(recs(s.sessions(q)) == (std::vector<std::string>{"c"}));
    q.time = SessionQuery::Time::End;
    assert_true(recs(s.sessions(q)) == (std::vector<std::string>{"b"}));
    q.since_ms = 1700000104000ULL;
    q.until_ms = 1700000104000ULL;  // inclusive
    assert_true(recs(s.sessions(q)) == (std::vector<std::string>{"a"}));
}

// Audit events by host, user (acct, else auid_name), type, ses, rec and
// time, in time order, paged exactly.
void test_audit_search(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    auto ev = [](const std::string& host, uint64_t serial, const std::string& time, const std::string& type,
                 const std::string& user_field) {
        return "{\"serial\":" + std::to_string(serial) + ",\"time\":\"" + time + "\",\"host\":\"" + host +
               "\",\"ses\":3,\"type\":\"" + type + "\"" + user_field + "}";
    };
    std::vector<std::string> evs = {
        ev("h1", 1, "2026-12-04T10:00:00.000Z", "USER_AUTH", ",\"acct\":\"alice\",\"res\":\"failed\""),
        ev("h1", 2, "2026-12-04T10:00:01.000Z", "SYSCALL", ",\"auid\":1000,\"auid_name\":\"alice\""),
        ev("h2", 3, "2026-12-04T10:00:01.000Z", "SYSCALL", ",\"auid_name\":\"bob\""),
        ev("h1", 4, "2026-12-04T10:00:02.000Z", "SYSCALL", ",\"auid_name\":\"unset\""),
        ev("h1", 5, "2026-12-04T11:00:00.000Z", "USER_AUTH", ",\"acct\":\"alice\",\"auid_name\":\"bob\""),
    };
    ingest_audit_lines(s, lines({evs[4], evs[2], evs[0], evs[3], evs[1]}));
    auto find = [&](AuditQuery q) {
        std::vector<std::string> paged;
        q.limit = 2;
        for (;;) {
            auto page = s.search_audit(q);
            for (const auto& e : page) {
                paged.push_back(e.json);
            }
            if (page.size() < q.limit) {
                break;
            }
            q.after = page.back().key;
        }
        return paged;
    };
    AuditQuery q;
    assert_true(find(q) == evs);
    q.user = "alice";
    assert_true(find(q) == (std::vector<std::string>{evs[0], evs[1], evs[4]}));
    q = {};
    q.user = "unset";
    assert_true(find(q).empty());
    q = {};
    q.host = "h1";
    q.type = "USER_AUTH";
    assert_true(find(q) == (std::vector<std::string>{evs[0], evs[4]}));
    q = {};
    q.since_ms = 1796378401000ULL;  // 10:00:01
    q.until_ms = 1796378402000ULL;
    assert_true(find(q) == (std::vector<std::string>{evs[1], evs[2], evs[3]}));
    q = {};
    q.ses = 3;
    assert_int_equal(find(q).size(), 5);
    q.ses = 4;
    assert_true(find(q).empty());
}

// Signed checkpoints: each changed recording's entry, extended with new
// messages, hashed again after a gap is filled, always equal to its hash
// computed from scratch; the chain, signatures and roots verify; a
// checkpoint row altered or deleted behind the store's back is named.
static void add_ids(Store& s, const std::string& rec, std::initializer_list<uint64_t> ids) {
    s.begin();
    for (uint64_t id : ids) {
        s.add({"h", rec, "alice", "xterm", 7, id, (id - 1) * 1000, std::nullopt},
              msg("h", rec, id, "x" + std::to_string(id)), 0);
    }
    s.commit();
}

static std::string scratch_hash(Store& s, const std::string& rec, uint64_t& covered) {
    tlog::proof::RecordingHash h;
    for (const auto& [id, json] : s.stored_messages("h", rec, 0, 100000)) h.add(id, json);
    covered = h.count();
    return tlog::proof::hex(h.digest());
}

static void check_entries_from_scratch(Store& s, uint64_t seq) {
    for (const auto& e : s.checkpoint_entries(seq)) {
        uint64_t covered = 0;
        assert_string_equal(e.hash.c_str(), scratch_hash(s, e.rec, covered).c_str());
        assert_int_equal(e.covered, covered);
        assert_int_equal(e.seq, seq);
    }
}

void test_checkpoints(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    char tmpl[] = "/tmp/tlog-ckpt-key.XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::string key_file = dir + "/key.pem";
    tlog::proof::Key::generate(key_file);
    Checkpointer cp(t.open(), {key_file, 1000});
    auto pub = tlog::proof::Key::load_public(key_file + ".pub");

    add_ids(s, "a", {1, 2, 3, 4, 5});
    add_ids(s, "b", {1, 2, 3});
    auto st = cp.run_once(1000);
    assert_true(st.made.has_value());
    assert_int_equal(st.made->seq, 1);
    assert_int_equal(st.made->entries, 2);
    assert_int_equal(st.messages_read, 8);
    auto e1 = s.checkpoint_entries(1);
    assert_int_equal(e1.size(), 2);
    assert_string_equal(e1[0].rec.c_str(), "a");
    assert_int_equal(e1[0].covered, 5);
    assert_int_equal(e1[0].last_id, 5);
    check_entries_from_scratch(s, 1);

    // Nothing new: no checkpoint.
    assert_false(cp.run_once(2000).made.has_value());

    // Only a's new messages are read, and its hash is extended.
    add_ids(s, "a", {6, 7, 8});
    st = cp.run_once(3000);
    assert_int_equal(st.made->seq, 2);
    assert_int_equal(st.made->entries, 1);
    assert_int_equal(st.messages_read, 3);
    assert_true(st.made->prev == checkpoint_from_row(s.checkpoints_after(0, 1).at(0)).hash());
    check_entries_from_scratch(s, 2);

    // A gap, then the gap filled: hashed again from the start.
    add_ids(s, "c", {1, 2, 4});
    st = cp.run_once(4000);
    auto e3 = s.checkpoint_entries(3);
    assert_int_equal(e3.size(), 1);
    assert_int_equal(e3[0].covered, 3);
    assert_int_equal(e3[0].last_id, 4);
    add_ids(s, "c", {3});
    {
        // Before the next checkpoint the filled gap is a message inserted
        // into the range checkpoint 3 covered.
        RecordingCheck c;
        check_entry(s, e3[0], c);
        assert_int_equal(c.problems.size(), 1);
        assert_non_null(strstr(c.problems[0].c_str(), "messages inserted into the range checkpoint 3 covered 3"));
    }
    st = cp.run_once(5000);
    auto e4 = s.checkpoint_entries(4);
    assert_int_equal(e4[0].covered, 4);
    assert_int_equal(e4[0].last_id, 4);
    check_entries_from_scratch(s, 4);

    // The chain verifies; the latest entry of each recording.
    auto r = verify_checkpoints(s, pub, std::nullopt);
    assert_int_equal(r.checkpoints, 4);
    assert_int_equal(r.problems.size(), 0);
    assert_int_equal(r.latest.at({"h", "a"}).seq, 2);
    assert_int_equal(r.latest.at({"h", "b"}).seq, 1);
    assert_int_equal(r.latest.at({"h", "c"}).seq, 4);
    auto last = checkpoint_from_row(*r.last);
    assert_true(pub.verify(last.statement(), last.signature));
    auto r2 = verify_checkpoints(s, pub, std::pair<uint64_t, std::string>{4, tlog::proof::hex(last.hash())});
    assert_int_equal(r2.problems.size(), 0);
    // Each recording's stored messages agree with its latest entry.
    for (const auto& [key, e] : r.latest) {
        RecordingCheck c;
        check_entry(s, e, c);
        assert_int_equal(c.problems.size(), 0);
    }

    // Behind the store's back: an entry altered, a row altered, the last
    // one deleted (found with the copy from the log), the first deleted.
    t.sql("UPDATE checkpoint_entries SET covered = 9 WHERE seq = 1 AND leaf = 1");
    r = verify_checkpoints(s, pub, std::nullopt);
    assert_int_equal(r.problems.size(), 1);
    assert_non_null(strstr(r.problems[0].c_str(), "checkpoint 1: its 2 stored entries do not give its signed root"));
    assert_int_equal(r.latest.count({"h", "b"}), 0);  // not trusted
    t.sql("UPDATE checkpoint_entries SET covered = 3 WHERE seq = 1 AND leaf = 1");
    t.sql("UPDATE checkpoints SET time_ms = 1 WHERE seq = 3");
    r = verify_checkpoints(s, pub, std::nullopt);
    assert_int_equal(r.problems.size(), 2);  // and the next one's prev
    assert_non_null(strstr(r.problems[0].c_str(), "checkpoint 3: the signature does not verify"));
    assert_non_null(strstr(r.problems[1].c_str(), "checkpoint 4: its prev is not checkpoint 3's hash"));
    t.sql("UPDATE checkpoints SET time_ms = 4000 WHERE seq = 3");
    t.sql("DELETE FROM checkpoints WHERE seq = 4");
    r = verify_checkpoints(s, pub, std::nullopt);
    assert_int_equal(r.problems.size(), 0);  // a chain cut short looks whole
    r = verify_checkpoints(s, pub, std::pair<uint64_t, std::string>{4, tlog::proof::hex(last.hash())});
    assert_int_equal(r.problems.size(), 1);
    assert_non_null(strstr(r.problems[0].c_str(), "checkpoint 4 (known from outside the database) is not stored"));
    t.sql("DELETE FROM checkpoints WHERE seq = 2");
    r = verify_checkpoints(s, pub, std::nullopt);
    assert_int_equal(r.problems.size(), 1);
    assert_string_equal(r.problems[0].c_str(), "checkpoint 2 missing (deleted)");
    // Another key: every checkpoint named.
    tlog::proof::Key::generate(dir + "/other.pem");
    r = verify_checkpoints(s, tlog::proof::Key::load_public(dir + "/other.pem.pub"), std::nullopt);
    assert_true(r.problems.size() >= 2);
    assert_non_null(strstr(r.problems.back().c_str(), "not by the key given"));
    for (const char* f : {"/key.pem", "/key.pem.pub", "/other.pem", "/other.pem.pub"}) unlink((dir + f).c_str());
    rmdir(dir.c_str());
}

// A checkpoint stops taking recordings at max_messages; the next takes the
// rest, and the two together cover everything.
void test_checkpoint_bounded(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    char tmpl[] = "/tmp/tlog-ckpt-key.XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::string key_file = dir + "/key.pem";
    tlog::proof::Key::generate(key_file);
    CheckpointConfig cfg{key_file, 1000, 4};
    Checkpointer cp(t.open(), cfg);
    add_ids(s, "d", {1, 2, 3});
    add_ids(s, "e", {1, 2, 3});
    add_ids(s, "f", {1, 2, 3});
    auto st = cp.run_once(1000);
    assert_true(st.more);
    assert_int_equal(st.made->entries, 2);
    st = cp.run_once(2000);
    assert_false(st.more);
    assert_int_equal(st.made->entries, 1);
    assert_string_equal(s.checkpoint_entries(2).at(0).rec.c_str(), "f");
    assert_false(cp.run_once(3000).made.has_value());
    auto r = verify_checkpoints(s, tlog::proof::Key::load_public(key_file + ".pub"), std::nullopt);
    assert_int_equal(r.problems.size(), 0);
    assert_int_equal(r.latest.size(), 3);
    unlink(key_file.c_str());
    unlink((key_file + ".pub").c_str());
    rmdir(dir.c_str());
}

// Viewers' tokens and sessions as stored: looked up by hash, revoked once;
// a session ends idle or old, and is gone once found expired.
void test_viewer_credentials(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    ViewerToken tok{"id1", "ann", 1000, 0, 0};
    s.add_viewer_token(tok, std::string(64, 'a'));
    s.add_viewer_token({"id2", "bob", 2000, 5000, 0}, std::string(64, 'b'));
    auto found = s.viewer_token(std::string(64, 'a'));
    assert_true(found.has_value() && found->first.viewer == "ann" && found->second == std::string(64, 'a'));
    assert_false(s.viewer_token(std::string(64, 'c')).has_value());
    assert_int_equal(s.viewer_tokens().size(), 2);
    assert_true(s.revoke_viewer_token("id1", 3000));
    assert_false(s.revoke_viewer_token("id1", 3001));  // once
    assert_false(s.revoke_viewer_token("nope", 3001));
    assert_int_equal(s.viewer_token(std::string(64, 'a'))->first.revoked_ms, 3000);
    assert_int_equal(s.viewer_token(std::string(64, 'b'))->first.expires_ms, 5000);

    const uint64_t idle = 100, max = 1000;
    s.add_viewer_session("s1", "ann", 10000, idle, max);
    assert_true(s.viewer_session("s1", 10050, idle, max).value_or("") == "ann");
    assert_true(s.viewer_session("s1", 10140, idle, max).has_value());   // used at 10050: not idle
    assert_false(s.viewer_session("s1", 10300, idle, max).has_value());  // idle
    assert_false(s.viewer_session("s1", 10141, idle, max).has_value());  // and gone
    s.add_viewer_session("s2", "bob", 20000, idle, max);
    uint64_t now = 20000;
    while (now < 20990) {
        now += 30;
        assert_true(s.viewer_session("s2", now, idle, max).has_value());
    }
    assert_false(s.viewer_session("s2", 21000, idle, max).has_value());  // old, however used
    s.add_viewer_session("s3", "ann", 30000, idle, max);
    s.end_viewer_session("s3");
    assert_false(s.viewer_session("s3", 30001, idle, max).has_value());
}

// Access rules as SQL on the backend: the sessions search, a recording's
// lookup and the audit events search see exactly the rules' reach.
void test_access_scope(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    std::map<std::string, std::vector<std::string>> groups = {{"alice", {"ops"}}, {"carol", {"ops", "staff"}}};
    s.set_user_groups(&groups);
    ingest_json_lines(s,
                      msg("ws1", "a1", 1, "x", "alice") + "\n" + msg("fs1.nj.example.com", "b1", 1, "x", "bob") + "\n" +
                          msg("db1.nj.example.com", "c1", 1, "x", "carol") + "\n" +
                          msg("fs1.ny.example.com", "d1", 1, "x", "dave") + "\n" + msg("fs_nj", "e1", 1, "x", "eve"),
                      0);
    s.set_user_groups(nullptr);
    SearchSettings settings;
    settings.host_groups["nj"] = {"*.nj.example.com", "files1"};
    auto rules = parse_access_rules(R"(rules:
  - {name: nj, viewers: {users: [v-nj]}, recordings: {host_groups: [nj]}, rights: [search, view]}
  - {name: ops, viewers: {groups: [g-ops]}, recordings: {groups: [ops]}, rights: [view]}
  - {name: ops-nj, viewers: {users: [v-opsnj]}, recordings: {groups: [ops], host_groups: [nj]}, rights: [search]}
  - {name: pattern, viewers: {users: [v-pat]}, recordings: {hosts: ["fs?nj", "ws*"], users: [alice, eve]},
     rights: [search]}
  - {name: all, viewers: {users: all}, recordings: {users: [dave]}, rights: [view]}
)",
                                    "rules.yaml", settings);
    AccessControl ac(rules, settings);
    auto searched = [&](const std::string& viewer, const std::vector<std::string>& vgroups) {
        SessionQuery q;
        auto sc = ac.scope(viewer, vgroups, Permission::Search);
        if (!sc.all) q.conditions.push_back(sc.cond);
        auto r = recs(s.sessions(q));
        std::sort(r.begin(), r.end());
        return r;
    };
    using L = std::vector<std::string>;
    assert_true(searched("v-nj", {}) == (L{"b1", "c1"}));
    assert_true(searched("v-opsnj", {}) == (L{"c1"}));
    assert_true(searched("v-pat", {}) == (L{"a1", "e1"}));  // '?' one character, '_' itself
    assert_true(searched("nobody", {"g-ops"}).empty());     // view only
    auto viewable = [&](const std::string& viewer, const std::vector<std::string>& vgroups) {
        auto sc = ac.scope(viewer, vgroups, Permission::View);
        L out;
        for (const char* rec : {"a1", "b1", "c1", "d1", "e1", "zz"}) {
            if (sc.all || s.recording_visible(rec, "", sc.cond)) out.emplace_back(rec);
        }
        return out;
    };
    assert_true(viewable("someone", {"g-ops"}) == (L{"a1", "c1", "d1"}));
    assert_true(viewable("v-nj", {}) == (L{"b1", "c1", "d1"}));
    assert_true(viewable("v-pat", {}) == (L{"d1"}));
    assert_false(s.recording_visible("b1", "ws1", ac.scope("v-nj", {}, Permission::View).cond));  // another host
    assert_false(ac.may("v-nj", {}, Permission::Manage));
    // Audit events: those of recordings in reach only.
    std::string events;
    int serial = 1;
    for (const auto& [host, rec] : std::vector<std::pair<std::string, std::string>>{
             {"ws1", "a1"}, {"fs1.nj.example.com", "b1"}, {"db1.nj.example.com", "c1"}, {"ws1", ""}}) {
        const std::string n = std::to_string(serial++);
        events += "{\"serial\":" + n + ",\"time\":\"2026-12-01T10:00:0" + n + ".000Z\",\"host\":\"" + host +
                  "\",\"ses\":null" + (rec.empty() ? "" : ",\"rec\":\"" + rec + "\"") + ",\"type\":\"USER_CMD\"}\n";
    }
    assert_int_equal(store_checked_audit(s, check_audit_lines(events)).created, 4);
    AuditQuery aq;
    aq.limit = 100;
    aq.conditions.push_back(audit_scope(ac.scope("v-nj", {}, Permission::Search)));
    auto got = s.search_audit(aq);
    assert_int_equal(got.size(), 2);
    for (const auto& e : got) assert_true(e.key.host.find(".nj.") != std::string::npos);
    AccessScope everything;
    everything.none = false;
    everything.all = true;
    aq.conditions = {audit_scope(everything)};
    assert_int_equal(s.search_audit(aq).size(), 4);
    aq.conditions = {audit_scope(AccessScope{})};
    assert_true(s.search_audit(aq).empty());
}

// The directory's entries as rules (access_ldap.h): `play` is view, an
// unknown right drops the entry, users and groups of one entry are
// alternatives, host names are exact (no glob), and the rules replace the
// former directory rules whole, beside the file's.
void test_access_directory(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    std::map<std::string, std::vector<std::string>> groups = {{"carol", {"admins"}}};
    s.set_user_groups(&groups);
    ingest_json_lines(s,
                      msg("web1", "a1", 1, "x", "alice") + "\n" + msg("web1", "c1", 1, "x", "carol") + "\n" +
                          msg("db1", "c2", 1, "x", "carol") + "\n" + msg("web1", "d1", 1, "x", "dave") + "\n" +
                          msg("web?", "e1", 1, "x", "alice"),
                      0);
    s.set_user_groups(nullptr);
    tlog::policy::LdapAccess in;
    in.server = "ldap://dir";
    tlog::policy::ViewerAccessEntry e;
    e.name = "web";
    e.dn = "cn=web,cn=access";
    e.viewer_users = {"aud"};
    e.rights = {"play", "search"};
    e.users = {"alice"};
    e.groups = {"admins"};
    e.hosts = {"web1"};
    in.entries.push_back(e);
    tlog::policy::ViewerAccessEntry bad = e;
    bad.name = "bad";
    bad.dn = "cn=bad,cn=access";
    bad.viewer_users = {"mallory"};
    bad.rights = {"search", "delete"};
    in.entries.push_back(bad);
    tlog::policy::ViewerAccessEntry everything;
    everything.name = "all";
    everything.dn = "cn=all,cn=access";
    everything.viewer_groups = {"auditors"};
    everything.rights = {"export"};
    everything.all_users = everything.all_hosts = true;
    in.entries.push_back(everything);
    DirectoryAccess d = directory_access_rules(in);
    assert_int_equal(d.rules.size(), 3);  // web split in two, all
    assert_int_equal(d.skipped.size(), 1);
    assert_true(d.skipped[0].find("cn=bad,cn=access") == 0 && d.skipped[0].find("\"delete\"") != std::string::npos);
    SearchSettings settings;
    AccessControl ac(parse_access_rules("rules: [{name: f, viewers: {users: [boss]}, recordings: {users: [dave]}, "
                                        "rights: [view]}]",
                                        "rules.yaml", settings),
                     settings);
    ac.set_directory_rules(d.rules);
    using L = std::vector<std::string>;
    auto viewable = [&](const std::string& viewer, const std::vector<std::string>& vgroups, Permission p) {
        auto sc = ac.scope(viewer, vgroups, p);
        L out;
        for (const char* rec : {"a1", "c1", "c2", "d1", "e1"}) {
            if (sc.all || (!sc.none && s.recording_visible(rec, "", sc.cond))) out.emplace_back(rec);
        }
        return out;
    };
    assert_true(viewable("aud", {}, Permission::View) == (L{"a1", "c1"}));  // alice or admins, on web1 only
    assert_true(viewable("aud", {}, Permission::Search) == (L{"a1", "c1"}));
    assert_true(viewable("aud", {}, Permission::Export).empty());
    assert_true(viewable("mallory", {}, Permission::Search).empty());
    assert_true(viewable("x", {"auditors"}, Permission::Export) == (L{"a1", "c1", "c2", "d1", "e1"}));
    assert_true(viewable("boss", {}, Permission::View) == (L{"d1"}));  // the file's rule beside them
    ac.set_directory_rules({});
    assert_true(viewable("aud", {}, Permission::View).empty());
    assert_true(viewable("boss", {}, Permission::View) == (L{"d1"}));
}

// The access log: written, listed in order, filtered, paged.
void test_access_log(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    s.add_access_log({0, 100, "ann", "192.0.2.1", "search", "ok", "/api/v1/sessions", "", "",
                      R"({"query":{},"hits":[{"host":"h","rec":"r1"}]})"});
    s.add_access_log({0, 200, "ann", "192.0.2.1", "view", "ok", "/api/v1/sessions/{rec}/messages", "", "r1", "{}"});
    s.add_access_log(
        {0, 300, "bob", "192.0.2.2", "view", "refused", "/api/v1/sessions/{rec}/messages", "", "r1", "{}"});
    s.add_access_log(
        {0, 400, "bob", "192.0.2.2", "view", "absent", "/api/v1/sessions/{rec}/messages", "", "r10", "{}"});
    AccessLogQuery q;
    auto all = s.access_log(q);
    assert_int_equal(all.size(), 4);
    assert_true(all[0].id < all[1].id && all[2].outcome == "refused" && all[3].remote == "192.0.2.2");
    q.viewer = "bob";
    assert_int_equal(s.access_log(q).size(), 2);
    q = {};
    q.rec = "r1";  // its views and the search that listed it, not r10
    assert_int_equal(s.access_log(q).size(), 3);
    q = {};
    q.since_ms = 200;
    q.until_ms = 300;
    assert_int_equal(s.access_log(q).size(), 2);
    q = {};
    q.limit = 3;
    auto page = s.access_log(q);
    assert_int_equal(page.size(), 3);
    q.after_id = page.back().id;
    auto rest = s.access_log(q);
    assert_int_equal(rest.size(), 1);
    assert_int_equal(rest[0].time_ms, 400);
}

int main(int argc, char** argv) {
    std::string backend = argc > 1 ? argv[1] : "sqlite";
    if (backend.rfind("postgres:", 0) == 0) {
        pg_base = backend.substr(9);
    } else if (backend != "sqlite") {
        fprintf(stderr, "usage: %s [sqlite | postgres:CONNINFO]\n", argv[0]);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idempotent),
        cmocka_unit_test(test_viewer_credentials),
        cmocka_unit_test(test_access_scope),
        cmocka_unit_test(test_access_directory),
        cmocka_unit_test(test_access_log),
        cmocka_unit_test(test_order_and_bytes),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_hostile_fields),
        cmocka_unit_test(test_hostile_strings),
        cmocka_unit_test(test_huge_lines),
        cmocka_unit_test(test_bulk),
        cmocka_unit_test(test_session_query),
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_ingest_tokens),
        cmocka_unit_test(test_concurrent_open),
        cmocka_unit_test(test_two_writers),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_upgrade_from_v1),
        cmocka_unit_test(test_upgrade_from_v3),
        cmocka_unit_test(test_batches_resend),
        cmocka_unit_test(test_batches_two_hosts),
        cmocka_unit_test(test_open_batch),
        cmocka_unit_test(test_batches_window),
        cmocka_unit_test(test_batches_damaged),
        cmocka_unit_test(test_audit_idempotent),
        cmocka_unit_test(test_audit_join),
        cmocka_unit_test(test_audit_failed_auth_before),
        cmocka_unit_test(test_audit_malformed),
        cmocka_unit_test(test_session_audit_fields),
        cmocka_unit_test(test_session_state),
        cmocka_unit_test(test_session_groups),
        cmocka_unit_test(test_session_groups_two_writers),
        cmocka_unit_test(test_failed_auth_two_writers),
        cmocka_unit_test(test_host_group),
        cmocka_unit_test(test_session_sorts),
        cmocka_unit_test(test_session_flag_paging),
        cmocka_unit_test(test_upgrade_from_v7),
        cmocka_unit_test(test_session_time),
        cmocka_unit_test(test_audit_search),
        cmocka_unit_test(test_checkpoints),
        cmocka_unit_test(test_checkpoint_bounded),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
