// Rules file loading (errors name file, line and key) and the evaluation
// order, as a table of cases.
#include <string>
#include <vector>

#include "cmocka_cxx.h"
#include "tlog/policy/evaluator.h"
#include "tlog/policy/loader.h"

using namespace tlog::policy;

namespace {

Subject user(const std::string& name, uid_t uid, std::vector<std::string> groups = {}) {
    Subject s;
    s.name = name;
    s.uid = uid;
    s.gid = uid;
    s.groups = std::move(groups);
    return s;
}

// --- loader errors ---

struct ErrorCase {
    const char* text;
    uint64_t line;
    const char* field;    // substring of the field
    const char* message;  // substring of the message
};

void test_errors_name_file_line_key(void**) {
    const ErrorCase cases[] = {
        {"rules:\n  - name: a\n    action: recrd\n    users: all\n", 3, "rules[0].action", "record or exclude"},
        {"rules:\n  - name: a\n    action: record\n    userz: [x]\n", 4, "rules[0].userz", "unknown key"},
        {"rules:\n  - name: a\n    action: record\n", 2, "rules[0].users", "names no users"},
        {"rules:\n  - action: record\n    users: all\n", 2, "rules[0].name", "needs a name"},
        {"rules:\n  - name: a\n    action: record\n    users: all\n    enabled: maybe\n", 5, "rules[0].enabled",
         "true or false"},
        {"rules:\n  - name: a\n    action: record\n    users: all\n    uids: [5-1]\n", 5, "rules[0].uids",
         "empty uid range"},
        {"rules:\n  - name: a\n    action: record\n    users: all\n    sessions: [shell]\n", 5, "rules[0].sessions",
         "interactive"},
        {"rules:\n  - name: a\n    action: record\n    users: [bob]\n    settings:\n      writer: tcp\n", 6,
         "settings.writer", "journal"},
        {"rules:\n  - name: a\n    action: record\n    users: [bob]\n    settings:\n      rate_limit: {rate: -5}\n", 6,
         "rate_limit.rate", "non-negative"},
        // The recorder's own table decides: it has no http writer, so a rule with
        // one is refused here rather than failing every matching login.
        {"rules:\n  - name: a\n    action: record\n    users: [bob]\n    settings:\n      writer: http\n", 6,
         "rules[0].settings.writer", "got \"http\" (the recorder's settings)"},
        {"rules:\n  - name: a\n    action: record\n    users: [bob]\n    settings:\n      rate_limit: {action: "
         "explode}\n",
         6, "rules[0].settings.rate_limit.action", "\"pass\", \"delay\", \"drop\", got \"explode\""},
        {"rules:\n  - name: a\n    action: record\n    users: [bob]\n    settings:\n      input_secrets: show\n", 6,
         "settings.input_secrets", "hide or record"},
        {"rules:\n  - name: a\n    action: record\n    users: [bob]\n    audit: full\n", 5, "rules[0].audit",
         "none, login or session"},
        {"rules:\n  - name: a\n    action: record\n    users: [bob]\n    hostgroups: [nope]\n", 2, "rules[0]",
         "unknown host group"},
        {"rules:\n  - name: a\n    action: record\n    users: [bob]\n  - name: a\n    action: exclude\n    users: "
         "[bob]\n",
         5, "rules[1]", "duplicate rule name"},
        {"default: maybe\n", 1, "default", "record or exclude"},
        {"recorder: tlog-rec-session\n", 1, "recorder", "absolute"},
        {"sssd:\n  scope: most\n", 2, "sssd.scope", "none, some or all"},
        {"rules: [\n", 2, "", "YAML syntax error"},
        {"version: 2\n", 1, "version", "unsupported"},
        {"nss:\n  unrecorded: pass\n", 2, "nss.unrecorded", "notfound or answer"},
        {"nss:\n  shell: /bin/x\n", 2, "nss.shell", "unknown key"},
        {"rules:\n  - name: a\n    action: record\n    users: [x]\n    action: exclude\n", 5, "rules[0].action",
         "duplicate key"},
        {"default: record\ndefault: exclude\n", 2, "default", "duplicate key"},
        {"rules:\n  - name: a\n    action: record\n    users: []\n    groups: []\n", 2, "rules[0].users",
         "match nobody"},
        {"rules:\n  - name: a\n    action: record\n    users: [x]\n    hosts: []\n", 2, "rules[0].hosts",
         "match no host"},
        {"rules:\n  - name: a\n    action: record\n    users: [x]\n    settings: {input: true, input: false}\n", 5,
         "settings.input", "duplicate key"},
        {"rules:\n  - name: a\n    action: record\n    users: [all]\n", 4, "rules[0].users", "whole value"},
        {"rules:\n  - name: a\n    action: record\n    users: all\n    groups: [g]\n", 4, "rules[0].users",
         "cannot be combined"},
    };
    for (const auto& c : cases) {
        bool thrown = false;
        try {
            load_policy_text(c.text, "/etc/tlog/rules.yaml");
        } catch (const tlog::InputError& e) {
            thrown = true;
            const std::string what = e.what();
            if (e.where().file != "/etc/tlog/rules.yaml" || e.where().line != c.line ||
                e.where().field.find(c.field) == std::string::npos || what.find(c.message) == std::string::npos)
                fail_msg("case %s\n  got: %s (line %lu)", c.text, what.c_str(),
                         static_cast<unsigned long>(e.where().line));
        }
        if (!thrown) fail_msg("no error for: %s", c.text);
    }
}

void test_unreadable_file_is_named(void**) {
    try {
        load_policy_file("/nonexistent/rules.yaml");
        fail();
    } catch (const tlog::InputError& e) {
        assert_string_equal(e.where().file.c_str(), "/nonexistent/rules.yaml");
    }
}

void test_full_rule_loads(void**) {
    Policy p = load_policy_text(R"(
version: 1
default: exclude
recorder: /opt/tlog/bin/tlog-rec-session
hostgroups:
  db: [db1, DB2.example.com]
rules:
  - name: full
    description: every key
    enabled: true
    priority: -3
    action: record
    users: [alice]
    uids: [1001, 2000-2999]
    groups: [wheel]
    hosts: [web1]
    hostgroups: [db]
    netgroups: [ng]
    services: [sshd, login]
    sessions: [interactive, command]
    settings:
      input: true
      input_secrets: record
      output: false
      window: true
      writer: journal
      rate_limit: {rate: 1000, burst: 2000, action: drop}
    audit: login
    retention: pci-7y
)",
                                "t.yaml");
    assert_int_equal(p.rules.size(), 1);
    const Rule& r = p.rules[0];
    assert_int_equal(r.priority, -3);
    assert_int_equal(r.uids.size(), 2);
    assert_int_equal(r.uids[1].lo, 2000);
    assert_int_equal(r.uids[1].hi, 2999);
    assert_false(r.all_hosts);
    assert_int_equal(r.kinds, kInteractive | kCommand);
    assert_true(r.audit == AuditLevel::Login);
    assert_string_equal(r.retention.c_str(), "pci-7y");
    assert_string_equal(p.recorder.c_str(), "/opt/tlog/bin/tlog-rec-session");
    assert_string_equal(
        r.settings.to_json().c_str(),
        R"({"log":{"input":true,"input_secrets":"record","output":false,"window":true},"limit":{"rate":1000,"burst":2000,"action":"drop"},"writer":"journal"})");
    assert_int_equal(r.where.line, 8);
    assert_true(rule_matches_host(p, r, "web1"));
    assert_true(rule_matches_host(p, r, "db2.EXAMPLE.com"));  // host names compare case-insensitively
    assert_false(rule_matches_host(p, r, "web2"));
    assert_true(rule_matches_user(r, user("x", 2500)));
    assert_true(rule_matches_user(r, user("x", 1, {"wheel"})));
    assert_false(rule_matches_user(r, user("x", 3000)));
}

// --- precedence table ---

const char kPrecedence[] = R"(
default: exclude
hostgroups:
  prod: [prod1, prod2]
rules:
  - name: all-admins            # 0
    action: record
    groups: [admins]
  - name: no-bob                # 1
    action: exclude
    users: [bob]
  - name: bob-on-prod           # 2: beats no-bob by priority
    action: record
    priority: 10
    users: [bob]
    hostgroups: [prod]
  - name: sftp-free             # 3
    action: exclude
    users: all
    sessions: [transfer]
  - name: su-everyone           # 4
    action: record
    users: all
    services: [su, sudo]
  - name: carol-never           # 5
    action: exclude
    priority: 50
    users: [carol]
  - name: disabled-dave         # 6
    action: record
    enabled: false
    users: [dave]
  - name: contractors-range     # 7
    action: record
    uids: [5000-5999]
    settings: {input: true}
  - name: contractor-5005-off   # 8: same priority, exclude wins over 7
    action: exclude
    uids: [5005]
  - name: first-of-equals       # 9 and 10: same priority and action: file order
    action: record
    users: [erin]
    settings: {writer: file}
  - name: second-of-equals      # 10
    action: record
    users: [erin]
    settings: {writer: journal}
)";

struct Case {
    const char* user;
    uid_t uid;
    std::vector<std::string> groups;
    const char* host;
    const char* service;
    SessionKind kind;
    bool recorded;
    const char* rule;  // "" = default
};

void test_precedence_table(void**) {
    Policy p = load_policy_text(kPrecedence, "prec.yaml");
    const std::vector<Case> cases = {
        {"alice", 1000, {"admins"}, "web1", "sshd", kInteractive, true, "all-admins"},
        {"alice", 1000, {"admins"}, "web1", "sshd", kTransfer, false, "sftp-free"},  // exclude beats record at equal
                                                                                     // priority
        {"alice", 1000, {"users"}, "web1", "sshd", kInteractive, false, ""},
        {"alice", 1000, {"users"}, "web1", "su", kInteractive, true, "su-everyone"},
        {"alice", 1000, {"users"}, "web1", "sudo", kCommand, true, "su-everyone"},
        {"alice", 1000, {"users"}, "web1", "su", kTransfer, false, "sftp-free"},
        {"bob", 1001, {"admins"}, "web1", "sshd", kInteractive, false, "no-bob"},  // user exclusion beats group record
        {"bob", 1001, {"admins"}, "prod1", "sshd", kInteractive, true, "bob-on-prod"},  // priority beats exclusion
        {"bob", 1001, {"admins"}, "PROD2", "sshd", kTransfer, true, "bob-on-prod"},
        {"bob", 1001, {}, "web1", "su", kInteractive, false, "no-bob"},
        {"carol", 1002, {"admins"}, "prod1", "su", kInteractive, false, "carol-never"},
        {"dave", 1003, {}, "web1", "sshd", kInteractive, false, ""},  // disabled rule ignored
        {"dave", 1003, {}, "web1", "su", kInteractive, true, "su-everyone"},
        {"x5000", 5000, {}, "web1", "sshd", kInteractive, true, "contractors-range"},
        {"x5999", 5999, {}, "web1", "login", kCommand, true, "contractors-range"},
        {"x6000", 6000, {}, "web1", "login", kCommand, false, ""},
        {"x5005", 5005, {}, "web1", "sshd", kInteractive, false, "contractor-5005-off"},
        {"erin", 1004, {}, "web1", "sshd", kInteractive, true, "first-of-equals"},
        {"erin", 1004, {}, "web1", "", kInteractive, true, "first-of-equals"},
    };
    for (const auto& c : cases) {
        Request req{user(c.user, c.uid, c.groups), c.host, c.service, c.kind};
        Decision d = evaluate(p, req);
        const std::string got = d.rule < 0 ? "" : p.rules[d.rule].name;
        if (d.recorded != c.recorded || got != c.rule)
            fail_msg("%s@%s %s/%s: expected %s by '%s', got %s by '%s' (%s)", c.user, c.host, c.service,
                     kind_name(c.kind), c.recorded ? "record" : "exclude", c.rule, d.recorded ? "record" : "exclude",
                     got.c_str(), d.reason.c_str());
    }
}

void test_default_record(void**) {
    Policy p =
        load_policy_text("default: record\nrules:\n  - name: ops\n    action: exclude\n    users: [ops]\n", "d.yaml");
    assert_true(evaluate(p, Request{user("anyone", 1), "h", "sshd", kInteractive}).recorded);
    Decision d = evaluate(p, Request{user("ops", 2), "h", "sshd", kInteractive});
    assert_false(d.recorded);
    assert_string_equal(p.rules[d.rule].name.c_str(), "ops");
}

void test_any_service_view(void**) {
    // nss_tlog's question: recorded for at least one service / session kind.
    Policy p = load_policy_text(kPrecedence, "prec.yaml");
    auto all = [&](const char* name, uid_t uid, std::vector<std::string> g, const char* host) {
        return recorded_anywhere(evaluate_all_classes(p, user(name, uid, std::move(g)), host));
    };
    assert_true(all("alice", 1000, {}, "web1"));  // via su
    assert_false(all("carol", 1002, {"admins"}, "web1"));
    assert_true(all("bob", 1001, {}, "prod1"));
    assert_false(all("bob", 1001, {}, "web1"));  // excluded everywhere off prod, su included
    auto classes = evaluate_all_classes(p, user("alice", 1000), "web1");
    assert_int_equal(classes.size(), 9);  // (su, sudo, other) x 3 kinds
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_name_file_line_key),
        cmocka_unit_test(test_unreadable_file_is_named),
        cmocka_unit_test(test_full_rule_loads),
        cmocka_unit_test(test_precedence_table),
        cmocka_unit_test(test_default_record),
        cmocka_unit_test(test_any_service_view),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
