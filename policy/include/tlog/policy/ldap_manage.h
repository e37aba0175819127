// Managing recording rules in the directory (`tlog-policy ldap ...`), like
// `ipa hbacrule-*`: entries are written here, never by hand-written LDIF.
// Every value is checked with the words the rule sources accept, and every
// member is looked up before it is referred to.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tlog/json.h"
#include "tlog/policy/ldap_source.h"

namespace tlog::policy {

namespace ldapc {
class Connection;
}

// What to set; an unset member leaves the attribute as it is (mod) or absent (add).
struct RuleEdit {
    std::optional<std::string> action, description, audit, retention, writer, limit_action, hbac_rule;
    std::optional<int> priority;
    std::optional<bool> enabled, input, output, window;
    std::optional<uint64_t> rate, burst;
    std::optional<std::vector<std::string>> sessions;
    // true: category all; false: remove the category (members decide).
    std::optional<bool> all_users, all_hosts, all_services;
};

struct Members {
    std::vector<std::string> users, groups, hosts, hostgroups, services, servicegroups;
    bool empty() const;
};

class RuleManager {
public:
    // Connects to the first server that answers, with the configured bind.
    explicit RuleManager(const LdapConfig& config);
    ~RuleManager();
    RuleManager(const RuleManager&) = delete;
    RuleManager& operator=(const RuleManager&) = delete;

    json::Value add(const std::string& name, const RuleEdit& edit, const Members& members);
    json::Value modify(const std::string& name, const RuleEdit& edit);
    void remove(const std::string& name);
    json::Value show(const std::string& name);
    json::Value find(const std::string& text);  // an array; "" = every rule
    json::Value add_members(const std::string& name, const Members& members);
    json::Value remove_members(const std::string& name, const Members& members);

private:
    std::string rule_dn(const std::string& name) const;
    json::Value read(const std::string& dn);
    std::vector<std::string> member_dns(const Members& m, bool must_exist);
    std::string hbac_dn(const std::optional<std::string>& name);  // "" for none

    LdapConfig config_;
    std::unique_ptr<ldapc::Connection> conn_;
};

}  // namespace tlog::policy
