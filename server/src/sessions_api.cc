// GET /api/v1/sessions and GET /api/v1/audit: parameters to queries
// (each filter one entry of a table), cursors, responses; host groups
// (configuration globs and NSS netgroups) and users' groups (NSS).
#include "tlog/server/sessions_api.h"

#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <functional>
#include <iostream>

#include "index_http.h"
#include "tlog/error.h"
#include "tlog/hex.h"
#include "tlog/json.h"

namespace tlog::server {

namespace {

[[noreturn]] void bad(const std::string& param, const std::string& what) { throw InputError({"", 0, 0, param}, what); }

uint64_t uint_value(const std::string& name, const std::string& v, uint64_t max) {
    auto n = json::Value::make_number(v).as_uint();
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || !n || *n > max) {
        bad(name, "not an unsigned integer up to " + std::to_string(max) + ": " + json::quote(v));
    }
    return *n;
}

std::string hex_json(const json::Value& v) {
    auto text = json::dump(v);
    return hex::encode(text.data(), text.size());
}

// A cursor's JSON array; nullopt when it is not one.
std::optional<json::Value> cursor_array(const std::string& text) {
    if (text.size() % 2 != 0) {
        return std::nullopt;
    }
    std::string raw;
    for (size_t i = 0; i + 1 < text.size(); i += 2) {
        int hi = hex::digit_value(text[i]);
        int lo = hex::digit_value(text[i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        raw += static_cast<char>((hi << 4) | lo);
    }
    try {
        auto a = json::parse(raw, "cursor");
        if (a.is_array()) {
            return a;
        }
    } catch (const std::exception&) {
        // Not this server's cursor: reported by the caller.
    }
    return std::nullopt;
}

struct SortName {
    const char* name;
    SessionQuery::Sort sort;
    bool descending;
};
constexpr SortName sorts[] = {
    {"start", SessionQuery::Sort::Start, false},       {"-start", SessionQuery::Sort::Start, true},
    {"end", SessionQuery::Sort::End, false},           {"-end", SessionQuery::Sort::End, true},
    {"duration", SessionQuery::Sort::Duration, false}, {"-duration", SessionQuery::Sort::Duration, true},
    {"bytes", SessionQuery::Sort::Bytes, false},       {"-bytes", SessionQuery::Sort::Bytes, true},
};

const char* sort_name(const SessionQuery& q) {
    for (const auto& s : sorts) {
        if (s.sort == q.sort && s.descending == q.descending) {
            return s.name;
        }
    }
    return "start";
}

uint64_t sort_value(const Session& s, SessionQuery::Sort sort) {
    switch (sort) {
        case SessionQuery::Sort::End: return s.end_ms;
        case SessionQuery::Sort::Duration: return s.end_ms - s.start_ms;
        case SessionQuery::Sort::Bytes: return s.bytes;
        case SessionQuery::Sort::Start: break;
    }
    return s.start_ms;
}

// The hosts of an NSS netgroup (with SSSD: a FreeIPA host group). glibc's
// enumeration keeps its state per process: one at a time. A member with
// no host (a wildcard) matches every host, as innetgr(3) would.
std::mutex netgroup_mu;
void netgroup_hosts(const std::string& group, SessionQuery& q) {
    std::lock_guard<std::mutex> g(netgroup_mu);
    if (setnetgrent(group.c_str()) == 0) {
        endnetgrent();
        return;  // unknown or empty: no member
    }
    char buf[4096];
    char* host = nullptr;
    char* user = nullptr;
    char* domain = nullptr;
    while (getnetgrent_r(&host, &user, &domain, buf, sizeof buf) == 1) {
        if (host == nullptr || *host == '\0') {
            q.host_globs.emplace_back("*");
        } else {
            q.hosts.emplace_back(host);
        }
    }
    endnetgrent();
}

using Apply = std::function<void(SessionQuery&, const std::string&, const SearchSettings&)>;

// Every parameter of GET /api/v1/sessions, each how it sets the query. A
// new filter is one entry here (and, when it needs its own SQL, a
// SessionQuery::conditions entry: integrity=, text=).
const std::map<std::string, Apply>& session_params() {
    static const std::map<std::string, Apply> table = {
        {"user", [](SessionQuery& q, const std::string& v, const SearchSettings&) { q.user = v; }},
        {"group", [](SessionQuery& q, const std::string& v, const SearchSettings&) { q.group = v; }},
        {"host", [](SessionQuery& q, const std::string& v, const SearchSettings&) { q.host = v; }},
        {"host_group",
         [](SessionQuery& q, const std::string& v, const SearchSettings& s) {
             auto it = s.host_groups.find(v);
             if (it == s.host_groups.end()) {
                 bad("host_group", "no host group " + json::quote(v) + " in the server's configuration");
             }
             q.host_group = true;
             for (const auto& m : it->second) {
                 if (!m.empty() && m[0] == '@') {
                     netgroup_hosts(m.substr(1), q);
                 } else {
                     q.host_globs.push_back(m);
                 }
             }
         }},
        {"service", [](SessionQuery& q, const std::string& v, const SearchSettings&) { q.service = v; }},
        {"tty", [](SessionQuery& q, const std::string& v, const SearchSettings&) { q.tty = v; }},
        {"rhost", [](SessionQuery& q, const std::string& v, const SearchSettings&) { q.rhost = v; }},
        {"ses",
         [](SessionQuery& q, const std::string& v, const SearchSettings&) { q.ses = uint_value("ses", v, INT64_MAX); }},
        {"since",
         [](SessionQuery& q, const std::string& v, const SearchSettings&) { q.since_ms = time_value("since", v); }},
        {"until",
         [](SessionQuery& q, const std::string& v, const SearchSettings&) { q.until_ms = time_value("until", v); }},
        {"time",
         [](SessionQuery& q, const std::string& v, const SearchSettings&) {
             if (v == "overlap") {
                 q.time = SessionQuery::Time::Overlap;
             } else if (v == "start") {
                 q.time = SessionQuery::Time::Start;
             } else if (v == "end") {
                 q.time = SessionQuery::Time::End;
             } else {
                 bad("time", "expected start, end or overlap, not " + json::quote(v));
             }
         }},
        {"state",
         [](SessionQuery& q, const std::string& v, const SearchSettings&) {
             if (v != "live" && v != "ended" && v != "interrupted") {
                 bad("state", "expected live, ended or interrupted, not " + json::quote(v));
             }
             q.state = v;
         }},
        {"integrity", [](SessionQuery& q, const std::string& v,
                         const SearchSettings&) { q.conditions.push_back(integrity_condition(v)); }},
        {"text", [](SessionQuery& q, const std::string& v,
                    const SearchSettings&) { q.conditions.push_back(text_condition(v)); }},
        {"failed_auth",
         [](SessionQuery& q, const std::string& v, const SearchSettings&) {
             if (v != "1" && v != "0") {
                 bad("failed_auth",
                     "expected 1 (only sessions preceded by failed authentications) or 0, not " + json::quote(v));
             }
             q.failed_auth = v == "1";
         }},
        {"sort",
         [](SessionQuery& q, const std::string& v, const SearchSettings&) {
             for (const auto& s : sorts) {
                 if (v == s.name) {
                     q.sort = s.sort;
                     q.descending = s.descending;
                     return;
                 }
             }
             bad("sort", "expected start, end, duration or bytes, each optionally after '-', not " + json::quote(v));
         }},
        {"limit", [](SessionQuery& q, const std::string& v,
                     const SearchSettings&) { q.limit = std::clamp<uint64_t>(uint_value("limit", v, 1000), 1, 1000); }},
        {"cursor", [](SessionQuery&, const std::string&, const SearchSettings&) {}},  // read once the sort is known
    };
    return table;
}

}  // namespace

uint64_t time_value(const std::string& name, const std::string& v) {
    std::tm tm{};
    const char* end = strptime(v.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end != nullptr && *end == '\0') {
        return static_cast<uint64_t>(timegm(&tm)) * 1000;
    }
    auto d = json::Value::make_number(v).as_double();
    if (v.empty() || v.find_first_not_of("0123456789.") != std::string::npos || !d || *d > 9.2e15) {
        bad(name, "not a time (seconds since the epoch or YYYY-MM-DDTHH:MM:SSZ): " + json::quote(v));
    }
    return static_cast<uint64_t>(*d * 1000.0);
}

SessionQuery session_query(const QueryParams& params, const SearchSettings& settings, uint64_t now_ms) {
    SessionQuery q;
    q.now_ms = now_ms;
    q.idle_ms = settings.interrupted_after_s * 1000;
    const auto& table = session_params();
    std::set<std::string> seen;
    for (const auto& [name, value] : params) {
        auto it = table.find(name);
        if (it == table.end()) {
            bad(name, "unknown parameter");
        }
        if (!seen.insert(name).second) {
            bad(name, "given twice");
        }
        it->second(q, value, settings);
    }
    if (auto c = params.find("cursor"); c != params.end()) {
        auto a = cursor_array(c->second);
        const auto* it = a ? &a->items() : nullptr;
        if (it == nullptr || it->size() != 4 || !(*it)[0].is_string() || !(*it)[1].as_uint() || !(*it)[2].is_string() ||
            !(*it)[3].is_string()) {
            bad("cursor", "not a cursor this server returned");
        }
        if ((*it)[0].as_string() != sort_name(q)) {
            bad("cursor", "a cursor of sort=" + (*it)[0].as_string() + ", not of sort=" + sort_name(q));
        }
        q.after = {*(*it)[1].as_uint(), (*it)[2].as_string(), (*it)[3].as_string()};
    }
    return q;
}

std::string sessions_response(const std::vector<Session>& rows, const SessionQuery& q) {
    auto arr = json::Value::make_array();
    for (const auto& s : rows) {
        auto o = json::Value::make_object();
        o.set("rec", json::Value::make_string(s.rec));
        o.set("host", json::Value::make_string(s.host));
        o.set("user", json::Value::make_string(s.user));
        o.set("term", json::Value::make_string(s.term));
        o.set("session", json::Value::make_uint(s.session));
        o.set("first_id", json::Value::make_uint(s.first_id));
        o.set("last_id", json::Value::make_uint(s.last_id));
        o.set("start_ms", json::Value::make_uint(s.start_ms));
        o.set("end_ms", json::Value::make_uint(s.end_ms));
        o.set("duration_ms", json::Value::make_uint(s.end_ms - s.start_ms));
        o.set("messages", json::Value::make_uint(s.messages));
        o.set("bytes", json::Value::make_uint(s.bytes));
        o.set("gaps", json::Value::make_uint(s.gaps));
        o.set("state", json::Value::make_string(s.state));
        o.set("service", json::Value::make_string(s.service));
        o.set("tty", json::Value::make_string(s.tty));
        o.set("rhost", json::Value::make_string(s.rhost));
        o.set("ses", s.audit_session ? json::Value::make_uint(*s.audit_session) : json::Value::make_null());
        o.set("failed_auth", json::Value::make_uint(s.failed_auth));
        auto groups = json::Value::make_array();
        for (const auto& g : s.groups) {
            groups.items().push_back(json::Value::make_string(g));
        }
        o.set("groups", std::move(groups));
        o.set("integrity", integrity_json(s));
        arr.items().push_back(std::move(o));
    }
    auto out = json::Value::make_object();
    out.set("sessions", std::move(arr));
    if (rows.size() == q.limit && !rows.empty()) {
        const auto& last = rows.back();
        auto c = json::Value::make_array();
        c.items().push_back(json::Value::make_string(sort_name(q)));
        c.items().push_back(json::Value::make_uint(sort_value(last, q.sort)));
        c.items().push_back(json::Value::make_string(last.host));
        c.items().push_back(json::Value::make_string(last.rec));
        out.set("next_cursor", json::Value::make_string(hex_json(c)));
    } else {
        out.set("next_cursor", json::Value::make_null());
    }
    return json::dump(out) + "\n";
}

std::string audit_cursor(const AuditKey& k) {
    auto a = json::Value::make_array();
    a.items().push_back(json::Value::make_uint(k.time_ms));
    a.items().push_back(json::Value::make_uint(k.serial));
    a.items().push_back(json::Value::make_string(k.host));
    a.items().push_back(json::Value::make_string(k.type));
    return hex_json(a);
}

AuditKey read_audit_cursor(const std::string& text) {
    auto a = cursor_array(text);
    if (a) {
        const auto& it = a->items();
        if (it.size() == 4 && it[0].as_uint() && it[1].as_uint() && it[2].is_string() && it[3].is_string()) {
            return {*it[0].as_uint(), *it[1].as_uint(), it[2].as_string(), it[3].as_string()};
        }
    }
    bad("cursor", "not a cursor this server returned");
}

AuditQuery audit_query(const QueryParams& params) {
    AuditQuery q;
    std::set<std::string> seen;
    for (const auto& [name, v] : params) {
        if (!seen.insert(name).second) {
            bad(name, "given twice");
        }
        if (name == "host") {
            q.host = v;
        } else if (name == "user") {
            q.user = v;
        } else if (name == "type") {
            q.type = v;
        } else if (name == "rec") {
            q.rec = v;
        } else if (name == "ses") {
            q.ses = uint_value("ses", v, INT64_MAX);
        } else if (name == "since") {
            q.since_ms = time_value("since", v);
        } else if (name == "until") {
            q.until_ms = time_value("until", v);
        } else if (name == "limit") {
            q.limit = std::clamp<uint64_t>(uint_value("limit", v, 10000), 1, 10000);
        } else if (name == "cursor") {
            q.after = read_audit_cursor(v);
        } else {
            bad(name, "unknown parameter");
        }
    }
    return q;
}

std::vector<std::string> GroupResolver::lookup(const std::string& user) {
    // NSS may answer slowly (SSSD, LDAP): it runs on the request's thread,
    // outside the store's turn, so only this request waits.
    long size = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
    struct passwd pw {};
    struct passwd* found = nullptr;
    int rc = 0;
    while ((rc = getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found)) == ERANGE && buf.size() < (1U << 20)) {
        buf.resize(buf.size() * 2);
    }
    if (found == nullptr) {
        throw std::runtime_error(rc == 0 ? "no such user in the server's NSS"
                                         : std::string("getpwnam_r: ") + strerror(rc));
    }
    std::vector<gid_t> gids(64);
    int n = static_cast<int>(gids.size());
    if (getgrouplist(user.c_str(), pw.pw_gid, gids.data(), &n) < 0) {
        gids.resize(static_cast<size_t>(std::min(n, 65536)));
        n = static_cast<int>(gids.size());
        if (getgrouplist(user.c_str(), pw.pw_gid, gids.data(), &n) < 0) {
            throw std::runtime_error("getgrouplist failed");
        }
    }
    gids.resize(static_cast<size_t>(n));
    std::vector<std::string> out;
    std::vector<char> gbuf(16384);
    for (gid_t gid : gids) {
        struct group gr {};
        struct group* g = nullptr;
        while (getgrgid_r(gid, &gr, gbuf.data(), gbuf.size(), &g) == ERANGE && gbuf.size() < (1U << 22)) {
            gbuf.resize(gbuf.size() * 2);
        }
        // A group without a name is searchable by its number.
        out.emplace_back(g != nullptr ? std::string(g->gr_name) : std::to_string(gid));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<std::string> GroupResolver::groups_of_user(const std::string& user) {
    constexpr auto ttl = std::chrono::seconds(60);
    auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard<std::mutex> g(mu_);
        if (auto it = cache_.find(user); it != cache_.end() && now - it->second.at < ttl) return it->second.groups;
    }
    std::vector<std::string> groups;
    try {
        groups = lookup(user);
    } catch (const std::exception&) {
        return groups;  // unknown to NSS: no group, so no rule by group applies
    }
    std::lock_guard<std::mutex> g(mu_);
    if (cache_.size() >= 4096) cache_.clear();
    cache_[user] = {groups, now};
    return groups;
}

std::map<std::string, std::vector<std::string>> GroupResolver::groups_of(const CheckedBody& body) {
    std::map<std::string, std::vector<std::string>> out;
    if (!enabled_) {
        return out;
    }
    constexpr auto ttl = std::chrono::seconds(60);
    constexpr size_t max_cached = 4096;
    // A request's users: normally one or a few. Past this many, the rest
    // get no groups rather than holding the request for lookups.
    constexpr size_t max_lookups = 64;
    size_t lookups = 0;
    for (const auto& m : body.messages) {
        const std::string& user = m.meta.user;
        if (out.count(user) != 0) {
            continue;
        }
        auto now = std::chrono::steady_clock::now();
        {
            std::lock_guard<std::mutex> g(mu_);
            if (auto it = cache_.find(user); it != cache_.end() && now - it->second.at < ttl) {
                out[user] = it->second.groups;
                continue;
            }
        }
        std::vector<std::string> groups;
        std::string failure;
        if (user.empty() || user.size() > 256) {
            failure = "not a user name";
        } else if (++lookups > max_lookups) {
            failure = "more than " + std::to_string(max_lookups) + " users in one request";
        } else {
            try {
                groups = lookup(user);
            } catch (const std::exception& e) {
                failure = e.what();
            }
        }
        std::lock_guard<std::mutex> g(mu_);
        if (!failure.empty() && logged_.size() < max_cached && logged_.insert(user).second) {
            std::cerr << "tlog-server: the groups of user " << json::quote(user.substr(0, 256))
                      << " are not known (recorded without groups): " << failure << '\n';
        }
        if (cache_.size() >= max_cached) {
            cache_.clear();
        }
        cache_[user] = {groups, now};
        out[user] = std::move(groups);
    }
    return out;
}

}  // namespace tlog::server
