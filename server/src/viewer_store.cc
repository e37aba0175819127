// Viewers' API tokens and signed-in sessions in the database (schema
// version 9): one SQL text for both backends, as session_search.cc.
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store_backend.h"
#include "tlog/server/store.h"

namespace tlog::server {

namespace {

using V = SqlValue;

uint64_t num(const std::optional<std::string>& v) { return v ? std::strtoull(v->c_str(), nullptr, 10) : 0; }

ViewerToken token_of(const SqlRow& r) {
    return {r[0].value_or(""), r[1].value_or(""), num(r[2]), num(r[3]), num(r[4])};
}

// A session's last use is written when older than this (or a tenth of the
// idle limit): a read request does not become a write, at the price of
// the idle limit's precision.
constexpr uint64_t touch_after_ms = 60 * 1000;

}  // namespace

void Store::add_viewer_token(const ViewerToken& t, const std::string& hash) {
    sql_exec(
        "INSERT INTO viewer_tokens (id, hash, viewer, created_ms, expires_ms) "
        "VALUES (?, ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT))",
        {V::str(t.id), V::str(hash), V::str(t.viewer), V::integer(t.created_ms), V::integer(t.expires_ms)});
}

std::vector<ViewerToken> Store::viewer_tokens() {
    std::vector<ViewerToken> out;
    for (const auto& r : sql_query(
             "SELECT id, viewer, created_ms, expires_ms, revoked_ms FROM viewer_tokens ORDER BY created_ms, id", {})) {
        out.push_back(token_of(r));
    }
    return out;
}

bool Store::revoke_viewer_token(const std::string& id, uint64_t now_ms) {
    return sql_exec("UPDATE viewer_tokens SET revoked_ms = CAST(? AS BIGINT) WHERE id = ? AND revoked_ms = 0",
                    {V::integer(now_ms), V::str(id)}) > 0;
}

std::optional<std::pair<ViewerToken, std::string>> Store::viewer_token(const std::string& hash) {
    auto rows =
        sql_query("SELECT id, viewer, created_ms, expires_ms, revoked_ms, hash FROM viewer_tokens WHERE hash = ?",
                  {V::str(hash)});
    if (rows.empty()) return std::nullopt;
    return std::pair(token_of(rows[0]), rows[0][5].value_or(""));
}

void Store::add_viewer_session(const std::string& hash, const std::string& viewer, uint64_t now_ms, uint64_t idle_ms,
                               uint64_t max_ms) {
    // Expired sessions of everyone go with each sign-in: the table holds
    // the live ones and those expired since the last sign-in, no more.
    sql_exec("DELETE FROM viewer_sessions WHERE last_ms <= CAST(? AS BIGINT) OR created_ms <= CAST(? AS BIGINT)",
             {V::integer(now_ms > idle_ms ? now_ms - idle_ms : 0), V::integer(now_ms > max_ms ? now_ms - max_ms : 0)});
    sql_exec(
        "INSERT INTO viewer_sessions (hash, viewer, created_ms, last_ms) VALUES (?, ?, CAST(? AS BIGINT), "
        "CAST(? AS BIGINT))",
        {V::str(hash), V::str(viewer), V::integer(now_ms), V::integer(now_ms)});
}

std::optional<std::string> Store::viewer_session(const std::string& hash, uint64_t now_ms, uint64_t idle_ms,
                                                 uint64_t max_ms) {
    auto rows = sql_query("SELECT viewer, created_ms, last_ms FROM viewer_sessions WHERE hash = ?", {V::str(hash)});
    if (rows.empty()) return std::nullopt;
    uint64_t created = num(rows[0][1]), last = num(rows[0][2]);
    if (now_ms >= created + max_ms || now_ms >= last + idle_ms) {
        end_viewer_session(hash);
        return std::nullopt;
    }
    if (now_ms >= last + std::min(touch_after_ms, idle_ms / 10)) {
        sql_exec("UPDATE viewer_sessions SET last_ms = CAST(? AS BIGINT) WHERE hash = ?",
                 {V::integer(now_ms), V::str(hash)});
    }
    return rows[0][0].value_or("");
}

void Store::end_viewer_session(const std::string& hash) {
    sql_exec("DELETE FROM viewer_sessions WHERE hash = ?", {V::str(hash)});
}

bool Store::recording_visible(const std::string& rec, const std::string& host, const SqlCondition& scope) {
    const bool pg = is_postgres() && !scope.pg_sql.empty();
    std::vector<SqlValue> params = pg ? scope.pg_params : scope.params;
    params.push_back(V::str(rec));
    std::string sql = "SELECT min(CASE WHEN (" + (pg ? scope.pg_sql : scope.sql) +
                      ") THEN 1 ELSE 0 END) FROM sessions s WHERE s.rec = ?";
    if (!host.empty()) {
        sql += " AND s.host = ?";
        params.push_back(V::str(host));
    }
    auto rows = sql_query(sql, params);
    return !rows.empty() && rows[0][0] && num(rows[0][0]) == 1;
}

}  // namespace tlog::server
