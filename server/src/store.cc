// SQLite storage. Schema changes are ordered migrations recorded in
// schema_version, so an older database is upgraded in place on open.
#include "tlog/server/store.h"

#include <sqlite3.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <stdexcept>

namespace tlog::server {

namespace {

struct DbClose {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

// Index i brings the schema from version i to i + 1. Append only: a
// released migration is never edited.
constexpr std::array migrations = {
    R"sql(
CREATE TABLE messages (
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    id INTEGER NOT NULL,
    json_size INTEGER NOT NULL,  -- bytes of the original JSON
    json_zstd BLOB NOT NULL,     -- the original JSON, zstd-compressed
    PRIMARY KEY (rec, id, host)
) WITHOUT ROWID;
CREATE TABLE sessions (
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    user TEXT NOT NULL,
    term TEXT NOT NULL,
    session INTEGER NOT NULL,
    first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (host, rec)
);
CREATE INDEX sessions_by_start ON sessions (start_ms, host, rec);
CREATE INDEX sessions_by_user ON sessions (user, start_ms);
)sql",
};

}  // namespace

struct Store::Impl {
    std::string path;
    Db db;
    Stmt insert_msg, find_session, insert_session, update_session;

    std::vector<std::string> read_messages(sqlite3_stmt* s) const;
    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error(path + ": " + what + ": " + sqlite3_errmsg(db.get()));
    }
    void exec(const char* sql) {
        char* err = nullptr;
        if (sqlite3_exec(db.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
            std::string msg = err != nullptr ? err : "unknown error";
            sqlite3_free(err);
            throw std::runtime_error(path + ": " + msg);
        }
    }
    Stmt prepare(const char* sql) {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
            fail("preparing a statement");
        }
        return Stmt(s);
    }
    int version() {
        auto s = prepare("SELECT version FROM schema_version");
        return sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int(s.get(), 0) : 0;
    }
};

namespace {

void bind_text(sqlite3_stmt* s, int i, std::string_view t) {
    sqlite3_bind_text(s, i, t.data(), static_cast<int>(t.size()), SQLITE_TRANSIENT);
}
void bind_u64(sqlite3_stmt* s, int i, uint64_t v) {
    // Ids, positions and times fit in 63 bits; larger values are clamped
    // rather than wrapped to negative numbers.
    sqlite3_bind_int64(s, i, static_cast<sqlite3_int64>(std::min<uint64_t>(v, INT64_MAX)));
}
uint64_t col_u64(sqlite3_stmt* s, int i) {
    return static_cast<uint64_t>(std::max<sqlite3_int64>(0, sqlite3_column_int64(s, i)));
}
std::string col_text(sqlite3_stmt* s, int i) {
    const auto* p = sqlite3_column_text(s, i);
    return p != nullptr ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s, i)) : std::string();
}

std::string decompress(sqlite3_stmt* s, int size_col, int blob_col, const std::string& path) {
    std::string out(col_u64(s, size_col), '\0');
    const void* blob = sqlite3_column_blob(s, blob_col);
    size_t n = ZSTD_decompress(out.data(), out.size(), blob, sqlite3_column_bytes(s, blob_col));
    if (ZSTD_isError(n) != 0U || n != out.size()) {
        throw std::runtime_error(path + ": a stored message does not decompress: the database is damaged");
    }
    return out;
}

}  // namespace

Store::Store(const std::string& path) : impl_(std::make_unique<Impl>()) {
    impl_->path = path;
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    impl_->db.reset(db);
    if (rc != SQLITE_OK) {
        impl_->fail("cannot open the database");
    }
    sqlite3_busy_timeout(db, 10000);
    impl_->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
    impl_->exec("BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
    try {
        int v = impl_->version();
        if (v > current_schema_version()) {
            throw std::runtime_error(path + ": schema version " + std::to_string(v) +
                                     " is newer than this tlog-server knows (" +
                                     std::to_string(current_schema_version()) + ")");
        }
        for (int i = v; i < current_schema_version(); ++i) {
            impl_->exec(migrations.at(static_cast<size_t>(i)));
        }
        impl_->exec("DELETE FROM schema_version;");
        impl_->exec(("INSERT INTO schema_version VALUES (" + std::to_string(current_schema_version()) + ");").c_str());
        impl_->exec("COMMIT;");
    } catch (...) {
        sqlite3_exec(db, "ROLLBACK;", nullptr, nullptr, nullptr);
        throw;
    }
    impl_->insert_msg =
        impl_->prepare("INSERT OR IGNORE INTO messages (host, rec, id, json_size, json_zstd) VALUES (?, ?, ?, ?, ?)");
    impl_->find_session = impl_->prepare("SELECT 1 FROM sessions WHERE host = ? AND rec = ?");
    impl_->insert_session = impl_->prepare(
        "INSERT INTO sessions (host, rec, user, term, session, first_id, last_id, start_ms, end_ms, messages, bytes) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)");
    impl_->update_session = impl_->prepare(
        "UPDATE sessions SET first_id = min(first_id, ?3), last_id = max(last_id, ?3), "
        "start_ms = min(start_ms, ?4), end_ms = max(end_ms, ?5), messages = messages + 1, bytes = bytes + ?6 "
        "WHERE host = ?1 AND rec = ?2");
}

Store::~Store() = default;

int Store::current_schema_version() { return static_cast<int>(migrations.size()); }
int Store::schema_version() { return impl_->version(); }

void Store::begin() { impl_->exec("BEGIN IMMEDIATE;"); }
void Store::commit() { impl_->exec("COMMIT;"); }
void Store::rollback() { sqlite3_exec(impl_->db.get(), "ROLLBACK;", nullptr, nullptr, nullptr); }

AddResult Store::add(const MessageMeta& m, std::string_view json, uint64_t received_ms) {
    std::string packed(ZSTD_compressBound(json.size()), '\0');
    size_t n = ZSTD_compress(packed.data(), packed.size(), json.data(), json.size(), 3);
    if (ZSTD_isError(n) != 0U) {
        throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
    }
    auto* s = impl_->insert_msg.get();
    sqlite3_reset(s);
    bind_text(s, 1, m.host);
    bind_text(s, 2, m.rec);
    bind_u64(s, 3, m.id);
    bind_u64(s, 4, json.size());
    sqlite3_bind_blob(s, 5, packed.data(), static_cast<int>(n), SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
        impl_->fail("storing a message");
    }
    if (sqlite3_changes(impl_->db.get()) == 0) {
        return AddResult::Duplicate;
    }
    uint64_t at = m.time_ms.value_or(received_ms);
    // The recording's start is the wall clock of its position 0.
    uint64_t start = at >= m.pos ? at - m.pos : 0;
    auto* f = impl_->find_session.get();
    sqlite3_reset(f);
    bind_text(f, 1, m.host);
    bind_text(f, 2, m.rec);
    bool exists = sqlite3_step(f) == SQLITE_ROW;
    auto* u = exists ? impl_->update_session.get() : impl_->insert_session.get();
    sqlite3_reset(u);
    bind_text(u, 1, m.host);
    bind_text(u, 2, m.rec);
    if (exists) {
        bind_u64(u, 3, m.id);
        bind_u64(u, 4, start);
        bind_u64(u, 5, at);
        bind_u64(u, 6, json.size());
    } else {
        bind_text(u, 3, m.user);
        bind_text(u, 4, m.term);
        bind_u64(u, 5, m.session);
        bind_u64(u, 6, m.id);
        bind_u64(u, 7, m.id);
        bind_u64(u, 8, start);
        bind_u64(u, 9, at);
        bind_u64(u, 10, json.size());
    }
    if (sqlite3_step(u) != SQLITE_DONE) {
        impl_->fail("updating the session");
    }
    return AddResult::Created;
}

std::vector<Session> Store::sessions(const SessionQuery& q) {
    std::string sql =
        "SELECT host, rec, user, term, session, first_id, last_id, start_ms, end_ms, messages, bytes FROM sessions "
        "WHERE (?1 = '' OR user = ?1) AND (?2 = '' OR host = ?2) AND (?3 IS NULL OR end_ms >= ?3) "
        "AND (?4 IS NULL OR start_ms <= ?4) AND (?5 IS NULL OR (start_ms, host, rec) > (?5, ?6, ?7)) "
        "ORDER BY start_ms, host, rec LIMIT ?8";
    auto st = impl_->prepare(sql.c_str());
    auto* s = st.get();
    bind_text(s, 1, q.user);
    bind_text(s, 2, q.host);
    if (q.since_ms) {
        bind_u64(s, 3, *q.since_ms);
    }
    if (q.until_ms) {
        bind_u64(s, 4, *q.until_ms);
    }
    if (q.after) {
        bind_u64(s, 5, std::get<0>(*q.after));
        bind_text(s, 6, std::get<1>(*q.after));
        bind_text(s, 7, std::get<2>(*q.after));
    }
    bind_u64(s, 8, q.limit);
    std::vector<Session> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        Session x;
        x.host = col_text(s, 0);
        x.rec = col_text(s, 1);
        x.user = col_text(s, 2);
        x.term = col_text(s, 3);
        x.session = col_u64(s, 4);
        x.first_id = col_u64(s, 5);
        x.last_id = col_u64(s, 6);
        x.start_ms = col_u64(s, 7);
        x.end_ms = col_u64(s, 8);
        x.messages = col_u64(s, 9);
        x.bytes = col_u64(s, 10);
        x.gaps = x.last_id >= x.messages ? x.last_id - x.messages : 0;
        out.push_back(std::move(x));
    }
    if (rc != SQLITE_DONE) {
        impl_->fail("listing sessions");
    }
    return out;
}

// The stored messages a statement selects (json_size, json_zstd), as sent.
std::vector<std::string> Store::Impl::read_messages(sqlite3_stmt* s) const {
    std::vector<std::string> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        out.push_back(decompress(s, 0, 1, path));
    }
    if (rc != SQLITE_DONE) {
        fail("reading messages");
    }
    return out;
}

std::vector<std::string> Store::messages(const std::string& rec, const std::string& host, uint64_t after_id,
                                         size_t limit) {
    auto st = impl_->prepare(
        "SELECT json_size, json_zstd FROM messages WHERE rec = ?1 AND id > ?2 AND (?3 = '' OR host = ?3) "
        "ORDER BY id, host LIMIT ?4");
    auto* s = st.get();
    bind_text(s, 1, rec);
    bind_u64(s, 2, after_id);
    bind_text(s, 3, host);
    bind_u64(s, 4, limit);
    return impl_->read_messages(s);
}

std::vector<std::string> Store::messages_page(const std::string& rec, uint64_t from, size_t size) {
    auto st =
        impl_->prepare("SELECT json_size, json_zstd FROM messages WHERE rec = ?1 ORDER BY id, host LIMIT ?3 OFFSET ?2");
    auto* s = st.get();
    bind_text(s, 1, rec);
    bind_u64(s, 2, from);
    bind_u64(s, 3, size);
    return impl_->read_messages(s);
}

uint64_t Store::message_count(const std::string& rec) {
    auto st = impl_->prepare("SELECT count(*) FROM messages WHERE rec = ?");
    bind_text(st.get(), 1, rec);
    if (sqlite3_step(st.get()) != SQLITE_ROW) {
        impl_->fail("counting messages");
    }
    return col_u64(st.get(), 0);
}

}  // namespace tlog::server
