// The compiled cache: it answers exactly what the evaluator answers, it
// rejects any damaged file, it survives hostile contents with a valid
// checksum, and it is replaced atomically.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <string>

#include "cmocka_cxx.h"
#include "fake_world.h"
#include "tlog/policy/cache_reader.h"
#include "tlog/policy/loader.h"

using namespace tlog::policy;

namespace {

// A generated policy: many rules over users, uids, uid ranges, groups,
// services, session kinds, hosts, priorities and both actions.
std::string random_policy(std::mt19937& rng, int nrules, int nusers, int ngroups) {
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    std::string s = pick(4) == 0 ? "default: record\n" : "default: exclude\n";
    s += "hostgroups:\n  hg: [h1, h2]\nrules:\n";
    const char* services[] = {"sshd", "login", "su", "sudo", "cockpit"};
    const char* kinds[] = {"interactive", "command", "transfer"};
    for (int i = 0; i < nrules; ++i) {
        s += "  - name: r" + std::to_string(i) + "\n";
        s += std::string("    action: ") + (pick(3) == 0 ? "exclude" : "record") + "\n";
        if (pick(3) == 0) s += "    priority: " + std::to_string(pick(5) - 2) + "\n";
        if (pick(10) == 0) s += "    enabled: false\n";
        switch (pick(6)) {
            case 0: s += "    users: all\n"; break;
            case 1: s += "    uids: [" + std::to_string(1000 + pick(nusers)) + "]\n"; break;
            case 2: {
                const int lo = 1000 + pick(nusers);
                s += "    uids: [" + std::to_string(lo) + "-" + std::to_string(lo + pick(20)) + "]\n";
                break;
            }
            case 3: s += "    groups: [g" + std::to_string(pick(ngroups)) + ", nosuch]\n"; break;
            default:
                s += "    users: [u" + std::to_string(pick(nusers)) + ", u" + std::to_string(pick(nusers)) + "]\n";
                if (pick(2)) s += "    groups: [g" + std::to_string(pick(ngroups)) + "]\n";
        }
        if (pick(3) == 0) s += std::string("    services: [") + services[pick(5)] + ", " + services[pick(5)] + "]\n";
        if (pick(4) == 0) s += std::string("    sessions: [") + kinds[pick(3)] + "]\n";
        switch (pick(5)) {
            case 0: s += "    hosts: [h1]\n"; break;
            case 1: s += "    hosts: [other]\n"; break;
            case 2: s += "    hostgroups: [hg]\n"; break;
            default: break;
        }
    }
    return s;
}

FakeWorld random_world(std::mt19937& rng, int nusers, int ngroups) {
    FakeWorld w;
    for (int g = 0; g < ngroups; ++g) w.groups.push_back({"g" + std::to_string(g), static_cast<gid_t>(5000 + g), {}});
    for (int u = 0; u < nusers; ++u) {
        const std::string name = "u" + std::to_string(u);
        w.users.push_back({name, static_cast<uid_t>(1000 + u), static_cast<gid_t>(5000 + rng() % ngroups)});
        for (int k = 0; k < 2; ++k) w.groups[rng() % ngroups].members.push_back(name);
    }
    return w;
}

void test_cache_agrees_with_evaluator(void**) {
    std::mt19937 rng(12345);
    for (int round = 0; round < 40; ++round) {
        const int nusers = 60, ngroups = 8;
        const FakeWorld w = random_world(rng, nusers, ngroups);
        Policy p = load_policy_text(random_policy(rng, 1 + round * 3, nusers, ngroups), "gen.yaml");
        CompileResult c = compile_cache(p, "h1", "/usr/bin/tlog-rec-session", w.resolver(), 0);
        cache::View v;
        const char* err = cache::View::open(c.bytes.data(), c.bytes.size(), &v);
        if (err) fail_msg("round %d: %s", round, err);
        for (const auto& u : w.users) {
            const bool want = recorded_anywhere(evaluate_all_classes(p, w.subject(u), "h1"));
            if (v.recorded(u.name.c_str(), u.uid, u.gid) != want)
                fail_msg("round %d: %s: evaluator %d, cache %d", round, u.name.c_str(), want, !want);
            // nss_tlog's shortcut before asking the next source must agree.
            if (v.name_decides() && v.recorded(u.name.c_str(), 0, 0) != want)
                fail_msg("round %d: %s: name-only decision differs", round, u.name.c_str());
            if (v.uid_decides() && v.recorded("", u.uid, 0) != want)
                fail_msg("round %d: %s: uid-only decision differs", round, u.name.c_str());
        }
    }
}

std::string sample_cache() {
    FakeWorld w;
    w.groups = {{"wheel", 10, {"alice"}}};
    Policy p = load_policy_text(
        "recorder: /opt/rec\nrules:\n"
        "  - {name: a, action: record, users: [bob], uids: [7, 100-200], groups: [wheel]}\n"
        "  - {name: b, action: exclude, users: all, services: [sshd]}\n",
        "s.yaml");
    return compile_cache(p, "h", "/usr/bin/tlog-rec-session", w.resolver(), 42).bytes;
}

// 8-byte aligned copy, as mmap would give.
struct Aligned {
    std::vector<uint64_t> words;
    size_t size;
    explicit Aligned(const std::string& s) : words((s.size() + 8) / 8), size(s.size()) {
        std::memcpy(words.data(), s.data(), s.size());
    }
    unsigned char* data() { return reinterpret_cast<unsigned char*>(words.data()); }
};

void test_shortcut_applicability(void**) {
    struct Case {
        const char* rules;
        bool by_name, by_uid;
    };
    const Case cases[] = {
        {"rules: [{name: a, action: record, users: [bob]}]", true, false},
        {"rules: [{name: a, action: record, uids: [5]}]", false, true},
        {"rules: [{name: a, action: record, uids: [5-9]}]", false, true},
        {"rules: [{name: a, action: record, groups: [wheel]}]", false, false},
        {"rules: [{name: a, action: record, users: all}]", true, true},
        {"sssd: {scope: all, exclude_users: [bob]}", true, false},
        {"default: record", true, true},
    };
    FakeWorld w;
    w.groups = {{"wheel", 10, {"alice"}}};
    for (const auto& c : cases) {
        Policy p = load_policy_text(c.rules, "s.yaml");
        std::string bytes = compile_cache(p, "h", "/r", w.resolver(), 0).bytes;
        cache::View v;
        assert_null(cache::View::open(bytes.data(), bytes.size(), &v));
        if (v.name_decides() != c.by_name || v.uid_decides() != c.by_uid) fail_msg("%s", c.rules);
    }
}

void test_sample_answers(void**) {
    const std::string bytes = sample_cache();
    Aligned a(bytes);
    cache::View v;
    assert_null(cache::View::open(a.data(), a.size, &v));
    assert_string_equal(v.recorder(), "/opt/rec");
    assert_int_equal(v.header().created, 42);
    assert_true(v.recorded("bob", 5000, 5000));
    assert_true(v.recorded("x", 7, 5000));
    assert_true(v.recorded("x", 150, 5000));
    assert_true(v.recorded("alice", 5001, 5000));  // member of wheel
    assert_true(v.recorded("y", 5002, 10));        // primary group wheel
    assert_false(v.recorded("y", 5002, 11));
    assert_false(v.recorded("", 201, 0));
}

void test_every_damaged_byte_rejected(void**) {
    const std::string bytes = sample_cache();
    for (size_t i = 0; i < bytes.size(); ++i) {
        for (unsigned char flip : {0x01, 0x80, 0xff}) {
            Aligned a(bytes);
            a.data()[i] ^= flip;
            cache::View v;
            if (!cache::View::open(a.data(), a.size, &v)) fail_msg("byte %zu ^ %02x accepted", i, flip);
        }
    }
    for (size_t n = 0; n < bytes.size(); ++n) {  // every truncation
        Aligned a(bytes.substr(0, n));
        cache::View v;
        if (!cache::View::open(a.data(), n, &v)) fail_msg("truncation to %zu accepted", n);
    }
}

// Contents a checksum does not protect against: a file written on purpose
// with bad offsets. The reader must refuse or answer without reading out of
// bounds (AddressSanitizer runs this test in CI).
void test_hostile_contents_with_valid_checksum(void**) {
    const std::string bytes = sample_cache();
    std::mt19937 rng(7);
    int accepted = 0;
    for (int iter = 0; iter < 20000; ++iter) {
        Aligned a(bytes);
        const int changes = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < changes; ++k) a.data()[rng() % a.size] = static_cast<unsigned char>(rng());
        auto* h = reinterpret_cast<cache::Header*>(a.data());
        h->checksum = cache::file_checksum(a.data(), a.size);
        cache::View v;
        if (cache::View::open(a.data(), a.size, &v)) continue;
        ++accepted;
        for (const char* name : {"bob", "alice", "x", ""})
            for (uid_t uid : {0u, 7u, 150u, 5000u}) (void)v.recorded(name, uid, 10);
        (void)std::strlen(v.recorder());
    }
    print_message("hostile: %d of 20000 mutated caches accepted and queried\n", accepted);
}

void test_atomic_write(void**) {
    char dir[] = "/tmp/tlog-policy-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    const std::string path = std::string(dir) + "/policy.cache";
    const std::string bytes = sample_cache();
    write_atomically(path, bytes);
    struct stat st;
    assert_int_equal(stat(path.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(static_cast<size_t>(st.st_size), bytes.size());
    cache::Mapping m;
    assert_null(cache::map_file(path.c_str(), &m));
    assert_true(cache::same_file(path.c_str(), m));
    write_atomically(path, bytes);  // a new inode: readers notice
    assert_false(cache::same_file(path.c_str(), m));
    cache::unmap(&m);
    // Writable by others, or owned by another user: refused.
    assert_int_equal(chmod(path.c_str(), 0666), 0);
    assert_non_null(cache::map_file(path.c_str(), &m));
    assert_int_equal(chmod(path.c_str(), 0664), 0);
    assert_non_null(cache::map_file(path.c_str(), &m));
    assert_int_equal(chmod(path.c_str(), 0644), 0);
    assert_null(cache::map_file(path.c_str(), &m));
    cache::unmap(&m);
    if (geteuid() == 0) {
        assert_int_equal(chown(path.c_str(), 65534, 65534), 0);
        assert_non_null(cache::map_file(path.c_str(), &m));
    }
    // A target directory that does not exist: an error naming the path, nothing left behind.
    bool thrown = false;
    try {
        write_atomically(std::string(dir) + "/missing/policy.cache", bytes);
    } catch (const std::runtime_error& e) {
        thrown = std::string(e.what()).find("/missing/policy.cache") != std::string::npos;
    }
    assert_true(thrown);
    unlink(path.c_str());
    assert_int_equal(rmdir(dir), 0);  // empty: no temporary file left
}

void test_map_rejects_bad_files(void**) {
    cache::Mapping m;
    assert_non_null(cache::map_file("/nonexistent/policy.cache", &m));
    assert_non_null(cache::map_file("/etc", &m));
    assert_non_null(cache::map_file("/etc/passwd", &m));
    assert_null(m.addr);
}

void test_too_many_services(void**) {
    std::string text = "rules:\n";
    for (int i = 0; i < 21; ++i)
        text += "  - {name: r" + std::to_string(i) + ", action: record, users: [a], services: [s" + std::to_string(i) +
                "]}\n";
    Policy p = load_policy_text(text, "many.yaml");
    bool thrown = false;
    try {
        compile_cache(p, "h", "/r", FakeWorld().resolver(), 0);
    } catch (const tlog::InputError& e) {
        thrown = std::string(e.what()).find("too many distinct services") != std::string::npos;
    }
    assert_true(thrown);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_agrees_with_evaluator),
        cmocka_unit_test(test_sample_answers),
        cmocka_unit_test(test_shortcut_applicability),
        cmocka_unit_test(test_every_damaged_byte_rejected),
        cmocka_unit_test(test_hostile_contents_with_valid_checksum),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_map_rejects_bad_files),
        cmocka_unit_test(test_too_many_services),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
