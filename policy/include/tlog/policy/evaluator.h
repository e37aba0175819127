// The one place that decides whether a session is recorded.
//
// Order (documented in tlog-rules.yaml(5)): enabled rules that match the user,
// host, service and session kind are ranked by
//   1. priority, higher first;
//   2. at equal priority, exclude before record (an exception is never
//      overridden by a broader rule of the same weight);
//   3. at equal priority and action, file order (SSSD-derived rules last).
// The first ranked rule decides; with no match the file's `default` decides.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "tlog/policy/rule.h"

namespace tlog::policy {

// Who is logging in, as the evaluator needs it. Groups are names.
struct Subject {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;                    // primary group
    std::vector<std::string> groups;  // all group names, primary included
};

struct Request {
    Subject user;
    std::string host;
    std::string service;  // "" = any service (only for matching "all")
    SessionKind kind = kInteractive;
};

struct Decision {
    bool recorded = false;
    int rule = -1;       // index into Policy::rules, -1 = default
    std::string reason;  // one line, for logs and `tlog-policy explain`
};

// The rules in evaluation order (indices into policy.rules), disabled rules left out.
std::vector<int> rank_rules(const Policy& policy);

bool rule_matches_user(const Rule& r, const Subject& s);
bool rule_matches_host(const Policy& p, const Rule& r, const std::string& host);
bool rule_matches_service(const Rule& r, const std::string& service);

Decision evaluate(const Policy& policy, const Request& req);

// The service-independent question nss_tlog answers: is the user recorded for
// at least one (service, session kind)? Services are the ones the rules name
// plus "any other service". A list of per-class decisions explains the answer.
struct ClassDecision {
    std::string service;  // "" = any service not named in a rule
    SessionKind kind;
    Decision decision;
};
std::vector<std::string> named_services(const Policy& policy);
std::vector<ClassDecision> evaluate_all_classes(const Policy& policy, const Subject& user, const std::string& host);
bool recorded_anywhere(const std::vector<ClassDecision>& classes);

}  // namespace tlog::policy
