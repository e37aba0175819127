// Viewers' access entries from the directory (ldap_access.h), resolved
// with the same directory reader as the recording rules.
#include <algorithm>
#include <cctype>

#include "ldap_client.h"
#include "ldap_directory.h"
#include "tlog/policy/ldap_access.h"

namespace tlog::policy {
namespace {

using ldapc::Connection;
using ldapc::Directory;
using ldapc::Entry;
using ldapc::Malformed;
using ldapc::normalize_dn;
using ldapc::rdn_value;
using ldapc::Scope;

void add_unique(std::vector<std::string>& v, const std::string& x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

class AccessReader {
public:
    AccessReader(const LdapConfig& c, Connection& conn) : c_(c), conn_(conn), dir_(c, conn) {}

    LdapAccess read() {
        LdapAccess out;
        out.server = conn_.uri();
        ldapc::require_visible(conn_, c_.access_base, "access base");
        auto entries = conn_.search(c_.access_base, Scope::Sub, "(objectClass=tlogViewerAccess)", access_attributes());
        bool need_groups = false, need_hostgroups = false;
        for (const auto& e : entries) {
            need_groups |= e.get("memberuser") || e.get("tlogviewer");
            need_hostgroups |= e.get("memberhost") != nullptr;
        }
        if (need_groups) dir_.load_groups();
        if (need_hostgroups) dir_.load_hostgroups();
        std::sort(entries.begin(), entries.end(),
                  [](const Entry& a, const Entry& b) { return a.first("cn") < b.first("cn"); });
        for (const auto& e : entries) {
            try {
                if (!ldapc::flag(e, "ipaenabledflag", true)) continue;
                out.entries.push_back(to_entry(e));
            } catch (const Malformed& m) {
                out.skipped.push_back(e.dn + ": attribute '" + m.attr + "': " + m.why + "; entry skipped");
            }
        }
        for (auto& w : warnings_) out.skipped.push_back(std::move(w));
        return out;
    }

private:
    void unknown(const Entry& e, const char* attr, const std::string& dn, const char* what) {
        warnings_.push_back(e.dn + ": attribute '" + attr + "': '" + dn + "' is " + what +
                            " the directory knows; ignored");
    }

    ViewerAccessEntry to_entry(const Entry& e) {
        ViewerAccessEntry a;
        a.dn = e.dn;
        a.name = e.first("cn");
        if (a.name.empty()) throw Malformed{"cn", "missing"};
        if (const auto* v = e.get("tlogviewer")) {
            for (const auto& dn : *v) {
                const std::string n = normalize_dn(dn);
                if (dir_.is_group(n)) {
                    std::map<std::string, GroupInfo> infos;
                    dir_.user_group(n, a.viewer_groups, infos);
                    for (const auto& u : dir_.group_users(n)) add_unique(a.viewer_users, u);
                } else if (auto u = dir_.user_name(n); !u.empty()) {
                    add_unique(a.viewer_users, u);
                } else {
                    unknown(e, "tlogViewer", dn, "neither a user nor a group");
                }
            }
        }
        if (a.viewer_users.empty() && a.viewer_groups.empty())
            throw Malformed{"tlogViewer", "no user or group the directory knows: the entry would give nobody access"};
        if (const auto* v = e.get("tlogaccessright")) {
            for (auto r : *v) {
                std::transform(r.begin(), r.end(), r.begin(), [](unsigned char ch) { return std::tolower(ch); });
                add_unique(a.rights, r);
            }
        }
        if (a.rights.empty()) throw Malformed{"tlogAccessRight", "missing: the entry gives no right"};
        a.all_users = ldapc::is_all(e, "usercategory");
        if (!a.all_users)
            if (const auto* v = e.get("memberuser"))
                for (const auto& dn : *v) {
                    const std::string n = normalize_dn(dn);
                    if (dir_.is_group(n)) {
                        std::map<std::string, GroupInfo> infos;
                        dir_.user_group(n, a.groups, infos);
                    } else if (auto u = dir_.user_name(n); !u.empty()) {
                        add_unique(a.users, u);
                    } else {
                        unknown(e, "memberUser", dn, "neither a user nor a group");
                    }
                }
        if (!a.all_users && a.users.empty() && a.groups.empty())
            throw Malformed{"memberUser",
                            "no recorded user (memberUser, or userCategory: all): the entry covers "
                            "no recording"};
        a.all_hosts = ldapc::is_all(e, "hostcategory");
        if (!a.all_hosts)
            if (const auto* v = e.get("memberhost"))
                for (const auto& dn : *v) {
                    const std::string n = normalize_dn(dn);
                    if (dir_.is_hostgroup(n)) {
                        for (const auto& h : dir_.hostgroup_hosts(n)) add_unique(a.hosts, h);
                    } else if (auto h = rdn_value(dn); !h.empty()) {
                        add_unique(a.hosts, h);
                    }
                }
        if (!a.all_hosts && a.hosts.empty())
            throw Malformed{"memberHost", "no host (memberHost, or hostCategory: all): the entry covers no recording"};
        return a;
    }

    const LdapConfig& c_;
    Connection& conn_;
    Directory dir_;
    std::vector<std::string> warnings_;
};

}  // namespace

const std::vector<std::string>& access_attributes() {
    static const std::vector<std::string> attrs = {"cn",         "ipaEnabledFlag", "tlogViewer", "tlogAccessRight",
                                                   "memberUser", "userCategory",   "memberHost", "hostCategory",
                                                   "description"};
    return attrs;
}

LdapAccess fetch_ldap_access(const LdapConfig& config) {
    return ldapc::read_first_answering(config, [&](Connection& conn) { return AccessReader(config, conn).read(); });
}

}  // namespace tlog::policy
