// A recording's audit trail: the events joined to it (the backends'
// audit_events) and the failed authentications before the session. Those
// happened before the login had an audit session (sshd's, login's
// attempts), so neither the recording's rec nor its (host, ses) reaches
// them; tlog-audit lists them in pam_tlog's start event
// (failed_auth_before: serial and time). They are looked up here, when
// asked, by the start event's host and each entry's serial and time (an
// audit serial restarts with auditd: the time keeps a serial of another
// boot out): the failures, the start event and the recording may be
// stored in any order, nothing is written at ingest, and a failure listed
// but not stored (yet) is reported, not dropped. SQL written once for
// both backends (Store::sql_query).
#include "recording_audit.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include "store_backend.h"
#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/server/validate.h"

namespace tlog::server {

namespace {

using V = SqlValue;

// The start event session_info kept for each host of the recording (the
// first stored: its time and audit session), when it listed failures;
// reached through the recording's events by rec (index audit_by_rec), as
// audit_events reaches the start events. Several rows for one host only
// when events with the kept one's time and audit session were forged.
constexpr const char* kept_starts =
    "SELECT a.host, a.json_size, a.json_zstd, a.time_ms, a.serial, a.type, i.failed_auth "
    "FROM audit_events a JOIN session_info i ON i.host = a.host AND i.rec = a.rec "
    "WHERE a.rec = ? AND a.session_start AND i.failed_auth > 0 AND a.time_ms = i.audit_start_ms "
    "AND a.ses = i.ses ORDER BY a.host, a.serial, a.type";

// Listed failures looked up many per statement: a list of (host, serial,
// time) joined to the events, each row an index lookup (audit_key, or
// audit_by_host_time). Lookups ORed together SQLite answers by reading
// all of a host's events, and a UNION ALL of 64 took PostgreSQL 10 ms to
// plan.
constexpr size_t lookup_chunk = 128;
constexpr const char* lookup_head =
    "SELECT a.host, a.serial, a.time_ms, a.type, a.json_size, a.json_zstd FROM (VALUES ";
constexpr const char* lookup_row = "(?, CAST(? AS BIGINT), CAST(? AS BIGINT))";
constexpr const char* lookup_tail =
    ") v JOIN audit_events a ON a.host = v.column1 AND a.serial = v.column2 AND a.time_ms = v.column3";

uint64_t to_u64(const std::optional<std::string>& v) { return v ? std::strtoull(v->c_str(), nullptr, 10) : 0; }

auto order(const AuditKey& k) { return std::tie(k.time_ms, k.serial, k.host, k.type); }
bool sorts_before(const AuditKey& a, const AuditKey& b) { return order(a) < order(b); }
bool same_key(const AuditKey& a, const AuditKey& b) { return order(a) == order(b); }

// One entry of a start event's failed_auth_before.
struct Listed {
    AuditKey key;         // looked up: the listed time and serial, type ""
    bool lookup = false;  // false: no serial and time to look up by
    std::string serial, time;
};

}  // namespace

std::vector<RecordingAuditItem> Store::failed_auth_items(const std::string& rec, const std::optional<AuditKey>& after,
                                                         size_t limit) {
    const auto starts = sql_query(kept_starts, {V::str(rec)});
    std::vector<Listed> listed;
    std::set<std::tuple<std::string, uint64_t, uint64_t>> seen;  // an entry listed twice comes once
    for (size_t r = 0; r < starts.size();) {
        const std::string host = starts[r][0].value_or("");
        size_t end = r;
        while (end < starts.size() && starts[end][0].value_or("") == host) {
            ++end;
        }
        // The candidate whose list has as many entries as session_info
        // counted (the kept one), else the first.
        json::Value chosen;
        AuditKey start;
        for (size_t c = r; c < end; ++c) {
            const auto& row = starts[c];
            const std::string& zstd = row[2].value();
            json::Value v;
            try {
                v = json::parse(zstd_unpack(zstd.data(), zstd.size(), to_u64(row[1]), name()), "");
            } catch (const InputError& e) {
                // It was checked when stored: the database's fault (500),
                // not the request's (400).
                throw std::runtime_error(name() + ": the stored start event of recording " + rec + " on host " +
                                         json::quote(host) + " is not JSON: " + e.what());
            }
            const auto* list = v.find("failed_auth_before");
            const bool counted = list != nullptr && list->is_array() && list->items().size() == to_u64(row[6]);
            if (c == r || counted) {
                chosen = std::move(v);
                start = {to_u64(row[3]), to_u64(row[4]), host, row[5].value_or("")};
            }
            if (counted) {
                break;
            }
        }
        r = end;
        const auto* list = chosen.find("failed_auth_before");
        if (list == nullptr || !list->is_array()) {
            continue;
        }
        for (size_t k = 0; k < list->items().size(); ++k) {
            const auto& e = list->items()[k];
            const auto* serial = e.is_object() ? e.find("serial") : nullptr;
            const auto* time = e.is_object() ? e.find("time") : nullptr;
            Listed l;
            l.serial = serial != nullptr ? json::dump(*serial) : "null";
            l.time = time != nullptr ? json::dump(*time) : "null";
            auto sn = serial != nullptr && serial->is_number() ? serial->as_uint() : std::nullopt;
            auto ms = time != nullptr && time->is_string() ? audit_time_ms(time->as_string()) : std::nullopt;
            if (sn && *sn <= static_cast<uint64_t>(INT64_MAX) && ms) {
                if (!seen.emplace(host, *sn, *ms).second) {
                    continue;
                }
                l.key = {*ms, *sn, host, ""};
                l.lookup = true;
            } else {
                // Not a serial and a time as tlog-audit writes them (a
                // forged start event): nothing to look up; reported,
                // right after the start event that lists it.
                l.key = {start.time_ms, start.serial, host, start.type + '\x01' + std::to_string(k)};
            }
            listed.push_back(std::move(l));
        }
    }
    std::sort(listed.begin(), listed.end(),
              [](const Listed& a, const Listed& b) { return sorts_before(a.key, b.key); });
    // Only entries with an item after `after`: a looked-up entry's events
    // have its time, serial and host, and any type.
    if (after) {
        std::erase_if(listed, [&](const Listed& l) {
            return l.lookup ? std::tie(l.key.time_ms, l.key.serial, l.key.host) <
                                  std::tie(after->time_ms, after->serial, after->host)
                            : !sorts_before(*after, l.key);
        });
    }
    // Each entry gives at least one item after `after`, except the one of
    // its time, serial and host (entries are unique on them), whose events
    // may all be at or before it.
    if (listed.size() > limit + 1) {
        listed.resize(limit + 1);
    }

    std::map<std::tuple<std::string, uint64_t, uint64_t>, std::vector<AuditEvent>> found;
    std::vector<const Listed*> lookups;
    for (const auto& l : listed) {
        if (l.lookup) {
            lookups.push_back(&l);
        }
    }
    for (size_t at = 0; at < lookups.size(); at += lookup_chunk) {
        std::string sql = lookup_head;
        std::vector<SqlValue> params;
        for (size_t i = at; i < std::min(lookups.size(), at + lookup_chunk); ++i) {
            sql += (i == at ? "" : ", ");
            sql += lookup_row;
            params.push_back(V::str(lookups[i]->key.host));
            params.push_back(V::integer(lookups[i]->key.serial));
            params.push_back(V::integer(lookups[i]->key.time_ms));
        }
        sql += lookup_tail;
        for (const auto& row : sql_query(sql, params)) {
            AuditEvent e;
            e.key = {to_u64(row[2]), to_u64(row[1]), row[0].value_or(""), row[3].value_or("")};
            const std::string& zstd = row[5].value();
            e.json = zstd_unpack(zstd.data(), zstd.size(), to_u64(row[4]), name());
            found[{e.key.host, e.key.serial, e.key.time_ms}].push_back(std::move(e));
        }
    }

    std::vector<RecordingAuditItem> out;
    for (const auto& l : listed) {
        auto hit = l.lookup ? found.find({l.key.host, l.key.serial, l.key.time_ms}) : found.end();
        if (hit == found.end()) {
            RecordingAuditItem item{{{}, l.key}, true, l.serial, l.time};
            if (!after || sorts_before(*after, item.event.key)) {
                out.push_back(std::move(item));
            }
            continue;
        }
        for (auto& e : hit->second) {
            if (!after || sorts_before(*after, e.key)) {
                out.push_back({std::move(e), true, l.serial, l.time});
            }
        }
    }
    std::sort(out.begin(), out.end(), [](const RecordingAuditItem& a, const RecordingAuditItem& b) {
        return sorts_before(a.event.key, b.event.key);
    });
    if (out.size() > limit) {
        out.resize(limit);
    }
    return out;
}

std::vector<RecordingAuditItem> Store::recording_audit(const std::string& rec, const std::optional<AuditKey>& after,
                                                       size_t limit) {
    auto joined = audit_events(rec, after, limit);
    auto listed = failed_auth_items(rec, after, limit);
    // Both in the same order: merged. Each list holds the first `limit`
    // of its kind after `after`, so the first `limit` of the merge are
    // the trail's, and a full page stays full when an event is in both.
    std::vector<RecordingAuditItem> out;
    size_t i = 0, j = 0;
    while (out.size() < limit && (i < joined.size() || j < listed.size())) {
        if (j < listed.size() && (i == joined.size() || !sorts_before(joined[i].key, listed[j].event.key))) {
            if (i < joined.size() && same_key(joined[i].key, listed[j].event.key)) {
                ++i;  // joined and listed (a failure in the login's audit session): once, as listed
            }
            out.push_back(std::move(listed[j++]));
        } else {
            out.push_back({std::move(joined[i++]), false, {}, {}});
        }
    }
    return out;
}

std::string recording_audit_lines(const std::vector<RecordingAuditItem>& items) {
    std::string out;
    for (const auto& it : items) {
        if (!it.before_session) {
            out += it.event.json;
            out += '\n';
            continue;
        }
        out += "{\"before_session\":{\"host\":";
        out += json::quote(it.event.key.host);
        out += ",\"serial\":";
        out += it.listed_serial;
        out += ",\"time\":";
        out += it.listed_time;
        out += ",\"event\":";
        out += it.event.json.empty() ? std::string("null") : it.event.json;
        out += "}}\n";
    }
    return out;
}

}  // namespace tlog::server
