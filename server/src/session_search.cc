// The sessions search and what it indexes beyond the sessions table:
// per (host, rec) in session_info, what pam_tlog's start event says
// (service, tty, remote host, audit session, failed authentications
// before it), whether the audit trail saw the session close (USER_END),
// whether the message carrying `end` is stored, and the user's groups
// (session_groups). One SQL text for both backends (Store::sql_query's
// `?` placeholders); the audit events search too.
#include <algorithm>
#include <string>
#include <vector>

#include "store_backend.h"
#include "tlog/json.h"
#include "tlog/server/store.h"

namespace tlog::server {

namespace {

using V = SqlValue;

// pam_tlog's start event (op tlog-session-start) and a recording's
// messages arrive in any order: each side upserts its own columns. The
// first start event stored for a (host, rec) is kept, as the first copy of
// anything stored is: a second one naming the same recording (another
// serial: a replay, a forgery) changes nothing.
constexpr const char* upsert_start =
    "INSERT INTO session_info (host, rec, service, tty, rhost, ses, audit_start_ms, failed_auth) "
    "VALUES (?, ?, ?, ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT)) "
    "ON CONFLICT (host, rec) DO UPDATE SET service = excluded.service, tty = excluded.tty, "
    "rhost = excluded.rhost, ses = excluded.ses, audit_start_ms = excluded.audit_start_ms, "
    "failed_auth = excluded.failed_auth WHERE session_info.audit_start_ms IS NULL";

constexpr const char* set_failed_auth =
    "UPDATE sessions SET failed_auth = CAST(? AS BIGINT) WHERE host = ? AND rec = ?";

// The session's close as the audit trail records it: the first USER_END of
// its audit session at or after its start, stored before the start event.
constexpr const char* closed_before_start =
    "SELECT min(time_ms) FROM audit_events WHERE host = ? AND ses = CAST(? AS BIGINT) AND type = 'USER_END' "
    "AND time_ms >= CAST(? AS BIGINT)";
constexpr const char* set_closed =
    "UPDATE session_info SET closed_ms = CAST(? AS BIGINT) WHERE host = ? AND rec = ? AND closed_ms IS NULL";
// A USER_END stored after the start event: tlog-audit marks it with the
// rec when it saw the start; without rec, the (host, ses) of a start
// event before it (the latest: audit session ids restart at boot).
constexpr const char* close_by_rec =
    "UPDATE session_info SET closed_ms = CAST(? AS BIGINT) WHERE host = ? AND rec = ? AND closed_ms IS NULL "
    "AND audit_start_ms <= CAST(? AS BIGINT)";
constexpr const char* close_by_ses =
    "UPDATE session_info SET closed_ms = CAST(? AS BIGINT) WHERE host = ? AND ses = CAST(? AS BIGINT) "
    "AND closed_ms IS NULL AND audit_start_ms = (SELECT max(audit_start_ms) FROM session_info "
    "WHERE host = ? AND ses = CAST(? AS BIGINT) AND audit_start_ms <= CAST(? AS BIGINT))";

// The first transaction to see a session records its user's groups: the
// membership when the session was recorded, not when it is searched.
constexpr const char* claim_groups =
    "INSERT INTO session_info (host, rec, groups_done, groups) VALUES (?, ?, 1, ?) "
    "ON CONFLICT (host, rec) DO UPDATE SET groups_done = 1, groups = excluded.groups "
    "WHERE session_info.groups_done = 0";
constexpr const char* insert_group =
    "INSERT INTO session_groups (grp, host, rec) VALUES (?, ?, ?) ON CONFLICT DO NOTHING";
constexpr const char* mark_ended =
    "INSERT INTO session_info (host, rec, ended) VALUES (?, ?, 1) ON CONFLICT (host, rec) DO UPDATE SET ended = 1";

std::string json_array(const std::vector<std::string>& items) {
    auto a = json::Value::make_array();
    for (const auto& g : items) {
        a.items().push_back(json::Value::make_string(g));
    }
    return json::dump(a);
}

std::vector<std::string> parse_array(const std::string& text) {
    std::vector<std::string> out;
    try {
        auto a = json::parse(text, "groups");
        for (const auto& g : a.items()) {
            if (g.is_string()) {
                out.push_back(g.as_string());
            }
        }
    } catch (const std::exception&) {
        // Written by this file only; an unreadable value shows as no group.
    }
    return out;
}

uint64_t to_u64(const std::optional<std::string>& v) { return v ? std::strtoull(v->c_str(), nullptr, 10) : 0; }

}  // namespace

// A glob ('*' any run, '?' one character, everything else itself) as
// SQLite's GLOB or PostgreSQL's LIKE pattern: both case-sensitive.
std::string glob_pattern(const std::string& glob, bool postgres) {
    std::string out;
    for (char c : glob) {
        if (postgres) {
            if (c == '*') {
                out += '%';
            } else if (c == '?') {
                out += '_';
            } else if (c == '%' || c == '_' || c == '\\') {
                out += '\\';
                out += c;
            } else {
                out += c;
            }
        } else {
            out += c == '[' ? std::string("[[]") : std::string(1, c);
        }
    }
    return out;
}

namespace {}  // namespace

void Store::record_session_info() {
    if (user_groups_ != nullptr) {
        for (const auto& [key, p] : pending_) {
            const Session& s = p.session;
            // Known recorded (this instance's earlier commits): no statement
            // per request of a long recording; nothing new: nothing to record.
            if (s.messages == 0 || groups_recorded_.count(key) != 0) {
                continue;
            }
            claimed_.push_back(key);
            auto it = user_groups_->find(s.user);
            std::vector<std::string> groups = it != user_groups_->end() ? it->second : std::vector<std::string>();
            if (sql_exec(claim_groups, {V::str(s.host), V::str(s.rec), V::str(json_array(groups))}) == 0) {
                continue;  // recorded by an earlier transaction
            }
            for (const auto& g : groups) {
                sql_exec(insert_group, {V::str(g), V::str(s.host), V::str(s.rec)});
            }
        }
    }
    for (const auto& [host, rec] : ended_) {
        sql_exec(mark_ended, {V::str(host), V::str(rec)});
    }
}

void Store::note_committed() {
    constexpr size_t bound = 65536;  // recordings being received at once, with room
    for (auto& key : claimed_) {
        if (groups_recorded_.size() >= bound) {
            groups_recorded_.clear();
        }
        groups_recorded_.insert(std::move(key));
    }
    claimed_.clear();
}

void Store::record_audit_info(const AuditMeta& m) {
    if (m.session_start) {
        if (sql_exec(upsert_start, {V::str(m.host), V::str(m.rec), V::str(m.service), V::str(m.tty), V::str(m.rhost),
                                    V::integer(*m.ses), V::integer(m.time_ms), V::integer(m.failed_auth_before)}) ==
            0) {
            return;  // not the first start event of this recording
        }
        auto rows = sql_query(closed_before_start, {V::str(m.host), V::integer(*m.ses), V::integer(m.time_ms)});
        if (!rows.empty() && rows[0][0]) {
            sql_exec(set_closed, {V::integer(to_u64(rows[0][0])), V::str(m.host), V::str(m.rec)});
        }
        if (m.failed_auth_before > 0) {
            // The search reads the flag from sessions. Either the session's
            // row is committed before the lock is granted, and updated here,
            // or it is merged after this transaction, from session_info.
            hold_recording(m.host, m.rec);
            sql_exec(set_failed_auth, {V::integer(m.failed_auth_before), V::str(m.host), V::str(m.rec)});
        }
        return;
    }
    if (m.type != "USER_END" || !m.ses) {
        return;
    }
    if (!m.rec.empty()) {
        sql_exec(close_by_rec, {V::integer(m.time_ms), V::str(m.host), V::str(m.rec), V::integer(m.time_ms)});
    } else {
        sql_exec(close_by_ses, {V::integer(m.time_ms), V::str(m.host), V::integer(*m.ses), V::str(m.host),
                                V::integer(*m.ses), V::integer(m.time_ms)});
    }
}

namespace {

// A WHERE clause built from conditions, each with its parameters in order.
class Where {
public:
    void add(const std::string& clause, std::vector<SqlValue> params = {}) {
        text_ += text_.empty() ? " WHERE " : " AND ";
        text_ += clause;
        for (auto& p : params) {
            params_.push_back(std::move(p));
        }
    }
    const std::string& text() const { return text_; }
    std::vector<SqlValue>& params() { return params_; }

private:
    std::string text_;
    std::vector<SqlValue> params_;
};

const char* sort_key(SessionQuery::Sort s) {
    switch (s) {
        case SessionQuery::Sort::End: return "s.end_ms";
        case SessionQuery::Sort::Duration: return "(s.end_ms - s.start_ms)";
        case SessionQuery::Sort::Bytes: return "s.bytes";
        case SessionQuery::Sort::Start: break;
    }
    return "s.start_ms";
}

}  // namespace

std::vector<Session> Store::sessions(const SessionQuery& q) {
    const bool pg = is_postgres();
    Where w;
    // Each filter adds its condition; SessionQuery::conditions are the
    // callers' own (a filter over another table, by EXISTS).
    if (!q.user.empty()) {
        w.add("s.\"user\" = ?", {V::str(q.user)});
    }
    if (!q.host.empty()) {
        w.add("s.host = ?", {V::str(q.host)});
    }
    if (q.host_group) {
        std::string any;
        std::vector<SqlValue> params;
        for (const auto& g : q.host_globs) {
            any += any.empty() ? "" : " OR ";
            // SQLite: '+' keeps the planner off the host index (a glob's
            // prefix is a range of it), which without statistics it took
            // over the sort's index: every session of the group read and
            // sorted for one page (bench/README.md, "server").
            any += pg ? "s.host LIKE ?" : "+s.host GLOB ?";
            params.push_back(V::str(glob_pattern(g, pg)));
        }
        if (!q.hosts.empty()) {
            any += any.empty() ? "s.host IN (" : " OR s.host IN (";
            for (size_t i = 0; i < q.hosts.size(); ++i) {
                any += i == 0 ? "?" : ", ?";
                params.push_back(V::str(q.hosts[i]));
            }
            any += ")";
        }
        w.add(any.empty() ? std::string("1 = 0") : "(" + any + ")", std::move(params));
    }
    // Filters on other tables are scalar subqueries of the session's row
    // (`(SELECT 1 ...) IS [NOT] NULL`), which neither database turns into
    // a join: both then read sessions in the sort's index order and stop at
    // the page's end. As joins (EXISTS, or a condition on the LEFT JOIN's
    // columns) PostgreSQL hashed the whole of both tables and sorted (0.3 to
    // 0.6 s over a million sessions) and SQLite started from session_info
    // and sorted (bench/README.md, "server").
    auto info = [](const std::string& cond) {
        return "(SELECT 1 FROM session_info x WHERE x.host = s.host AND x.rec = s.rec AND " + cond + ")";
    };
    if (!q.group.empty()) {
        w.add("(SELECT 1 FROM session_groups g WHERE g.grp = ? AND g.host = s.host AND g.rec = s.rec) IS NOT NULL",
              {V::str(q.group)});
    }
    if (!q.service.empty()) {
        w.add(info("x.service = ?") + " IS NOT NULL", {V::str(q.service)});
    }
    if (!q.tty.empty()) {
        w.add(info("x.tty = ?") + " IS NOT NULL", {V::str(q.tty)});
    }
    if (!q.rhost.empty()) {
        w.add(info("x.rhost = ?") + " IS NOT NULL", {V::str(q.rhost)});
    }
    if (q.ses) {
        w.add(info("x.ses = CAST(? AS BIGINT)") + " IS NOT NULL", {V::integer(*q.ses)});
    }
    const char* lo = q.time == SessionQuery::Time::Start ? "s.start_ms" : "s.end_ms";
    const char* hi = q.time == SessionQuery::Time::End ? "s.end_ms" : "s.start_ms";
    if (q.since_ms) {
        w.add(std::string(lo) + " >= CAST(? AS BIGINT)", {V::integer(*q.since_ms)});
    }
    // A session that ends at or after T started at or after T minus the
    // longest session stored: implied, so the result is the same, but it
    // gives the start index a lower bound (otherwise a search of the last
    // day reads the sessions of every day before it).
    auto started_after_end_bound = [&](uint64_t t) {
        auto longest = sql_query("SELECT max(end_ms - start_ms) FROM sessions", {});
        uint64_t d = !longest.empty() && longest[0][0] ? to_u64(longest[0][0]) : 0;
        w.add("s.start_ms >= CAST(? AS BIGINT)", {V::integer(t > d ? t - d : 0)});
    };
    if (q.since_ms && q.time != SessionQuery::Time::Start) {
        started_after_end_bound(*q.since_ms);
    }
    if (q.until_ms && q.time == SessionQuery::Time::End) {
        w.add("s.start_ms <= CAST(? AS BIGINT)", {V::integer(*q.until_ms)});  // implied too
    }
    if (q.until_ms) {
        w.add(std::string(hi) + " <= CAST(? AS BIGINT)", {V::integer(*q.until_ms)});
    }
    // Failed authentications and whether the session ended are copied into
    // sessions (schema version 8), each with an index per sort over the
    // few sessions it selects (those with failed authentications; those
    // not ended, live or interrupted): a page reads those index entries,
    // not the sort's index of every session with a probe of session_info
    // each (bench/README.md, "server"). The conditions are written as the
    // indexes' own (`failed_auth > 0`, `ended = 0`), constants and not
    // parameters, so that both planners see that the indexes apply.
    if (q.failed_auth) {
        w.add("s.failed_auth > 0");
    }
    // Not ended and idle longer than idle_ms: interrupted (idle_ms 0: only
    // the audit trail's close interrupts).
    uint64_t cut = q.idle_ms != 0 && q.now_ms > q.idle_ms ? q.now_ms - q.idle_ms : 0;
    if (q.state == "ended") {
        w.add("s.ended = 1");
    } else if (q.state == "live") {
        w.add("s.ended = 0 AND " + info("x.closed_ms IS NOT NULL") + " IS NULL AND s.end_ms >= CAST(? AS BIGINT)",
              {V::integer(cut)});
        if (!q.since_ms || *q.since_ms < cut) {
            started_after_end_bound(cut);
        }
    } else if (q.state == "interrupted") {
        w.add("s.ended = 0 AND (" + info("x.closed_ms IS NOT NULL") + " IS NOT NULL OR s.end_ms < CAST(? AS BIGINT))",
              {V::integer(cut)});
    }
    for (const auto& c : q.conditions) {
        bool pg = is_postgres() && !c.pg_sql.empty();
        w.add("(" + (pg ? c.pg_sql : c.sql) + ")", pg ? c.pg_params : c.params);
    }
    const std::string key = sort_key(q.sort);
    const char* dir = q.descending ? " DESC" : "";
    if (q.after) {
        w.add("(" + key + ", s.host, s.rec) " + (q.descending ? "<" : ">") + " (CAST(? AS BIGINT), ?, ?)",
              {V::integer(std::get<0>(*q.after)), V::str(std::get<1>(*q.after)), V::str(std::get<2>(*q.after))});
    }
    std::string sql =
        "SELECT s.host, s.rec, s.\"user\", s.term, s.session, s.first_id, s.last_id, s.start_ms, s.end_ms, "
        "s.messages, s.bytes, i.service, i.tty, i.rhost, i.ses, i.failed_auth, i.groups, i.ended, i.closed_ms, "
        "ix.verdict, ix.label, ix.first_bad_id, ix.indexed_through "
        "FROM sessions s LEFT JOIN session_info i ON i.host = s.host AND i.rec = s.rec "
        "LEFT JOIN session_index ix ON ix.host = s.host AND ix.rec = s.rec" +
        w.text() + " ORDER BY " + key + dir + ", s.host" + dir + ", s.rec" + dir + " LIMIT CAST(? AS BIGINT)";
    w.params().push_back(V::integer(q.limit));
    auto rows = sql_query(sql, w.params());
    std::vector<Session> out;
    out.reserve(rows.size());
    for (auto& r : rows) {
        Session x;
        x.host = r[0].value_or("");
        x.rec = r[1].value_or("");
        x.user = r[2].value_or("");
        x.term = r[3].value_or("");
        x.session = to_u64(r[4]);
        x.first_id = to_u64(r[5]);
        x.last_id = to_u64(r[6]);
        x.start_ms = to_u64(r[7]);
        x.end_ms = to_u64(r[8]);
        x.messages = to_u64(r[9]);
        x.bytes = to_u64(r[10]);
        x.gaps = x.last_id >= x.messages ? x.last_id - x.messages : 0;
        x.service = r[11].value_or("");
        x.tty = r[12].value_or("");
        x.rhost = r[13].value_or("");
        if (r[14]) {
            x.audit_session = to_u64(r[14]);
        }
        x.failed_auth = to_u64(r[15]);
        if (r[16]) {
            x.groups = parse_array(*r[16]);
        }
        bool ended = to_u64(r[17]) == 1;
        bool closed = r[18].has_value();
        x.state = ended ? "ended" : (closed || x.end_ms < cut ? "interrupted" : "live");
        if (r[19]) {
            x.integrity = *r[19];
            x.integrity_label = r[20].value_or("");
            x.first_bad_id = to_u64(r[21]);
            x.indexed_through = to_u64(r[22]);
        }
        out.push_back(std::move(x));
    }
    return out;
}

std::vector<AuditEvent> Store::search_audit(const AuditQuery& q) {
    Where w;
    if (!q.host.empty()) {
        w.add("host = ?", {V::str(q.host)});
    }
    if (!q.user.empty()) {
        w.add("audit_user = ?", {V::str(q.user)});
    }
    if (!q.type.empty()) {
        w.add("type = ?", {V::str(q.type)});
    }
    if (!q.rec.empty()) {
        w.add("rec = ?", {V::str(q.rec)});
    }
    if (q.ses) {
        w.add("ses = CAST(? AS BIGINT)", {V::integer(*q.ses)});
    }
    if (q.since_ms) {
        w.add("time_ms >= CAST(? AS BIGINT)", {V::integer(*q.since_ms)});
    }
    if (q.until_ms) {
        w.add("time_ms <= CAST(? AS BIGINT)", {V::integer(*q.until_ms)});
    }
    for (const auto& c : q.conditions) {
        bool pg = is_postgres() && !c.pg_sql.empty();
        w.add("(" + (pg ? c.pg_sql : c.sql) + ")", pg ? c.pg_params : c.params);
    }
    if (q.after) {
        w.add(
            "(time_ms, serial, host, type) > (CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?)",
            {V::integer(q.after->time_ms), V::integer(q.after->serial), V::str(q.after->host), V::str(q.after->type)});
    }
    std::string sql = "SELECT json_size, json_zstd, time_ms, serial, host, type FROM audit_events" + w.text() +
                      " ORDER BY time_ms, serial, host, type LIMIT CAST(? AS BIGINT)";
    w.params().push_back(V::integer(q.limit));
    auto rows = sql_query(sql, w.params());
    std::vector<AuditEvent> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        AuditEvent e;
        const std::string& packed = r[1].value_or("");
        e.json = zstd_unpack(packed.data(), packed.size(), to_u64(r[0]), name());
        e.key = {to_u64(r[2]), to_u64(r[3]), r[4].value_or(""), r[5].value_or("")};
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace tlog::server
