// The checkpoints' tables (schema version 9), one SQL text for both
// backends through Store::sql_query and sql_exec.
#include <cstdlib>

#include "tlog/server/store.h"

namespace tlog::server {

namespace {

using V = SqlValue;

uint64_t u64(const std::optional<std::string>& v) { return v ? std::strtoull(v->c_str(), nullptr, 10) : 0; }
std::string str(const std::optional<std::string>& v) { return v.value_or(""); }

CheckpointRow checkpoint_of(const SqlRow& r) {
    CheckpointRow c;
    c.seq = u64(r[0]);
    c.time_ms = u64(r[1]);
    c.prev = str(r[2]);
    c.root = str(r[3]);
    c.entries = u64(r[4]);
    c.key_id = str(r[5]);
    c.signature = str(r[6]);
    return c;
}

CheckpointEntryRow entry_of(const SqlRow& r, size_t at) {
    CheckpointEntryRow e;
    e.seq = u64(r[at]);
    e.leaf = u64(r[at + 1]);
    e.host = str(r[at + 2]);
    e.rec = str(r[at + 3]);
    e.covered = u64(r[at + 4]);
    e.last_id = u64(r[at + 5]);
    e.hash = str(r[at + 6]);
    return e;
}

constexpr const char* checkpoint_cols = "seq, time_ms, prev, root, entries, key_id, signature";
constexpr const char* entry_cols = "seq, leaf, host, rec, covered, last_id, hash";

}  // namespace

std::vector<CheckpointWork> Store::checkpoint_work(const std::pair<std::string, std::string>& after, size_t limit) {
    // As the indexer's work: the sessions whose count changed since their
    // head was made (each commit updates the count).
    auto rows = sql_query(
        "SELECT s.host, s.rec, s.messages, h.seq, 0, h.host, h.rec, h.covered, h.last_id, h.hash FROM sessions s "
        "LEFT JOIN checkpoint_heads h ON h.host = s.host AND h.rec = s.rec "
        "WHERE (h.host IS NULL OR h.seen <> s.messages) AND (s.host > ? OR (s.host = ? AND s.rec > ?)) "
        "ORDER BY s.host, s.rec LIMIT CAST(? AS BIGINT)",
        {V::str(after.first), V::str(after.first), V::str(after.second), V::integer(limit)});
    std::vector<CheckpointWork> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        CheckpointWork w;
        w.host = str(r[0]);
        w.rec = str(r[1]);
        w.messages = u64(r[2]);
        if (r[5]) w.head = entry_of(r, 3);
        out.push_back(std::move(w));
    }
    return out;
}

std::optional<CheckpointRow> Store::last_checkpoint() {
    auto rows = sql_query(std::string("SELECT ") + checkpoint_cols + " FROM checkpoints ORDER BY seq DESC LIMIT 1", {});
    if (rows.empty()) return std::nullopt;
    return checkpoint_of(rows.front());
}

std::vector<CheckpointRow> Store::checkpoints_after(uint64_t after, size_t limit) {
    auto rows = sql_query(std::string("SELECT ") + checkpoint_cols +
                              " FROM checkpoints WHERE seq > CAST(? AS BIGINT) ORDER BY seq LIMIT CAST(? AS BIGINT)",
                          {V::integer(after), V::integer(limit)});
    std::vector<CheckpointRow> out;
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(checkpoint_of(r));
    return out;
}

std::vector<CheckpointEntryRow> Store::checkpoint_entries(uint64_t seq) {
    auto rows = sql_query(
        std::string("SELECT ") + entry_cols + " FROM checkpoint_entries WHERE seq = CAST(? AS BIGINT) ORDER BY leaf",
        {V::integer(seq)});
    std::vector<CheckpointEntryRow> out;
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(entry_of(r, 0));
    return out;
}

std::optional<CheckpointEntryRow> Store::latest_entry(const std::string& host, const std::string& rec) {
    auto rows = sql_query(std::string("SELECT ") + entry_cols +
                              " FROM checkpoint_entries WHERE rec = ? AND host = ? ORDER BY seq DESC LIMIT 1",
                          {V::str(rec), V::str(host)});
    if (rows.empty()) return std::nullopt;
    return entry_of(rows.front(), 0);
}

void Store::save_checkpoint(const std::optional<CheckpointRow>& cp, const std::vector<CheckpointEntryRow>& entries,
                            const std::vector<std::pair<CheckpointEntryRow, uint64_t>>& heads) {
    begin();
    try {
        if (cp) {
            sql_exec(
                "INSERT INTO checkpoints (seq, time_ms, prev, root, entries, key_id, signature) VALUES "
                "(CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?, CAST(? AS BIGINT), ?, ?)",
                {V::integer(cp->seq), V::integer(cp->time_ms), V::str(cp->prev), V::str(cp->root),
                 V::integer(cp->entries), V::str(cp->key_id), V::str(cp->signature)});
        }
        for (const auto& e : entries) {
            sql_exec(
                "INSERT INTO checkpoint_entries (seq, leaf, host, rec, covered, last_id, hash) VALUES "
                "(CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT), ?)",
                {V::integer(e.seq), V::integer(e.leaf), V::str(e.host), V::str(e.rec), V::integer(e.covered),
                 V::integer(e.last_id), V::str(e.hash)});
        }
        for (const auto& [e, seen] : heads) {
            sql_exec(
                "INSERT INTO checkpoint_heads (host, rec, seq, covered, last_id, hash, seen) VALUES "
                "(?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), ?, CAST(? AS BIGINT)) "
                "ON CONFLICT (host, rec) DO UPDATE SET seq = excluded.seq, covered = excluded.covered, "
                "last_id = excluded.last_id, hash = excluded.hash, seen = excluded.seen",
                {V::str(e.host), V::str(e.rec), V::integer(e.seq), V::integer(e.covered), V::integer(e.last_id),
                 V::str(e.hash), V::integer(seen)});
        }
        commit();
    } catch (...) {
        rollback();
        throw;
    }
}

}  // namespace tlog::server
