// The access log: every search (with the recordings it listed), every
// view of a recording and every refusal of a signed-in viewer, in the
// database (table access_log, schema version 9), listed by
// GET /api/v1/access-log for viewers with the manage right.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store_backend.h"
#include "tlog/json.h"
#include "tlog/server/access.h"
#include "tlog/server/store.h"

namespace tlog::server {

namespace {

using V = SqlValue;

uint64_t num(const std::optional<std::string>& v) { return v ? std::strtoull(v->c_str(), nullptr, 10) : 0; }

}  // namespace

void Store::add_access_log(const AccessLogEntry& e) {
    sql_exec(
        "INSERT INTO access_log (time_ms, viewer, remote, action, outcome, route, host, rec, detail) "
        "VALUES (CAST(? AS BIGINT), ?, ?, ?, ?, ?, ?, ?, ?)",
        {V::integer(e.time_ms), V::str(e.viewer), V::str(e.remote), V::str(e.action), V::str(e.outcome),
         V::str(e.route), V::str(e.host), V::str(e.rec), V::str(e.detail)});
}

std::vector<AccessLogEntry> Store::access_log(const AccessLogQuery& q) {
    std::string where = " WHERE id > CAST(? AS BIGINT)";
    std::vector<SqlValue> params = {V::integer(q.after_id)};
    if (!q.viewer.empty()) {
        where += " AND viewer = ?";
        params.push_back(V::str(q.viewer));
    }
    if (!q.rec.empty()) {
        // A search lists its hits in detail: found by the id's JSON text.
        where += is_postgres() ? " AND (rec = ? OR strpos(detail, ?) > 0)" : " AND (rec = ? OR instr(detail, ?) > 0)";
        params.push_back(V::str(q.rec));
        params.push_back(V::str("\"rec\":" + json::quote(q.rec)));
    }
    if (q.since_ms) {
        where += " AND time_ms >= CAST(? AS BIGINT)";
        params.push_back(V::integer(*q.since_ms));
    }
    if (q.until_ms) {
        where += " AND time_ms <= CAST(? AS BIGINT)";
        params.push_back(V::integer(*q.until_ms));
    }
    params.push_back(V::integer(q.limit));
    std::vector<AccessLogEntry> out;
    for (const auto& r : sql_query("SELECT id, time_ms, viewer, remote, action, outcome, route, host, rec, detail "
                                   "FROM access_log" +
                                       where + " ORDER BY id LIMIT CAST(? AS BIGINT)",
                                   params)) {
        AccessLogEntry e;
        e.id = num(r[0]);
        e.time_ms = num(r[1]);
        e.viewer = r[2].value_or("");
        e.remote = r[3].value_or("");
        e.action = r[4].value_or("");
        e.outcome = r[5].value_or("");
        e.route = r[6].value_or("");
        e.host = r[7].value_or("");
        e.rec = r[8].value_or("");
        e.detail = r[9].value_or("{}");
        out.push_back(std::move(e));
    }
    return out;
}

namespace {

std::string detail(const QueryParams& params, const std::set<std::pair<std::string, std::string>>& hits) {
    auto o = json::Value::make_object();
    auto query = json::Value::make_object();
    for (const auto& [k, v] : params) {
        if (k == "cursor") continue;
        query.set(k, json::Value::make_string(v));
    }
    o.set("query", std::move(query));
    auto list = json::Value::make_array();
    for (const auto& [host, rec] : hits) {
        auto h = json::Value::make_object();
        h.set("host", json::Value::make_string(host));
        h.set("rec", json::Value::make_string(rec));
        list.items().push_back(std::move(h));
    }
    o.set("hits", std::move(list));
    return json::dump(o);
}

}  // namespace

std::string search_detail(const QueryParams& params, const std::vector<Session>& rows) {
    std::set<std::pair<std::string, std::string>> hits;
    for (const auto& s : rows) hits.emplace(s.host, s.rec);
    return detail(params, hits);
}

std::string audit_search_detail(const QueryParams& params, const std::vector<AuditEvent>& events) {
    std::set<std::pair<std::string, std::string>> hits;
    for (const auto& e : events) {
        try {
            auto v = json::parse(e.json, "audit event");
            const auto* rec = v.find("rec");
            hits.emplace(e.key.host, rec != nullptr && rec->is_string() ? rec->as_string() : "");
        } catch (const std::exception&) {
            hits.emplace(e.key.host, "");  // stored after validation: not expected
        }
    }
    return detail(params, hits);
}

AccessLogQuery access_log_query(const QueryParams& params, const SearchSettings& settings) {
    AccessLogQuery q;
    auto uint = [](const std::string& name, const std::string& v, uint64_t max) {
        auto n = json::Value::make_number(v).as_uint();
        if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || !n || *n > max) {
            throw InputError({"", 0, 0, name}, "not an unsigned integer up to " + std::to_string(max));
        }
        return *n;
    };
    for (const auto& [k, v] : params) {
        if (k == "viewer") {
            q.viewer = v;
        } else if (k == "rec") {
            q.rec = v;
        } else if (k == "since" || k == "until") {
            // The sessions search's reading of times (one parser).
            auto t = session_query({{k, v}}, settings, 0);
            (k == "since" ? q.since_ms : q.until_ms) = k == "since" ? t.since_ms : t.until_ms;
        } else if (k == "limit") {
            q.limit = std::max<uint64_t>(uint("limit", v, 1000), 1);
        } else if (k == "cursor") {
            q.after_id = uint("cursor", v, INT64_MAX);
        } else {
            // A misspelt filter must not widen the listing.
            throw InputError({"", 0, 0, k}, "unknown parameter");
        }
    }
    return q;
}

std::string access_log_response(const std::vector<AccessLogEntry>& rows, const AccessLogQuery& q) {
    std::string out = "{\"entries\":[";
    for (size_t i = 0; i < rows.size(); ++i) {
        const auto& e = rows[i];
        out += i == 0 ? "" : ",";
        out += "{\"id\":" + std::to_string(e.id) + ",\"time_ms\":" + std::to_string(e.time_ms) +
               ",\"viewer\":" + json::quote(e.viewer) + ",\"remote\":" + json::quote(e.remote) +
               ",\"action\":" + json::quote(e.action) + ",\"outcome\":" + json::quote(e.outcome) +
               ",\"route\":" + json::quote(e.route) + ",\"host\":" + json::quote(e.host) +
               ",\"rec\":" + json::quote(e.rec) + ",\"detail\":" + (e.detail.empty() ? "{}" : e.detail) + "}";
    }
    out += "],\"next_cursor\":";
    out += rows.size() == q.limit && !rows.empty() ? json::quote(std::to_string(rows.back().id)) : "null";
    out += "}\n";
    return out;
}

}  // namespace tlog::server
