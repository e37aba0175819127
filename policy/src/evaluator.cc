#include "tlog/policy/evaluator.h"

#include <netdb.h>
#include <strings.h>

#include <algorithm>
#include <set>

namespace tlog::policy {

std::vector<int> rank_rules(const Policy& policy) {
    std::vector<int> order;
    for (size_t i = 0; i < policy.rules.size(); ++i)
        if (policy.rules[i].enabled) order.push_back(static_cast<int>(i));
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        const Rule& ra = policy.rules[a];
        const Rule& rb = policy.rules[b];
        if (ra.priority != rb.priority) return ra.priority > rb.priority;
        const bool xa = ra.action == Action::Exclude, xb = rb.action == Action::Exclude;
        if (xa != xb) return xa;
        return a < b;
    });
    return order;
}

bool rule_matches_user(const Rule& r, const Subject& s) {
    if (r.all_users) return true;
    if (std::find(r.users.begin(), r.users.end(), s.name) != r.users.end()) return true;
    for (const auto& u : r.uids)
        if (s.uid >= u.lo && s.uid <= u.hi) return true;
    for (const auto& g : r.groups)
        if (std::find(s.groups.begin(), s.groups.end(), g) != s.groups.end()) return true;
    return false;
}

static bool same_host(const std::string& a, const std::string& b) {
    return a.size() == b.size() && strcasecmp(a.c_str(), b.c_str()) == 0;
}

bool rule_matches_host(const Policy& p, const Rule& r, const std::string& host) {
    if (r.all_hosts) return true;
    for (const auto& h : r.hosts)
        if (same_host(h, host)) return true;
    for (const auto& g : r.hostgroups) {
        auto it = p.hostgroups.find(g);
        if (it == p.hostgroups.end()) continue;
        for (const auto& h : it->second)
            if (same_host(h, host)) return true;
    }
    for (const auto& ng : r.netgroups)
        if (innetgr(ng.c_str(), host.c_str(), nullptr, nullptr) == 1) return true;
    return false;
}

bool rule_matches_service(const Rule& r, const std::string& service) {
    if (r.all_services) return true;
    return !service.empty() && std::find(r.services.begin(), r.services.end(), service) != r.services.end();
}

Decision evaluate(const Policy& policy, const Request& req) {
    Decision d;
    for (int i : rank_rules(policy)) {
        const Rule& r = policy.rules[i];
        if (!(r.kinds & req.kind)) continue;
        if (!rule_matches_service(r, req.service)) continue;
        if (!rule_matches_user(r, req.user)) continue;
        if (!rule_matches_host(policy, r, req.host)) continue;
        d.rule = i;
        d.recorded = r.action == Action::Record;
        d.reason = std::string(d.recorded ? "recorded" : "not recorded") + " by rule '" + r.name + "' (" +
                   action_name(r.action) + ", priority " + std::to_string(r.priority) + ", " + r.where.str() + ")";
        return d;
    }
    d.recorded = policy.default_action == Action::Record;
    d.reason = std::string(d.recorded ? "recorded" : "not recorded") + " by the default (" +
               action_name(policy.default_action) + "): no enabled rule matches";
    return d;
}

std::vector<std::string> named_services(const Policy& policy) {
    std::set<std::string> s;
    for (const auto& r : policy.rules)
        if (r.enabled && !r.all_services) s.insert(r.services.begin(), r.services.end());
    return {s.begin(), s.end()};
}

std::vector<ClassDecision> evaluate_all_classes(const Policy& policy, const Subject& user, const std::string& host) {
    std::vector<std::string> services = named_services(policy);
    services.push_back("");  // any other service
    std::vector<ClassDecision> out;
    for (const auto& svc : services) {
        for (SessionKind k : {kInteractive, kCommand, kTransfer}) {
            Request req{user, host, svc, k};
            out.push_back(ClassDecision{svc, k, evaluate(policy, req)});
        }
    }
    return out;
}

bool recorded_anywhere(const std::vector<ClassDecision>& classes) {
    return std::any_of(classes.begin(), classes.end(), [](const ClassDecision& c) { return c.decision.recorded; });
}

}  // namespace tlog::policy
