// The recording-rule model: what a rules file (tlog-rules.yaml(5)) says, after
// loading and checking, before evaluation. Plain data; no I/O here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tlog/error.h"

namespace tlog::policy {

enum class Action { Record, Exclude };
enum class AuditLevel { None, Login, Session };

// Session kinds a login program can start. A bit set, so a rule can name several.
enum SessionKind : unsigned {
    kInteractive = 1u << 0,  // a terminal login shell
    kCommand = 1u << 1,      // a remote command (ssh host cmd)
    kTransfer = 1u << 2,     // scp / sftp / rsync
};
constexpr unsigned kAllKinds = kInteractive | kCommand | kTransfer;

const char* action_name(Action a);
const char* audit_name(AuditLevel a);
const char* kind_name(SessionKind k);

// The words every rule source accepts (tlog-rules.yaml(5), the LDAP
// attributes): nullopt / false for anything else.
std::optional<Action> parse_action(const std::string& word);
std::optional<AuditLevel> parse_audit(const std::string& word);
std::optional<SessionKind> parse_kind(const std::string& word);
bool valid_writer(const std::string& word);        // file, syslog, journal (the recorders' settings table)
bool valid_limit_action(const std::string& word);  // pass, delay, drop

// Recorder settings carried by a rule; unset members keep the recorder's defaults.
struct RateLimit {
    std::optional<uint64_t> rate;       // bytes per second
    std::optional<uint64_t> burst;      // bytes
    std::optional<std::string> action;  // pass | delay | drop
};

struct Settings {
    std::optional<bool> input;
    std::optional<std::string> input_secrets;  // hide | record
    std::optional<bool> output;
    std::optional<bool> window;
    RateLimit limit;
    std::optional<std::string> writer;  // file | syslog | journal (the recorder's table decides)

    // The settings as recorder configuration JSON (tlog option names:
    // log.input, log.input_secrets, log.output, log.window, limit.rate, limit.burst, limit.action, writer).
    std::string to_json() const;
};

struct UidRange {
    uid_t lo = 0;
    uid_t hi = 0;  // inclusive
};

struct Rule {
    std::string name;
    Location where;  // where the rule starts in its file
    bool enabled = true;
    int priority = 0;  // higher wins; see evaluator.h for the full order
    Action action = Action::Record;

    bool all_users = false;
    std::vector<std::string> users;
    std::vector<UidRange> uids;
    std::vector<std::string> groups;

    bool all_hosts = true;
    std::vector<std::string> hosts;
    std::vector<std::string> hostgroups;  // defined in the file's hostgroups map
    std::vector<std::string> netgroups;   // resolved with innetgr(3)

    bool all_services = true;
    std::vector<std::string> services;

    unsigned kinds = kAllKinds;

    Settings settings;
    AuditLevel audit = AuditLevel::Session;
    std::string retention;  // a class name the storage side maps to a period; "" = default
};

struct Policy {
    std::string source;                       // file the policy came from
    Action default_action = Action::Exclude;  // when no rule matches
    std::string recorder;                     // shell nss_tlog substitutes
    // What nss_tlog answers for a user it does not record: NOTFOUND (glibc
    // asks the next sources itself; the default) or the next sources' entry
    // unchanged (saves the second lookup; see nss_tlog(8)).
    bool nss_answer_unrecorded = false;
    std::map<std::string, std::vector<std::string>> hostgroups;
    std::vector<Rule> rules;  // in file order; SSSD-derived rules appended
};

}  // namespace tlog::policy
