// The integrity chain: what it detects (removal, alteration, reordering,
// truncation, forged messages) and how keys are handled.
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "cmocka_cxx.h"
#include "codec_test_util.h"

using namespace testutil;
using V = tlog::IntegrityReport::Verdict;

static constexpr int64_t MS = 1000000;

static std::vector<std::string> record(const tlog::integrity::Key* key, const std::string& rec = "rec-1",
                                       size_t n = 6) {
    Lines sink;
    tlog::EncoderOptions o;
    o.key = key;
    tlog::Encoder e(info(rec), o, sink, 0, 1700000000LL * 1000 * MS);
    e.window(0, 80, 24);
    for (size_t i = 0; i < n; i++) {
        e.output(static_cast<int64_t>(i) * 10 * MS, "$ rm -rf /data/" + std::to_string(i) + "\r\n");
        if (i + 1 < n) e.flush();
    }
    e.finish(static_cast<int64_t>(n) * 10 * MS, "exit");
    return sink.lines;
}

static tlog::integrity::Key key(const std::string& id, char fill) {
    return tlog::integrity::Key{id, std::string(32, fill)};
}

static V verdict(const std::vector<std::string>& lines, const tlog::integrity::Keyring* keys = nullptr,
                 uint64_t* bad_id = nullptr) {
    Collected c;
    auto r = decode(lines, c, /*lax=*/true, keys);
    if (bad_id) *bad_id = r.first_bad_id;
    return r.verdict;
}

static void test_intact(void**) {
    auto lines = record(nullptr);
    assert_int_equal(static_cast<int>(verdict(lines)), static_cast<int>(V::Intact));
    Collected c;
    auto r = decode(lines, c);  // strict too
    assert_str_eq(r.end, "exit");
    assert_int_equal(r.messages, 6);
}

static void test_removed_message(void**) {
    auto lines = record(nullptr);
    lines.erase(lines.begin() + 3);
    uint64_t bad = 0;
    assert_int_equal(static_cast<int>(verdict(lines, nullptr, &bad)), static_cast<int>(V::Broken));
    assert_int_equal(bad, 5);
}

static void test_removed_and_renumbered(void**) {
    // The attacker removes message 3 and renumbers the rest: ids have no gap,
    // the chain still breaks.
    auto lines = record(nullptr);
    lines.erase(lines.begin() + 2);
    for (size_t i = 2; i < lines.size(); i++) {
        std::string from = "\"id\":" + std::to_string(i + 2) + ",";
        std::string to = "\"id\":" + std::to_string(i + 1) + ",";
        lines[i].replace(lines[i].find(from), from.size(), to);
    }
    uint64_t bad = 0;
    assert_int_equal(static_cast<int>(verdict(lines, nullptr, &bad)), static_cast<int>(V::Broken));
    assert_int_equal(bad, 3);
}

static void test_altered_text(void**) {
    auto lines = record(nullptr);
    std::string& l = lines[2];
    l.replace(l.find("/data/2"), 7, "/tmp/xx");  // same length, same timing
    uint64_t bad = 0;
    assert_int_equal(static_cast<int>(verdict(lines, nullptr, &bad)), static_cast<int>(V::Broken));
    assert_int_equal(bad, 3);
}

static void test_reordered(void**) {
    auto lines = record(nullptr);
    std::swap(lines[1], lines[2]);
    assert_int_equal(static_cast<int>(verdict(lines)), static_cast<int>(V::Broken));
}

static void test_truncated(void**) {
    auto lines = record(nullptr);
    lines.pop_back();
    assert_int_equal(static_cast<int>(verdict(lines)), static_cast<int>(V::Incomplete));
}

static void test_end_marker_forged_on_truncation(void**) {
    // Cutting the recording and adding "end" to the new last message breaks its MAC.
    auto lines = record(nullptr);
    lines.pop_back();
    std::string& l = lines.back();
    l.insert(l.find(",\"mac_alg\""), ",\"end\":\"exit\"");
    assert_int_equal(static_cast<int>(verdict(lines)), static_cast<int>(V::Broken));
}

static void test_chain_stripped(void**) {
    auto lines = record(nullptr);
    std::string& l = lines[3];
    l.erase(l.find(",\"mac_alg\""), std::string::npos);
    l += "}";
    assert_int_equal(static_cast<int>(verdict(lines)), static_cast<int>(V::Broken));
}

static void test_forged_message_keyed(void**) {
    // The recorded user writes a message of their own into the same stream
    // (for example with logger(1) into syslog). Without the key, they can only
    // make an unkeyed chain, which a keyed recording does not accept.
    auto k = key("host-key-1", 'k');
    tlog::integrity::Keyring ring;
    ring.add(k);
    auto lines = record(&k);
    assert_int_equal(static_cast<int>(verdict(lines, &ring)), static_cast<int>(V::Intact));
    auto forged = record(nullptr);  // same rec id, unkeyed
    auto mixed = lines;
    mixed[3] = forged[3];
    assert_int_equal(static_cast<int>(verdict(mixed, &ring)), static_cast<int>(V::Broken));
    // A guessed key does not help.
    auto wrong = key("host-key-1", 'w');
    auto forged2 = record(&wrong);
    mixed = lines;
    mixed[3] = forged2[3];
    assert_int_equal(static_cast<int>(verdict(mixed, &ring)), static_cast<int>(V::Broken));
}

static void test_keyed_without_key(void**) {
    auto k = key("host-key-1", 'k');
    auto lines = record(&k);
    assert_int_equal(static_cast<int>(verdict(lines)), static_cast<int>(V::Unverifiable));
    tlog::integrity::Keyring other;
    other.add(key("other", 'o'));
    assert_int_equal(static_cast<int>(verdict(lines, &other)), static_cast<int>(V::Unverifiable));
}

// A key file that is not the recording's (same id, other secret: a key
// regenerated, the wrong host's) verifies no message: the verdict blames the
// key, not the recording. Damage still shows as damage: other messages verify.
static void test_wrong_key_blamed_on_key(void**) {
    auto k = key("host-key-1", 'k');
    auto lines = record(&k);
    tlog::integrity::Keyring wrong;
    wrong.add(key("host-key-1", 'w'));
    Collected c;
    auto r = decode(lines, c, /*lax=*/true, &wrong);
    assert_int_equal(static_cast<int>(r.verdict), static_cast<int>(V::Unverifiable));
    assert_true(r.wrong_key);
    assert_str_eq(r.label(), "unverifiable (wrong key host-key-1)");
    assert_true(r.str().find("verifies none of the 6 messages: the key file is not the one") != std::string::npos);
    assert_true(c.problems.empty());  // no message is called altered
    // Forged first messages followed by genuine ones: damage, at message 1.
    auto forged = record(wrong.find("host-key-1"));
    auto mixed = lines;
    mixed[0] = forged[0];
    tlog::integrity::Keyring right;
    right.add(k);
    uint64_t bad = 0;
    assert_int_equal(static_cast<int>(verdict(mixed, &right, &bad)), static_cast<int>(V::Broken));
    assert_int_equal(bad, 1);
    mixed[1] = forged[1];
    assert_int_equal(static_cast<int>(verdict(mixed, &right, &bad)), static_cast<int>(V::Broken));
    assert_int_equal(bad, 1);
}

// The verdict says what it rests on: a keyed chain names its key, an unkeyed
// one says anyone could have rewritten it.
static void test_verdict_labels(void**) {
    auto k = key("host-key-1", 'k');
    tlog::integrity::Keyring ring;
    ring.add(k);
    Collected c;
    auto keyed = decode(record(&k), c, /*lax=*/true, &ring);
    assert_str_eq(keyed.label(), "intact (keyed, key host-key-1)");
    assert_str_eq(keyed.str(), "intact (keyed, key host-key-1): 6 messages, ended: exit");
    Collected c2;
    auto unkeyed = decode(record(nullptr), c2, /*lax=*/true, nullptr);
    assert_str_eq(unkeyed.label(), "intact (unkeyed: anyone could have rewritten it)");
    Collected c3;
    auto nokey = decode(record(&k), c3, /*lax=*/true, nullptr);
    assert_str_eq(nokey.label(), "unverifiable (no key host-key-1)");
    auto cut = record(nullptr);
    cut.pop_back();
    Collected c4;
    assert_str_eq(decode(cut, c4, /*lax=*/true, nullptr).label(),
                  "incomplete (unkeyed: anyone could have rewritten it)");
}

static void test_unprotected(void**) {
    Lines sink;
    tlog::EncoderOptions o;
    o.chain = false;
    tlog::Encoder e(info(), o, sink, 0, 0);
    e.output(0, "x");
    e.finish(0, "exit");
    assert_int_equal(static_cast<int>(verdict(sink.lines)), static_cast<int>(V::Unprotected));
}

static void test_reserialized_json_still_verifies(void**) {
    // A log pipeline that parses and re-serializes messages (other key order,
    // other escapes) keeps the chain valid: the MAC covers values, not bytes.
    auto lines = record(nullptr);
    for (auto& l : lines) {
        tlog::json::Value v = tlog::json::parse(l, "x");
        std::reverse(v.members().begin(), v.members().end());
        l = tlog::json::dump(v, /*pretty=*/false);
        // Escape '/' the way some serializers do.
        for (size_t at = 0; (at = l.find("/data", at)) != std::string::npos; at += 6) l.replace(at, 1, "\\/");
    }
    assert_int_equal(static_cast<int>(verdict(lines)), static_cast<int>(V::Intact));
}

static std::vector<std::string> annotated() {
    Lines sink;
    tlog::Encoder e(info(), tlog::EncoderOptions{}, sink, 0, 0);
    int calls = 0;
    e.set_annotator([&](tlog::Encoder::Annotations& a) {
        if (++calls == 2) a.emplace_back("dropped", "{\"out_bytes\": 1000, \"sha256\": \"ab\"}");
    });
    e.output(0, "one");
    e.flush();
    e.annotate("note", "\"hello\"");
    e.output(MS, "two");
    e.flush();
    e.output(2 * MS, "three");
    e.finish(3 * MS, "exit");
    return sink.lines;
}

static void test_extension_fields_covered(void**) {
    auto lines = annotated();
    assert_true(lines[0].find("\"mac_fields\"") == std::string::npos);
    assert_true(lines[1].find("\"note\":\"hello\",\"dropped\":{\"out_bytes\":1000,\"sha256\":\"ab\"},"
                              "\"mac_fields\":[\"note\",\"dropped\"]") != std::string::npos);
    assert_int_equal(static_cast<int>(verdict(lines)), static_cast<int>(V::Intact));
    // The decoder hands them to the reader.
    struct Extra : Collected {
        std::vector<std::string> names;
        void message(const tlog::MessageHeader& h) override {
            for (auto& [n, v] : h.extra) names.push_back(std::string(n) + "=" + std::string(v));
        }
    } c;
    decode(lines, c);
    assert_int_equal(c.names.size(), 2);
    assert_str_eq(c.names[1], "dropped={\"out_bytes\":1000,\"sha256\":\"ab\"}");

    auto altered = lines;  // fewer dropped bytes claimed
    altered[1].replace(altered[1].find("1000"), 4, "0001");
    assert_int_equal(static_cast<int>(verdict(altered)), static_cast<int>(V::Broken));
    auto removed = lines;  // the drop record taken out (and its name)
    removed[1].replace(removed[1].find(",\"dropped\""),
                       std::string(",\"dropped\":{\"out_bytes\":1000,\"sha256\":\"ab\"}").size(), "");
    assert_int_equal(static_cast<int>(verdict(removed)), static_cast<int>(V::Broken));
    auto added = lines;  // a pipeline adds its own field: not covered, not a problem
    added[1].insert(1, "\"@timestamp\":\"2026-11-26\",");
    assert_int_equal(static_cast<int>(verdict(added)), static_cast<int>(V::Intact));
    for (auto& l : added) l = tlog::json::dump(tlog::json::parse(l, "x"), true);  // pretty, still one value
    for (auto& l : added) l.erase(std::remove(l.begin(), l.end(), '\n'), l.end());
    assert_int_equal(static_cast<int>(verdict(added)), static_cast<int>(V::Intact));

    Lines sink;
    tlog::Encoder e(info(), tlog::EncoderOptions{}, sink, 0, 0);
    bool threw = false;
    try {
        e.annotate("mac", "1");
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    assert_true(threw);
}

static void test_key_file(void**) {
    char path[] = "/tmp/tlog-key-XXXXXX";
    int fd = mkstemp(path);
    std::string text = "id: prod-2026\n" + std::string(64, 'a') + "\n";
    assert_int_equal(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
    auto k = tlog::integrity::load_key_file(path);
    assert_str_eq(k.id, "prod-2026");
    assert_int_equal(k.secret.size(), 32);
    std::ofstream(path) << "abcd\n";
    bool threw = false;
    try {
        tlog::integrity::load_key_file(path);
    } catch (const tlog::InputError& e) {
        threw = std::string(e.what()).find(path) != std::string::npos;
    }
    assert_true(threw);
    unlink(path);
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intact),
        cmocka_unit_test(test_removed_message),
        cmocka_unit_test(test_removed_and_renumbered),
        cmocka_unit_test(test_altered_text),
        cmocka_unit_test(test_reordered),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_end_marker_forged_on_truncation),
        cmocka_unit_test(test_chain_stripped),
        cmocka_unit_test(test_forged_message_keyed),
        cmocka_unit_test(test_keyed_without_key),
        cmocka_unit_test(test_wrong_key_blamed_on_key),
        cmocka_unit_test(test_verdict_labels),
        cmocka_unit_test(test_unprotected),
        cmocka_unit_test(test_reserialized_json_still_verifies),
        cmocka_unit_test(test_extension_fields_covered),
        cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
