// The kernel audit rules that implement the rules' `audit` levels for this
// host (tlog-policy audit-rules, tlog-rules.yaml(5) "AUDIT LEVELS").
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tlog/policy/evaluator.h"
#include "tlog/policy/identity.h"
#include "tlog/policy/rule.h"

namespace tlog::policy {

struct AuditRulesResult {
    std::string text;                   // auditctl -R / audit.rules syntax
    std::vector<std::string> warnings;  // what could not be expressed
};

// `lookup_user` resolves a user name (for users: lists and the members of
// groups:), `lookup_grp` a group. Users are selected by audit uid (auid), so
// the rules follow a login through su and sudo.
AuditRulesResult audit_rules(const Policy& p, const std::string& host,
                             const std::function<std::optional<Subject>(const std::string&)>& lookup_user,
                             const std::function<std::optional<GroupInfo>(const std::string&)>& lookup_grp);

}  // namespace tlog::policy
