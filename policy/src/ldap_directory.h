// What the directory's entries refer to, read once per sync: users and
// their (nested) groups, host groups, HBAC service groups. Shared by the
// recording rules (ldap_source.cc) and the viewers' access entries
// (ldap_access.cc), so both resolve a DN the same way. Private to
// libtlogpolicy-ldap.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ldap_client.h"
#include "tlog/policy/identity.h"

namespace tlog::policy::ldapc {

// An entry that cannot be used: skipped, with its DN and attribute in the log.
struct Malformed {
    std::string attr, why;
};

// Single-valued TRUE/FALSE; `dflt` when absent.
bool flag(const Entry& e, const std::string& attr, bool dflt);
// A number from 0 to `max`; nullopt when absent.
std::optional<uint64_t> number(const Entry& e, const std::string& attr, uint64_t max);
// `attr: all` (userCategory, hostCategory, serviceCategory); false when absent.
bool is_all(const Entry& e, const std::string& attr);

class Directory {
public:
    Directory(const LdapConfig& c, Connection& conn) : c_(c), conn_(conn) {}

    // Each loads one subtree; call those the entries refer to.
    void load_groups();  // users and user groups
    void load_hostgroups() { load_plain_groups(c_.hostgroups_base, hostgroups_); }
    void load_servicegroups() { load_plain_groups(c_.servicegroups_base, servicegroups_); }

    // By normalized DN (normalize_dn).
    bool is_group(const std::string& ndn) const { return groups_.count(ndn) != 0; }
    bool is_hostgroup(const std::string& ndn) const { return hostgroups_.count(ndn) != 0; }
    bool is_servicegroup(const std::string& ndn) const { return servicegroups_.count(ndn) != 0; }

    // A user's name (uid) from its DN; "" if the DN is no user.
    std::string user_name(const std::string& ndn) const;
    // A group, and every group nested in it, as the names a rule lists (a
    // user whose primary group is a nested one matches); each one's gid
    // and member users (nested members included) go to `infos`.
    void user_group(const std::string& ndn, std::vector<std::string>& names,
                    std::map<std::string, GroupInfo>& infos) const;
    // Every member user of a group, nested members included.
    std::vector<std::string> group_users(const std::string& ndn) const;
    // The host names of a host group, nested groups flattened.
    std::vector<std::string> hostgroup_hosts(const std::string& ndn) const { return leaves(hostgroups_, ndn); }
    std::vector<std::string> servicegroup_services(const std::string& ndn) const { return leaves(servicegroups_, ndn); }

private:
    struct Group {
        std::string dn, cn;
        bool has_gid = false;
        gid_t gid = 0;
        std::vector<std::string> members;      // member DNs (normalized)
        std::vector<std::string> member_uids;  // memberUid values (RFC 2307)
    };
    void load_plain_groups(const std::string& base, std::map<std::string, Group>& into);
    static std::vector<const Group*> closure(const std::map<std::string, Group>& groups, const std::string& dn);
    static std::vector<std::string> leaves(const std::map<std::string, Group>& groups, const std::string& ndn);

    const LdapConfig& c_;
    Connection& conn_;
    std::map<std::string, Group> groups_, hostgroups_, servicegroups_;  // by normalized DN
    std::map<std::string, std::string> user_uid_;                       // normalized user DN -> uid
    std::map<std::string, std::vector<std::string>> member_of_;         // group DN -> uids (memberOf)
};

}  // namespace tlog::policy::ldapc
