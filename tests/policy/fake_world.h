// A small made-up user and group database for policy tests, so that the
// expected answers do not depend on the machine's /etc files.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tlog/policy/cache_writer.h"
#include "tlog/policy/evaluator.h"

struct FakeUser {
    std::string name;
    uid_t uid;
    gid_t gid;
};

struct FakeGroup {
    std::string name;
    gid_t gid;
    std::vector<std::string> members;  // supplementary members
};

struct FakeWorld {
    std::vector<FakeUser> users;
    std::vector<FakeGroup> groups;

    tlog::policy::GroupResolver resolver() const {
        return [this](const std::string& name) -> std::optional<tlog::policy::GroupInfo> {
            for (const auto& g : groups)
                if (g.name == name) return tlog::policy::GroupInfo{g.gid, g.members};
            return std::nullopt;
        };
    }

    // What getgrouplist(3) would give: the primary group and every group
    // listing the user as a member.
    tlog::policy::Subject subject(const FakeUser& u) const {
        tlog::policy::Subject s;
        s.name = u.name;
        s.uid = u.uid;
        s.gid = u.gid;
        for (const auto& g : groups)
            if (g.gid == u.gid || std::find(g.members.begin(), g.members.end(), u.name) != g.members.end())
                s.groups.push_back(g.name);
        return s;
    }
};
