// SSSD session_recording semantics (scope none/some/all, users, groups,
// exclude_users, exclude_groups; exclusions only with scope=all), as a
// matrix: every configuration against every user, through the evaluator and
// through the compiled cache nss_tlog reads. The same matrix runs through real
// getent by name, by uid and by enumeration in tests/nss/nss_namespace.sh.
#include <set>
#include <string>

#include "cmocka_cxx.h"
#include "fake_world.h"
#include "tlog/policy/cache_reader.h"
#include "tlog/policy/loader.h"

using namespace tlog::policy;

namespace {

// user1: primary group1. user2: primary group2, member of group3.
// user3: primary group3. user4: primary group4.
FakeWorld world() {
    FakeWorld w;
    w.users = {{"user1", 1001, 2001}, {"user2", 1002, 2002}, {"user3", 1003, 2003}, {"user4", 1004, 2004}};
    w.groups = {{"group1", 2001, {}}, {"group2", 2002, {}}, {"group3", 2003, {"user2"}}, {"group4", 2004, {}}};
    return w;
}

struct Config {
    const char* sssd;      // the sssd: section
    const char* recorded;  // expected recorded users, space separated
};

const Config kMatrix[] = {
    {"scope: none", ""},
    {"scope: none\n  users: [user1]\n  groups: [group3]", ""},
    {"scope: some", ""},
    {"scope: some\n  users: [user1]", "user1"},
    {"scope: some\n  users: [user1, user4]", "user1 user4"},
    {"scope: some\n  groups: [group3]", "user2 user3"},  // supplementary and primary membership
    {"scope: some\n  groups: [group1]", "user1"},
    {"scope: some\n  users: [user1]\n  groups: [group3]", "user1 user2 user3"},
    {"scope: some\n  users: [user1]\n  exclude_users: [user1]", "user1"},  // exclusions ignored with some
    {"scope: some\n  groups: [group3]\n  exclude_groups: [group3]", "user2 user3"},
    {"scope: some\n  users: [nosuchuser]\n  groups: [nosuchgroup]", ""},
    {"scope: all", "user1 user2 user3 user4"},
    {"scope: all\n  users: [user1]", "user1 user2 user3 user4"},  // users ignored with all
    {"scope: all\n  exclude_users: [user1]", "user2 user3 user4"},
    {"scope: all\n  exclude_users: [user1, user3]", "user2 user4"},
    {"scope: all\n  exclude_groups: [group3]", "user1 user4"},
    {"scope: all\n  exclude_groups: [group1, group4]", "user2 user3"},
    {"scope: all\n  exclude_users: [user4]\n  exclude_groups: [group3]", "user1"},
    {"scope: all\n  exclude_users: [nosuchuser]\n  exclude_groups: [nosuchgroup]", "user1 user2 user3 user4"},
};

std::set<std::string> split(const char* s) {
    std::set<std::string> out;
    std::string cur;
    for (const char* p = s;; ++p) {
        if (*p == ' ' || *p == '\0') {
            if (!cur.empty()) out.insert(cur);
            cur.clear();
            if (!*p) break;
        } else {
            cur += *p;
        }
    }
    return out;
}

void test_sssd_matrix(void**) {
    const FakeWorld w = world();
    for (const auto& c : kMatrix) {
        const std::string text = std::string("sssd:\n  ") + c.sssd + "\n";
        Policy p = load_policy_text(text, "sssd.yaml");
        CompileResult compiled = compile_cache(p, "host1", "/usr/bin/tlog-rec-session", w.resolver(), 0);
        cache::View view;
        const char* err = cache::View::open(compiled.bytes.data(), compiled.bytes.size(), &view);
        if (err) fail_msg("%s: %s", c.sssd, err);
        const auto expected = split(c.recorded);
        for (const auto& u : w.users) {
            const bool want = expected.count(u.name) > 0;
            const bool by_rules = recorded_anywhere(evaluate_all_classes(p, w.subject(u), "host1"));
            // Every service, as pam_tlog would ask: SSSD scope has no services.
            for (const char* svc : {"sshd", "login", "su"})
                if (evaluate(p, Request{w.subject(u), "host1", svc, kInteractive}).recorded != want)
                    fail_msg("[%s] %s service %s: evaluator disagrees", c.sssd, u.name.c_str(), svc);
            const bool by_cache = view.recorded(u.name.c_str(), u.uid, u.gid);
            if (by_rules != want || by_cache != want)
                fail_msg("[%s] %s: expected %s, evaluator %d, cache %d", c.sssd, u.name.c_str(),
                         want ? "recorded" : "not recorded", by_rules, by_cache);
        }
    }
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sssd_matrix),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
