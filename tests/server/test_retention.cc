// Retention on each backend, with the run's clock given (--now): classes
// decided from the start event's rule (unknown rule, no start event: the
// default), nothing purged before a class's limit and exactly the
// expired recordings after it, legal holds (by user, also on recordings
// stored after the hold) keeping theirs, dry runs changing nothing,
// archives holding the messages byte for byte with the manifest's
// hashes, tombstones with the messages' SHA-256, a class's size limit,
// a purge beside a recording being ingested, archive names made of
// hostile hosts and recording ids kept in the run's directory, and bad
// configurations named by key.
// Usage: test_server_retention [sqlite | postgres:CONNINFO].
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "cmocka_cxx.h"
#include "temp_db.h"
#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/policy/ldap_retention.h"
#include "tlog/server/checkpoint.h"
#include "tlog/server/http.h"
#include "tlog/server/retention.h"
#include "tlog/server/retention_ldap.h"
#include "tlog/server/store.h"
#include "tlog/server/verify.h"
#include "tlog/sha256.h"

using namespace tlog::server;

namespace {

using tlog_test::pg_base;

struct TempDb : tlog_test::TempDb {
    TempDb() : tlog_test::TempDb("retention") {}
};

const uint64_t T0 = 1700000000;  // seconds
const uint64_t day_ms = 86400000;

std::string msg(const std::string& host, const std::string& rec, const std::string& user, uint64_t id,
                uint64_t time_s) {
    std::string out = "line " + std::to_string(id) + " of " + rec;
    return "{\"ver\":\"2.3\",\"host\":\"" + host + "\",\"rec\":\"" + rec + "\",\"user\":\"" + user +
           "\",\"term\":\"xterm\",\"session\":7,\"id\":" + std::to_string(id) + ",\"pos\":" + std::to_string(id * 10) +
           ",\"time\":" + std::to_string(time_s) + ".000,\"timing\":\">" + std::to_string(out.size()) +
           "\",\"in_txt\":\"\",\"in_bin\":[],\"out_txt\":\"" + out + "\",\"out_bin\":[]}";
}

// Stores `n` messages of a recording, the last at time_s; returns them
// as the archive and hash read them (each followed by "\n").
std::string add_recording(Store& s, const std::string& host, const std::string& rec, const std::string& user,
                          uint64_t time_s, uint64_t n = 3) {
    std::string all;
    s.begin();
    for (uint64_t id = 1; id <= n; ++id) {
        std::string m = msg(host, rec, user, id, time_s - n + id);
        MessageMeta meta;
        meta.host = host;
        meta.rec = rec;
        meta.user = user;
        meta.term = "xterm";
        meta.session = 7;
        meta.id = id;
        meta.pos = id * 10;
        meta.time_ms = (time_s - n + id) * 1000;
        assert_true(s.add(meta, m, 0) == AddResult::Created);
        all += m + "\n";
    }
    s.commit();
    return all;
}

void add_start(Store& s, const std::string& host, const std::string& rec, uint64_t serial, const std::string& rule) {
    AuditMeta m;
    m.host = host;
    m.rec = rec;
    m.type = "USER_START";
    m.serial = serial;
    m.time_ms = T0 * 1000 + serial;
    m.ses = serial;
    m.session_start = true;
    std::string j = "{\"serial\":" + std::to_string(serial) + ",\"time\":\"2023-11-14T22:13:20.000Z\",\"host\":\"" +
                    host + "\",\"ses\":" + std::to_string(serial) + ",\"rec\":\"" + rec +
                    "\",\"type\":\"USER_START\",\"op\":\"tlog-session-start\"" +
                    (rule.empty() ? std::string() : ",\"rule\":\"" + rule + "\"") + "}";
    assert_true(s.add_audit(m, j) == AddResult::Created);
}

RetentionSettings settings(const std::string& archive_dir) {
    RetentionSettings r;
    r.classes["short"] = {"short", 1, std::nullopt, RetentionClass::Action::Purge, "", false, ""};
    r.classes["long"] = {"long", 30, std::nullopt, RetentionClass::Action::Archive, archive_dir, false, ""};
    r.default_class = "short";
    r.rules["r-short"] = "short";
    r.rules["r-long"] = "long";
    return r;
}

RetentionReport run(Store& s, const RetentionSettings& r, uint64_t now_ms, bool dry = false) {
    RetentionRunOptions o;
    o.now_ms = now_ms;
    o.dry_run = dry;
    o.who = "tester";
    o.account = "root";
    return run_retention(s, r, o);
}

std::string outcome(const RetentionReport& rep, const std::string& rec) {
    for (const auto& i : rep.items) {
        if (i.rec == rec) return i.outcome;
    }
    return "";
}

size_t session_count(Store& s) {
    SessionQuery q;
    q.limit = 1000;
    return s.sessions(q).size();
}

std::string file_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string unzstd(const std::string& z) {
    unsigned long long n = ZSTD_getFrameContentSize(z.data(), z.size());
    std::string out;
    if (n != ZSTD_CONTENTSIZE_UNKNOWN && n != ZSTD_CONTENTSIZE_ERROR) {
        out.resize(n);
        size_t r = ZSTD_decompress(out.data(), out.size(), z.data(), z.size());
        assert_false(ZSTD_isError(r));
        out.resize(r);
        return out;
    }
    // Streamed frames carry no size.
    std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> d(ZSTD_createDCtx(), ZSTD_freeDCtx);
    ZSTD_inBuffer in{z.data(), z.size(), 0};
    std::string buf(ZSTD_DStreamOutSize(), '\0');
    while (in.pos < in.size) {
        ZSTD_outBuffer o{buf.data(), buf.size(), 0};
        size_t r = ZSTD_decompressStream(d.get(), &o, &in);
        assert_false(ZSTD_isError(r));
        out.append(buf.data(), o.pos);
    }
    return out;
}

void test_classes_and_runs(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    std::string adir = t.dir + "/archive";
    assert_int_equal(mkdir(adir.c_str(), 0700), 0);
    auto cfg = settings(adir);
    std::string a = add_recording(s, "h1", "a", "alice", T0);
    add_start(s, "h1", "a", 1, "r-short");
    std::string b = add_recording(s, "h1", "b", "bob", T0);
    add_start(s, "h1", "b", 2, "r-long");
    std::string c = add_recording(s, "h1", "c", "carol", T0);  // no start event: the default
    add_recording(s, "h1", "d", "dave", T0);
    add_start(s, "h1", "d", 4, "no-such-rule");  // an unknown rule: the default
    std::string e = add_recording(s, "h2", "e", "erin", T0 + 10 * 86400);
    add_start(s, "h2", "e", 5, "r-short");
    RetentionHold h;
    h.user = "dave";
    h.reason = "case 42";
    h.set_by = "tester";
    h.set_ms = T0 * 1000;
    assert_true(set_hold(s, h) > 0);

    // A dry run stores nothing, not even the classes it decides.
    auto rep = run(s, cfg, T0 * 1000 + 3600000, true);
    assert_int_equal(rep.classes_decided, 5);
    assert_false(recorded_class(s, "h1", "a").has_value());
    // Before any limit: nothing purged, every class decided and recorded.
    rep = run(s, cfg, T0 * 1000 + 3600000);
    assert_int_equal(rep.items.size(), 0);
    assert_int_equal(session_count(s), 5);
    assert_string_equal(recorded_class(s, "h1", "a").value_or("?").c_str(), "short");
    assert_string_equal(recorded_class(s, "h1", "b").value_or("?").c_str(), "long");
    assert_string_equal(recorded_class(s, "h1", "c").value_or("?").c_str(), "short");
    assert_string_equal(recorded_class(s, "h1", "d").value_or("?").c_str(), "short");
    assert_string_equal(recorded_class(s, "h2", "e").value_or("?").c_str(), "short");

    // A dry run past the short limit says what it would do and changes nothing.
    rep = run(s, cfg, T0 * 1000 + 2 * day_ms, true);
    assert_string_equal(outcome(rep, "a").c_str(), "would purge");
    assert_string_equal(outcome(rep, "c").c_str(), "would purge");
    assert_string_equal(outcome(rep, "d").c_str(), "held");
    assert_string_equal(outcome(rep, "b").c_str(), "");
    assert_string_equal(outcome(rep, "e").c_str(), "");
    assert_int_equal(session_count(s), 5);
    assert_int_equal(list_tombstones(s).size(), 0);

    // The run: exactly the expired ones, not the held one.
    rep = run(s, cfg, T0 * 1000 + 2 * day_ms);
    assert_string_equal(outcome(rep, "a").c_str(), "purged");
    assert_string_equal(outcome(rep, "c").c_str(), "purged");
    assert_string_equal(outcome(rep, "d").c_str(), "held");
    assert_int_equal(rep.items.size(), 3);
    assert_int_equal(session_count(s), 3);
    assert_true(s.messages("a", "h1", 0, 100).empty());
    assert_int_equal(s.message_count("c"), 0);
    assert_int_equal(s.messages("b", "h1", 0, 100).size(), 3);
    auto ts = list_tombstones(s);
    assert_int_equal(ts.size(), 2);
    for (const auto& x : ts) {
        const std::string& body = x.rec == "a" ? a : c;
        assert_string_equal(x.sha256.c_str(), tlog::Sha256::hex(tlog::Sha256::of(body)).c_str());
        assert_int_equal(x.messages, 3);
        assert_string_equal(x.who.c_str(), "tester");
        assert_string_equal(x.action.c_str(), "purge");
        assert_string_equal(x.class_name.c_str(), "short");
        assert_string_equal(x.reason.c_str(), "age");
        assert_true(x.archive_file.empty());
    }
    // Purged is gone from searches; its audit start event stays.
    SessionQuery q;
    q.user = "alice";
    assert_int_equal(s.sessions(q).size(), 0);

    // A hold by user covers that user's later recordings too.
    add_recording(s, "h3", "d2", "dave", T0);
    rep = run(s, cfg, T0 * 1000 + 40 * day_ms);
    assert_string_equal(outcome(rep, "d").c_str(), "held");
    assert_string_equal(outcome(rep, "d2").c_str(), "held");
    assert_string_equal(outcome(rep, "e").c_str(), "purged");
    assert_string_equal(outcome(rep, "b").c_str(), "archived");
    // The archive: the messages byte for byte, the manifest's hashes.
    assert_false(rep.manifest.empty());
    auto man = tlog::json::parse(file_text(rep.manifest), rep.manifest);
    const auto& recs = man.find("recordings")->items();
    assert_int_equal(recs.size(), 1);
    const auto& m = recs[0];
    std::string file = rep.archive_dir + "/" + m.find("file")->as_string();
    std::string z = file_text(file);
    assert_string_equal(m.find("file_sha256")->as_string().c_str(), tlog::Sha256::hex(tlog::Sha256::of(z)).c_str());
    assert_int_equal(m.find("file_bytes")->as_uint().value_or(0), z.size());
    std::string plain = unzstd(z);
    assert_true(plain == b);
    assert_string_equal(m.find("json_sha256")->as_string().c_str(), tlog::Sha256::hex(tlog::Sha256::of(b)).c_str());
    assert_int_equal(m.find("messages")->as_uint().value_or(0), 3);
    assert_string_equal(m.find("class")->as_string().c_str(), "long");
    ts = list_tombstones(s);
    assert_int_equal(ts.size(), 4);
    const auto& tb = ts.back().rec == "b" ? ts.back() : ts[2];
    assert_string_equal(tb.rec.c_str(), "b");
    assert_string_equal(tb.archive_file.c_str(), file.c_str());
    assert_string_equal(tb.archive_sha256.c_str(), m.find("file_sha256")->as_string().c_str());

    // Cleared, the hold keeps nothing: the next run purges both.
    RetentionHold clr;
    clr.user = "dave";
    clr.cleared_by = "tester";
    clr.clear_reason = "case closed";
    clr.cleared_ms = T0 * 1000;
    assert_int_equal(clear_holds(s, clr), 1);
    assert_int_equal(list_holds(s, false).size(), 0);
    assert_int_equal(list_holds(s, true).size(), 1);
    rep = run(s, cfg, T0 * 1000 + 40 * day_ms);
    assert_string_equal(outcome(rep, "d").c_str(), "purged");
    assert_string_equal(outcome(rep, "d2").c_str(), "purged");
    assert_int_equal(session_count(s), 0);
    // A message of a purged recording arriving later is a new recording.
    add_recording(s, "h1", "a", "alice", T0 + 50 * 86400, 1);
    assert_int_equal(s.messages("a", "h1", 0, 100).size(), 1);
}

// A class's size limit: its newest recordings kept up to max_bytes.
void test_size_limit(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    RetentionSettings r;
    RetentionClass c{"capped", 3650, std::nullopt, RetentionClass::Action::Purge, "", false, ""};
    add_recording(s, "h", "old", "u", T0);
    add_recording(s, "h", "mid", "u", T0 + 100);
    add_recording(s, "h", "new", "u", T0 + 200);
    SessionQuery q;
    auto rows = s.sessions(q);
    uint64_t each = rows.at(0).bytes;
    c.max_bytes = 2 * each + each / 2;  // two recordings fit
    r.classes["capped"] = c;
    r.default_class = "capped";
    auto rep = run(s, r, (T0 + 300) * 1000);
    assert_int_equal(rep.items.size(), 1);
    assert_string_equal(outcome(rep, "old").c_str(), "purged");
    assert_string_equal(rep.items[0].reason.c_str(), "size");
    assert_int_equal(session_count(s), 2);
    // No class at all: everything kept.
    rep = run(s, RetentionSettings{}, (T0 + 1000 * 86400) * 1000);
    assert_int_equal(rep.items.size(), 0);
    assert_int_equal(session_count(s), 2);
}

// A purge of many recordings while another connection ingests a live
// one: every message ingested is stored, every expired one purged.
void test_purge_beside_ingest(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    const int n = 40;
    for (int i = 0; i < n; ++i) add_recording(s, "h", "old" + std::to_string(i), "u", T0, 50);
    std::atomic<bool> done{false};
    std::atomic<uint64_t> stored{0};
    std::thread ingest([&] {
        auto w = t.open();
        uint64_t id = 0;
        while (!done || id < 200) {
            retry_transient([&] {
                w->begin();
                try {
                    for (int k = 1; k <= 5; ++k) {
                        uint64_t i = id + k;
                        MessageMeta meta;
                        meta.host = "h";
                        meta.rec = "live";
                        meta.user = "u";
                        meta.id = i;
                        meta.pos = i;
                        meta.time_ms = (T0 + 40 * 86400) * 1000 + i;
                        w->add(meta, msg("h", "live", "u", i, T0 + 40 * 86400), 0);
                    }
                    w->commit();
                } catch (...) {
                    w->rollback();
                    throw;
                }
            });
            id += 5;
            stored = id;
        }
    });
    RetentionSettings r;
    r.classes["short"] = {"short", 1, std::nullopt, RetentionClass::Action::Purge, "", false, ""};
    r.default_class = "short";
    auto rep = run(s, r, (T0 + 40 * 86400) * 1000);
    done = true;
    ingest.join();
    size_t purged = 0;
    for (const auto& i : rep.items) purged += i.outcome == "purged" ? 1 : 0;
    assert_int_equal(purged, n);
    assert_string_equal(outcome(rep, "live").c_str(), "");
    assert_int_equal(s.message_count("live"), stored.load());
    assert_int_equal(session_count(s), 1);
}

// Host and rec come from the recorded host: an archive's file name made
// of them stays in the run's directory, whatever they hold.
void test_hostile_names(void**) {
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    std::string adir = t.dir + "/archive";
    assert_int_equal(mkdir(adir.c_str(), 0700), 0);
    RetentionSettings r;
    r.classes["a"] = {"a", 1, std::nullopt, RetentionClass::Action::Archive, adir, false, ""};
    r.default_class = "a";
    const std::string hosts[] = {"../../..", "/etc", "h/../../x", ".hidden", std::string(300, 'h')};
    for (const auto& h : hosts) add_recording(s, h, "../../../tmp/r", "u", T0);
    auto rep = run(s, r, (T0 + 2 * 86400) * 1000);
    assert_int_equal(rep.items.size(), 5);
    for (const auto& i : rep.items) {
        assert_string_equal(i.outcome.c_str(), "archived");
        const std::string& f = i.tombstone.archive_file;
        assert_true(f.rfind(rep.archive_dir + "/", 0) == 0);
        std::string base = f.substr(rep.archive_dir.size() + 1);
        assert_true(base.find('/') == std::string::npos);
        assert_true(base[0] != '.');
        assert_true(base.size() < 200);
        struct stat st {};
        assert_int_equal(stat(f.c_str(), &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    // Nothing else was made in the archive directory but the run's.
    DIR* d = opendir(adir.c_str());
    int entries = 0;
    while (dirent* e = readdir(d)) entries += e->d_name[0] != '.' ? 1 : 0;
    closedir(d);
    assert_int_equal(entries, 1);
}

// verify's view of every recording a checkpoint covers, by rec.
std::map<std::string, RecordingCheck> verify_all(Store& s, const std::string& pub) {
    auto cps = verify_checkpoints(s, tlog::proof::Key::load_public(pub), std::nullopt);
    assert_true(cps.problems.empty());
    std::map<std::string, RecordingCheck> out;
    Verifier v({});
    v.check_range(s, {}, &cps, [&](const RecordingCheck& c) { out[c.rec] = c; });
    return out;
}

bool has_problem(const RecordingCheck& c, const std::string& part) {
    for (const auto& p : c.problems) {
        if (p.find(part) != std::string::npos) return true;
    }
    return false;
}

// With a checkpoint key, a run signs each tombstone; verify tells the
// purged recordings a checkpoint covers from deleted ones, and a
// tombstone altered or written by hand (no key) excuses nothing.
void test_signed_tombstones(void**) {
    TempDb t;
    const std::string key_file = t.dir + "/checkpoint.key";
    tlog::proof::Key::generate(key_file);
    auto key = tlog::proof::Key::load_private(key_file);
    auto sp = t.open();
    Store& s = *sp;
    for (const char* rec : {"ra", "rb", "rc", "rd"}) {
        add_recording(s, "h1", rec, "alice", T0, 4);
    }
    add_start(s, "h1", "rb", 1, "r-long");                        // archived
    add_recording(s, "h1", "keep", "alice", T0 + 39 * 86400, 2);  // not purged: newer
    {
        CheckpointConfig cfg;
        cfg.key_file = key_file;
        Checkpointer cp(t.open(), cfg);
        assert_true(cp.run_once(T0 * 1000 + 1).made.has_value());
    }
    RetentionRunOptions o;
    o.now_ms = (T0 + 40 * 86400) * 1000;
    o.who = "tester";
    o.account = "root";
    o.key = &key;
    assert_int_equal(mkdir((t.dir + "/archive").c_str(), 0700), 0);
    auto rep = run_retention(s, settings(t.dir + "/archive"), o);
    for (const char* rec : {"ra", "rb", "rc", "rd"}) {
        assert_string_not_equal(outcome(rep, rec).c_str(), "");
        assert_true(outcome(rep, rec) == "purged" || outcome(rep, rec) == "archived");
    }
    auto tombs = list_tombstones(s);
    assert_int_equal(tombs.size(), 4);
    std::map<std::string, Tombstone> by_rec;
    for (const auto& tb : tombs) {
        assert_string_equal(tb.key_id.c_str(), key.fingerprint().c_str());
        assert_int_equal(tb.rec_count, 4);
        assert_true(key.verify(tombstone_statement(tb).statement(), tlog::proof::from_hex(tb.signature, "sig")));
        by_rec[tb.rec] = tb;
    }
    // The archive's manifest carries the signed statement, checked offline.
    auto manifest = tlog::json::parse(file_text(rep.manifest), rep.manifest);
    const auto& entry = manifest.find("recordings")->items().at(0);
    std::string stmt = entry.find("tombstone_statement")->as_string();
    assert_true(stmt == tombstone_statement(by_rec["rb"]).statement());
    auto pub = tlog::proof::Key::load_public(key_file + ".pub");
    assert_true(pub.verify(stmt, tlog::proof::from_hex(entry.find("tombstone_signature")->as_string(), "sig")));

    // The checkpointer is not confused: nothing changed, no checkpoint.
    {
        CheckpointConfig cfg;
        cfg.key_file = key_file;
        Checkpointer cp(t.open(), cfg);
        auto st = cp.run_once(T0 * 1000 + 2);
        assert_false(st.made.has_value());
    }
    auto seen = verify_all(s, key_file + ".pub");
    for (const char* rec : {"ra", "rb", "rc", "rd"}) {
        const RecordingCheck& c = seen.at(rec);
        assert_string_equal(c.verdict.c_str(), "purged");
        assert_true(c.purged());
        assert_int_equal(c.tombstone, by_rec[rec].id);
        assert_true(c.label.find("purged by retention (tombstone " + std::to_string(c.tombstone) + ", tester, ") == 0);
    }
    assert_false(seen.at("keep").purged());

    // Any field of a tombstone altered: its signature no longer verifies.
    t.sql("UPDATE retention_tombstones SET who = 'timer' WHERE rec = 'ra'");
    t.sql("UPDATE retention_tombstones SET purged_ms = purged_ms + 1 WHERE rec = 'rb'");
    t.sql("UPDATE tombstone_signatures SET count = 5 WHERE tid = " + std::to_string(by_rec["rc"].id));
    // rd: its rows gone, a tombstone written by hand, without the key.
    t.sql("DELETE FROM tombstone_signatures WHERE tid = " + std::to_string(by_rec["rd"].id));
    t.sql("DELETE FROM retention_tombstones WHERE rec = 'rd'");
    t.sql(
        "INSERT INTO retention_tombstones (run_ms, purged_ms, who, account, host, rec, usr, first_ms, last_ms, "
        "messages, bytes, sha256, action, archive_file, archive_sha256, class, reason) VALUES (1, 1, 'timer', "
        "'root', 'h1', 'rd', 'alice', 1, 1, 4, 1, '', 'purge', '', '', 'short', 'age')");
    auto forged = list_tombstones(s);
    uint64_t rd_id = forged.back().id;
    assert_string_equal(forged.back().rec.c_str(), "rd");
    seen = verify_all(s, key_file + ".pub");
    for (const char* rec : {"ra", "rb", "rc", "rd"}) {
        const RecordingCheck& c = seen.at(rec);
        assert_string_equal(c.verdict.c_str(), "deleted");
        assert_false(c.purged());
        assert_true(has_problem(c, "recording deleted: checkpoint 1 covered 4 messages"));
        uint64_t id = std::string(rec) == "rd" ? rd_id : by_rec[rec].id;
        assert_true(has_problem(c, "tombstone " + std::to_string(id) + ": not signed by the checkpoint key"));
    }
    assert_true(has_problem(seen.at("rd"), "(no signature)"));
    assert_true(has_problem(seen.at("ra"), "the row was altered"));
}

void expect_config_error(const std::string& dir, const std::string& text, const std::string& key) {
    std::string path = dir + "/bad.conf";
    std::ofstream(path) << text;
    try {
        const ServerConfig defaults;
        load_config(path, defaults);
        fail_msg("accepted: %s", text.c_str());
    } catch (const tlog::InputError& e) {
        std::string what = e.what();
        if (what.find(key) == std::string::npos || what.find(path) == std::string::npos) {
            fail_msg("error %s does not name %s", what.c_str(), key.c_str());
        }
    }
}

// The directory's classes beside the file's (retention_ldap.h): the file
// wins a name both define, a class on legal hold keeps its recordings, a
// rule naming a class configured nowhere keeps them too (not the default).
void test_directory_classes(void**) {
    tlog::policy::LdapRetention d;
    d.server = "ldap://dir.example";
    d.classes = {{"frozen", "cn=frozen,cn=retention", 1, true},
                 {"legal", "cn=legal,cn=retention", 3650, false},
                 {"short", "cn=short,cn=retention", 3650, false}};
    d.rules = {{"r-frozen", "cn=r-frozen,cn=rules", "frozen"},
               {"r-ghost", "cn=r-ghost,cn=rules", "ghost"},
               {"r-legal", "cn=r-legal,cn=rules", "legal"},
               {"r-short", "cn=r-short,cn=rules", "legal"}};
    d.skipped = {"cn=broken,cn=retention: attribute 'tlogRetentionDays': missing; entry skipped"};
    TempDb t;
    auto sp = t.open();
    Store& s = *sp;
    auto f = merge_directory_retention(settings(t.dir), d);
    const auto& cfg = f.settings;
    assert_string_equal(f.server.c_str(), "ldap://dir.example");
    assert_int_equal(cfg.classes.size(), 4);  // short, long (file); frozen, legal (directory)
    assert_int_equal(cfg.classes.at("short").days, 1);
    assert_true(cfg.classes.at("short").source.empty());
    assert_true(cfg.classes.at("frozen").hold);
    assert_string_equal(cfg.classes.at("legal").source.c_str(), "ldap:///cn=legal,cn=retention");
    assert_string_equal(cfg.rules.at("r-short").c_str(), "short");
    assert_string_equal(cfg.rules.at("r-ghost").c_str(), "ghost");
    std::string notes;
    for (const auto& n : f.notes) notes += n + "\n";
    for (const char* want : {"cn=broken,cn=retention: attribute 'tlogRetentionDays'", "class short is also in",
                             "rule r-short is also in", "rule r-ghost names class ghost, configured nowhere"}) {
        if (notes.find(want) == std::string::npos) fail_msg("no note %s in:\n%s", want, notes.c_str());
    }
    add_recording(s, "h1", "a", "alice", T0);
    add_start(s, "h1", "a", 1, "r-frozen");
    add_recording(s, "h1", "b", "bob", T0);
    add_start(s, "h1", "b", 2, "r-ghost");
    add_recording(s, "h1", "c", "carol", T0);
    add_start(s, "h1", "c", 3, "r-legal");
    add_recording(s, "h1", "d", "dave", T0);
    add_start(s, "h1", "d", 4, "r-short");
    auto rep = run(s, cfg, T0 * 1000 + 2 * day_ms);
    assert_string_equal(outcome(rep, "a").c_str(), "held");
    assert_string_equal(outcome(rep, "b").c_str(), "class not configured");
    assert_string_equal(outcome(rep, "c").c_str(), "");
    assert_string_equal(outcome(rep, "d").c_str(), "purged");
    assert_string_equal(recorded_class(s, "h1", "b").value_or("?").c_str(), "ghost");
    // The class configured later (the directory entry added): it applies.
    auto later = cfg;
    later.classes["ghost"] = {"ghost", 1, std::nullopt, RetentionClass::Action::Purge, "", false, "ldap:///cn=ghost"};
    rep = run(s, later, T0 * 1000 + 2 * day_ms);
    assert_string_equal(outcome(rep, "b").c_str(), "purged");
    assert_string_equal(outcome(rep, "a").c_str(), "held");
    assert_int_equal(session_count(s), 2);
}

void test_config(void**) {
    char tmpl[] = "/tmp/tlog-retention-conf.XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::string good = dir + "/good.conf";
    std::ofstream(good) << "{\"retention\": {\"short\": {\"days\": 30}, \"keep\": {\"days\": 3650, \"max_bytes\": "
                           "\"2G\", \"action\": \"archive\", \"archive_dir\": \"/srv/archive\"}},\n"
                           " \"retention_default\": \"short\", \"retention_rules\": {\"admins\": \"keep\"}}";
    const ServerConfig defaults;
    auto c = load_config(good, defaults);
    assert_int_equal(c.retention.classes.size(), 2);
    assert_int_equal(c.retention.classes.at("keep").max_bytes.value_or(0), 2ULL << 30);
    assert_true(c.retention.classes.at("keep").action == RetentionClass::Action::Archive);
    assert_string_equal(c.retention.rules.at("admins").c_str(), "keep");
    expect_config_error(dir, "{\"retention\": {\"short\": {\"days\": 0}}}", "retention.short.days");
    expect_config_error(dir, "{\"retention\": {\"short\": {\"dayz\": 3}}}", "retention.short.dayz");
    expect_config_error(dir, "{\"retention\": {\"short\": {}}}", "retention.short.days");
    expect_config_error(dir, "{\"retention\": {\"a\": {\"days\": 3, \"action\": \"archive\"}}}",
                        "retention.a.archive_dir");
    expect_config_error(dir, "{\"retention\": {\"a\": {\"days\": 3, \"action\": \"burn\"}}}", "retention.a.action");
    expect_config_error(dir, "{\"retention\": {\"a\": {\"days\": 3, \"max_bytes\": \"lots\"}}}",
                        "retention.a.max_bytes");
    expect_config_error(dir, "{\"retention\": {\"a\": {\"days\": 3}}, \"retention_default\": \"b\"}",
                        "retention_default");
    expect_config_error(dir, "{\"retention_rules\": {\"r1\": \"b\"}, \"retention\": {\"a\": {\"days\": 3}}}",
                        "retention_rules.r1");
    expect_config_error(dir, "{\"retention\": [1]}", "retention");
    expect_config_error(dir, "{\"retention_ldap\": \"\"}", "retention_ldap");
    // With retention_ldap, classes may be the directory's: checked at each run.
    std::ofstream(good) << "{\"retention_ldap\": \"/etc/tlog/ldap.yaml\", \"retention_default\": \"routine\", "
                           "\"retention_rules\": {\"admins\": \"legal\"}}";
    c = load_config(good, defaults);
    assert_string_equal(c.retention.ldap.c_str(), "/etc/tlog/ldap.yaml");
    assert_string_equal(c.retention.default_class.c_str(), "routine");
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

}  // namespace

int main(int argc, char** argv) {
    std::string backend = argc > 1 ? argv[1] : "sqlite";
    if (backend.rfind("postgres:", 0) == 0) {
        pg_base = backend.substr(9);
    } else if (backend != "sqlite") {
        fprintf(stderr, "usage: %s [sqlite | postgres:CONNINFO]\n", argv[0]);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes_and_runs),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_purge_beside_ingest),
        cmocka_unit_test(test_hostile_names),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_directory_classes),
        cmocka_unit_test(test_signed_tombstones),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
