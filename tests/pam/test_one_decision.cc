// One decision for NSS and PAM: for a table of logins (service, session
// kind, user, groups), nss_tlog's answer and pam_tlog's answer are both what
// the cache reader's View::decision() says, and both agree with the
// evaluator the cache was compiled from. Unknown services take the "any
// other service" classes; the unknown kind (sshd) gets the per-kind answer.
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "decision.h"
#include "fake_world.h"
#include "policy_state.h"
#include "tlog/policy/cache_reader.h"
#include "tlog/policy/loader.h"

// cmocka last: its fail() macro clashes with the standard headers.
#include "cmocka_cxx.h"

namespace cache = tlog::policy::cache;
using tlog::policy::SessionKind;

namespace {

const char* const kRules = R"(version: 1
default: exclude
rules:
  - name: contractors
    action: record
    groups: [contractors]
    settings: {input: true}
    audit: session
    retention: long
  - name: privilege-changes
    action: record
    groups: [sudo]
    services: [su, sudo]
    audit: login
  - name: backup-transfers
    action: exclude
    users: [backup]
    sessions: [transfer]
  - name: backup-ssh
    action: record
    users: [backup]
    services: [sshd]
    retention: short
  - name: interactive-only
    action: record
    uids: [2000-2099]
    sessions: [interactive]
  - name: break-glass
    action: exclude
    priority: 100
    users: [root]
)";

FakeWorld world() {
    FakeWorld w;
    w.groups = {{"contractors", 3000, {"carol"}}, {"sudo", 3001, {"sam"}}, {"staff", 3002, {}}};
    w.users = {{"carol", 1001, 3002}, {"sam", 1002, 3002},     {"backup", 1003, 3002}, {"dora", 2005, 3002},
               {"root", 0, 0},        {"nobody2", 1005, 3002}, {"cid", 1006, 3000}};  // contractor by primary group
    return w;
}

std::string g_path;
FakeWorld g_world;
tlog::policy::Policy g_policy;

const FakeUser& user(const char* name) {
    for (const auto& u : g_world.users)
        if (u.name == name) return u;
    fail_msg("no user %s", name);
    abort();
}

struct Case {
    const char* service;  // "cron": named by no rule
    cache::Kind kind;
    const char* user;
    bool pam_recorded;  // what the rules say for this login
    const char* rule;   // the deciding rule ("" = the default)
};

const Case kCases[] = {
    {"sshd", cache::Kind::Interactive, "carol", true, "contractors"},
    {"cron", cache::Kind::Command, "carol", true, "contractors"},
    {"su", cache::Kind::Interactive, "sam", true, "privilege-changes"},
    {"sshd", cache::Kind::Interactive, "sam", false, ""},
    {"cron", cache::Kind::Unknown, "sam", false, ""},
    {"sshd", cache::Kind::Unknown, "backup", true, "backup-ssh"},
    {"sshd", cache::Kind::Transfer, "backup", false, "backup-transfers"},
    {"login", cache::Kind::Interactive, "backup", false, ""},
    {"sshd", cache::Kind::Unknown, "dora", true, "interactive-only"},
    {"sshd", cache::Kind::Command, "dora", false, ""},
    {"no-such-service", cache::Kind::Unknown, "dora", true, "interactive-only"},
    {"su", cache::Kind::Interactive, "root", false, "break-glass"},
    {"sshd", cache::Kind::Unknown, "nobody2", false, ""},
    {"", cache::Kind::Command, "cid", true, "contractors"},
};

SessionKind to_policy_kind(cache::Kind k) {
    switch (k) {
        case cache::Kind::Command: return tlog::policy::kCommand;
        case cache::Kind::Transfer: return tlog::policy::kTransfer;
        default: return tlog::policy::kInteractive;
    }
}

int setup(void**) {
    g_world = world();
    g_policy = tlog::policy::load_policy_text(kRules, "one-decision.yaml");
    const auto c = tlog::policy::compile_cache(g_policy, "h1", "/usr/bin/tlog-rec-session", g_world.resolver(), 0);
    char dir[] = "/tmp/one-decision-XXXXXX";
    if (!mkdtemp(dir)) return -1;
    g_path = std::string(dir) + "/policy.cache";
    tlog::policy::write_atomically(g_path, c.bytes);
    // nss_tlog reads its cache path once, from the environment.
    setenv("TLOG_POLICY_CACHE", g_path.c_str(), 1);
    return 0;
}

int teardown(void**) {
    unlink(g_path.c_str());
    rmdir(g_path.substr(0, g_path.rfind('/')).c_str());
    return 0;
}

void test_nss_and_pam_ask_the_same_function(void**) {
    cache::Mapping m;
    assert_null(cache::map_file(g_path.c_str(), &m));
    const pam_tlog::Cache pam(g_path);
    for (const Case& c : kCases) {
        const FakeUser& u = user(c.user);
        const std::string what = std::string(c.service) + "/" + cache::kind_name(c.kind) + "/" + c.user;

        // pam_tlog: the login's service and kind.
        const cache::Decision want = m.view.decision(u.name.c_str(), u.uid, u.gid, c.service, c.kind);
        const pam_tlog::Decision got = pam.decide(u.name.c_str(), u.uid, u.gid, c.service, c.kind);
        if (got.recorded != want.recorded || got.rule != want.rule || got.settings != want.settings ||
            got.retention != want.retention || got.audit != want.audit || got.per_kind != want.per_kind)
            fail_msg("%s: pam_tlog's answer is not View::decision()'s", what.c_str());
        char reason[256];
        want.reason(reason, sizeof reason);
        if (got.reason != reason) fail_msg("%s: reason '%s', want '%s'", what.c_str(), got.reason.c_str(), reason);
        for (int k = 0; k < 3; ++k)
            if (got.kind_recorded[k] != want.kind_recorded[k]) fail_msg("%s: kind %d", what.c_str(), k);
        if (got.recorded != c.pam_recorded || got.rule != c.rule)
            fail_msg("%s: recorded %d by '%s', want %d by '%s'", what.c_str(), got.recorded, got.rule.c_str(),
                     c.pam_recorded, c.rule);
        assert_int_equal(want.per_kind, c.kind == cache::Kind::Unknown);

        // The evaluator the cache was compiled from agrees, kind by kind.
        tlog::policy::Request req;
        req.user = g_world.subject(u);
        req.host = "h1";
        req.service = c.service;
        for (int k = 0; k < 3; ++k) {
            const cache::Kind kind = static_cast<cache::Kind>(k);
            if (c.kind != cache::Kind::Unknown && c.kind != kind) continue;
            req.kind = to_policy_kind(kind);
            const bool by_evaluator = tlog::policy::evaluate(g_policy, req).recorded;
            const bool by_cache = m.view.decision(u.name.c_str(), u.uid, u.gid, c.service, kind).recorded;
            if (by_evaluator != by_cache)
                fail_msg("%s: kind %d: evaluator %d, cache %d", what.c_str(), k, by_evaluator, by_cache);
            if (c.kind == cache::Kind::Unknown && want.kind_recorded[k] != by_cache)
                fail_msg("%s: per-kind answer %d differs", what.c_str(), k);
        }

        // nss_tlog: no service, no kind: the NSS view of the same function.
        const cache::Decision nss_want =
            m.view.decision(u.name.c_str(), u.uid, u.gid, cache::kAnyService, cache::Kind::Unknown);
        char shell[64];
        const nss_tlog::Verdict v = nss_tlog::decide(u.name.c_str(), u.uid, u.gid, shell, sizeof shell);
        if ((v == nss_tlog::Verdict::Recorded) != nss_want.recorded)
            fail_msg("%s: nss_tlog's answer is not View::decision()'s", what.c_str());
        if (v == nss_tlog::Verdict::Recorded)
            assert_string_equal(shell, "/usr/bin/tlog-rec-session");
        else
            assert_int_equal(v, nss_tlog::Verdict::NotRecorded);
        // A login PAM records is one whose shell NSS makes the recorder.
        if (got.recorded && !nss_want.recorded) fail_msg("%s: recorded by PAM, not by NSS", what.c_str());
        assert_int_equal(m.view.recorded(u.name.c_str(), u.uid, u.gid), nss_want.recorded);
    }
    cache::unmap(&m);
}

void test_reason_text(void**) {
    cache::Decision d;
    char buf[128];
    assert_int_equal(d.reason(buf, sizeof buf), std::strlen("not recorded by the default: no rule matches"));
    assert_string_equal(buf, "not recorded by the default: no rule matches");
    d.recorded = true;
    d.rank = 3;
    d.rule = "r";
    d.per_kind = true;
    d.kind_recorded[0] = d.kind_recorded[2] = true;
    d.reason(buf, sizeof buf);
    assert_string_equal(buf, "recorded by rule 'r' (kinds recorded: interactive transfer)");
    // Truncated like snprintf: the full length is returned.
    assert_int_equal(d.reason(buf, 9), std::strlen("recorded by rule 'r' (kinds recorded: interactive transfer)"));
    assert_string_equal(buf, "recorded");
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nss_and_pam_ask_the_same_function),
        cmocka_unit_test(test_reason_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
