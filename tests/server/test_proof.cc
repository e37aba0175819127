// libtlog-proof: the Merkle tree's inclusion proofs check against its root
// for every leaf of trees of 1 to 40 leaves and fail for another leaf,
// index or size; RFC 6962's shape (a known root of 3 leaves); a
// recording's hash extended equals it computed at once; Ed25519 keys:
// written 0600, a readable private key refused, a signature checked, a
// changed statement failing.
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "cmocka_cxx.h"
#include "tlog/proof/proof.h"

using namespace tlog::proof;

namespace {

std::vector<Digest> leaves(size_t n) {
    std::vector<Digest> out;
    for (size_t i = 0; i < n; ++i) out.push_back(leaf_hash("leaf " + std::to_string(i)));
    return out;
}

void test_merkle(void**) {
    for (size_t n = 1; n <= 40; ++n) {
        auto l = leaves(n);
        Digest root = merkle_root(l);
        for (size_t i = 0; i < n; ++i) {
            auto p = merkle_proof(l, i);
            assert_true(root_from_proof(l[i], i, n, p) == root);
            assert_false(root_from_proof(leaf_hash("other"), i, n, p) == root);
            if (n > 1) {
                size_t j = (i + 1) % n;
                bool threw = false;
                try {
                    threw = root_from_proof(l[i], j, n, p) == root;
                } catch (const std::exception&) {
                    threw = false;
                }
                assert_false(threw);
            }
        }
    }
    // RFC 6962 2.1: MTH of 3 leaves is H(1 || H(1 || a || b) || c).
    auto l = leaves(3);
    tlog::Sha256 ab;
    uint8_t one = 1;
    ab.update(&one, 1);
    ab.update(l[0].data(), 32);
    ab.update(l[1].data(), 32);
    Digest left = ab.finish();
    tlog::Sha256 top;
    top.update(&one, 1);
    top.update(left.data(), 32);
    top.update(l[2].data(), 32);
    assert_true(merkle_root(l) == top.finish());
}

void test_recording_hash(void**) {
    RecordingHash a;
    for (uint64_t id = 1; id <= 10; ++id) a.add(id, "{\"id\":" + std::to_string(id) + "}");
    RecordingHash b;
    for (uint64_t id = 1; id <= 4; ++id) b.add(id, "{\"id\":" + std::to_string(id) + "}");
    RecordingHash c(b.digest(), b.count(), b.last_id());
    for (uint64_t id = 5; id <= 10; ++id) c.add(id, "{\"id\":" + std::to_string(id) + "}");
    assert_true(a.digest() == c.digest());
    assert_int_equal(c.count(), 10);
    // The id is covered: the same JSON under other ids differs.
    RecordingHash d;
    for (uint64_t id = 2; id <= 11; ++id) d.add(id, "{\"id\":" + std::to_string(id - 1) + "}");
    assert_false(a.digest() == d.digest());
}

void test_key(void**) {
    char tmpl[] = "/tmp/tlog-proof-test.XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::string f = dir + "/k.pem";
    Key::generate(f);
    struct stat st {};
    assert_int_equal(stat(f.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    bool refused = false;
    try {
        Key::generate(f);  // never overwritten
    } catch (const std::runtime_error&) {
        refused = true;
    }
    assert_true(refused);
    auto k = Key::load_private(f);
    auto pub = Key::load_public(f + ".pub");
    assert_string_equal(k.fingerprint().c_str(), pub.fingerprint().c_str());
    Checkpoint c;
    c.seq = 3;
    c.time_ms = 42;
    c.entries = 1;
    c.key_id = k.fingerprint();
    c.signature = k.sign(c.statement());
    assert_true(pub.verify(c.statement(), c.signature));
    c.time_ms = 43;
    assert_false(pub.verify(c.statement(), c.signature));
    chmod(f.c_str(), 0640);
    try {
        Key::load_private(f);
        fail_msg("a private key readable by its group loaded");
    } catch (const std::runtime_error& e) {
        assert_non_null(strstr(e.what(), "mode 0640"));
        assert_non_null(strstr(e.what(), f.c_str()));
    }
    unlink(f.c_str());
    unlink((f + ".pub").c_str());
    rmdir(dir.c_str());
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merkle),
        cmocka_unit_test(test_recording_hash),
        cmocka_unit_test(test_key),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
