#include "tlog/policy/identity.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>

namespace tlog::policy {

std::optional<Subject> lookup_subject(const std::string& who) {
    std::vector<char> buf(16384);
    struct passwd pw {};
    struct passwd* res = nullptr;
    const bool numeric = !who.empty() && std::all_of(who.begin(), who.end(), ::isdigit);
    for (;;) {
        int rc = numeric ? getpwuid_r(static_cast<uid_t>(std::stoul(who)), &pw, buf.data(), buf.size(), &res)
                         : getpwnam_r(who.c_str(), &pw, buf.data(), buf.size(), &res);
        if (rc == ERANGE && buf.size() < (1u << 24)) {
            buf.resize(buf.size() * 2);
            continue;
        }
        if (rc != 0 || !res) return std::nullopt;
        break;
    }
    Subject s;
    s.name = pw.pw_name;
    s.uid = pw.pw_uid;
    s.gid = pw.pw_gid;
    std::vector<gid_t> gids(64);
    for (;;) {
        const int cap = static_cast<int>(gids.size());
        int n = cap;
        if (getgrouplist(pw.pw_name, pw.pw_gid, gids.data(), &n) >= 0) {
            gids.resize(n);
            break;
        }
        gids.resize(std::max(n, cap * 2));
    }
    std::vector<char> gbuf(16384);
    for (gid_t g : gids) {
        struct group gr {};
        struct group* gres = nullptr;
        int rc;
        while ((rc = getgrgid_r(g, &gr, gbuf.data(), gbuf.size(), &gres)) == ERANGE && gbuf.size() < (1u << 24))
            gbuf.resize(gbuf.size() * 2);
        if (rc == 0 && gres) s.groups.emplace_back(gr.gr_name);
    }
    return s;
}

std::optional<GroupInfo> lookup_group(const std::string& name) {
    std::vector<char> buf(16384);
    struct group gr {};
    struct group* res = nullptr;
    int rc;
    while ((rc = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &res)) == ERANGE && buf.size() < (1u << 26))
        buf.resize(buf.size() * 2);
    if (rc != 0 || !res) return std::nullopt;
    GroupInfo g;
    g.gid = gr.gr_gid;
    for (char** m = gr.gr_mem; m && *m; ++m) g.members.emplace_back(*m);
    return g;
}

std::string local_hostname() {
    char h[HOST_NAME_MAX + 1] = {};
    if (gethostname(h, sizeof h - 1) != 0) return "localhost";
    return h;
}

}  // namespace tlog::policy
