// The SQLite backend: one file in WAL mode, the embedded default. Schema
// changes are ordered migrations recorded in schema_version, so an older
// database is upgraded in place on open.
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <map>
#include <stdexcept>

#include "store_backend.h"
#include "tlog/server/store.h"

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
// released migration is never edited. store_postgres.cc has the same
// versions in PostgreSQL's dialect.
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
    // 2: messages in a rowid table with a unique index on the key. In the
    // WITHOUT ROWID table each row (over a kilobyte compressed) spilled
    // into overflow pages left mostly empty: 62 % of the table's pages were
    // unused in the server benchmark.
    R"sql(
CREATE TABLE messages_v2 (
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    id INTEGER NOT NULL,
    json_size INTEGER NOT NULL,
    json_zstd BLOB NOT NULL
);
INSERT INTO messages_v2 (host, rec, id, json_size, json_zstd)
    SELECT host, rec, id, json_size, json_zstd FROM messages ORDER BY rec, id, host;
DROP TABLE messages;
ALTER TABLE messages_v2 RENAME TO messages;
CREATE UNIQUE INDEX messages_key ON messages (rec, id, host);
)sql",
    // 3: tlog-audit's events. IF NOT EXISTS: a database set back to an
    // older version (tests, a downgrade undone) migrates again unharmed.
    R"sql(
CREATE TABLE IF NOT EXISTS audit_events (
    host TEXT NOT NULL,
    serial INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    type TEXT NOT NULL,           -- '' when the event has none
    ses INTEGER,                  -- NULL: no audit session
    rec TEXT NOT NULL,            -- '' when not joined
    session_start INTEGER NOT NULL,  -- 1: pam_tlog's start record naming rec
    json_size INTEGER NOT NULL,
    json_zstd BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS audit_key ON audit_events (host, serial, time_ms, type);
CREATE INDEX IF NOT EXISTS audit_by_session ON audit_events (host, ses, time_ms);
CREATE INDEX IF NOT EXISTS audit_by_rec ON audit_events (rec, time_ms);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit_events (time_ms);
)sql",
    // 4: the sessions search (session_search.cc): what the audit trail and
    // NSS say of a session, its groups, the indexes of each sort, and
    // audit events' user (the column audit_user is added before it, if
    // missing: SQLite's ADD COLUMN has no IF NOT EXISTS).
    R"sql(
CREATE TABLE IF NOT EXISTS session_info (
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    service TEXT NOT NULL DEFAULT '',  -- pam_tlog's start event: '' until it is stored
    tty TEXT NOT NULL DEFAULT '',
    rhost TEXT NOT NULL DEFAULT '',
    ses INTEGER,                            -- the login's audit session
    audit_start_ms INTEGER,                 -- the start event's time
    failed_auth INTEGER NOT NULL DEFAULT 0, -- failed authentications joined to it
    closed_ms INTEGER,                      -- its audit session's USER_END
    ended INTEGER NOT NULL DEFAULT 0,       -- 1: the message carrying end is stored
    groups_done INTEGER NOT NULL DEFAULT 0, -- 1: the user's groups were looked up
    groups TEXT NOT NULL DEFAULT '[]',    -- a JSON array of group names
    PRIMARY KEY (host, rec)
);
CREATE INDEX IF NOT EXISTS session_info_by_ses ON session_info (host, ses);
CREATE INDEX IF NOT EXISTS session_info_failed_auth ON session_info (host, rec) WHERE failed_auth > 0;
CREATE INDEX IF NOT EXISTS session_info_open ON session_info (host, rec) WHERE ended = 0;
CREATE TABLE IF NOT EXISTS session_groups (
    grp TEXT NOT NULL,
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    PRIMARY KEY (grp, host, rec)
);
CREATE INDEX IF NOT EXISTS sessions_by_end ON sessions (end_ms, host, rec);
CREATE INDEX IF NOT EXISTS sessions_by_duration ON sessions ((end_ms - start_ms), host, rec);
CREATE INDEX IF NOT EXISTS sessions_by_bytes ON sessions (bytes, host, rec);
CREATE INDEX IF NOT EXISTS sessions_by_host ON sessions (host, start_ms, rec);
CREATE INDEX IF NOT EXISTS audit_by_user ON audit_events (audit_user, time_ms);
CREATE INDEX IF NOT EXISTS audit_by_host_time ON audit_events (host, time_ms);
CREATE INDEX IF NOT EXISTS audit_by_type ON audit_events (type, time_ms);
)sql",
};
static_assert(migrations.size() == schema_versions);

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

class SqliteStore final : public Store {
public:
    explicit SqliteStore(const std::string& path);

    int schema_version() override;
    std::vector<std::string> messages(const std::string& rec, const std::string& host, uint64_t after_id,
                                      size_t limit) override;
    std::vector<std::string> messages_page(const std::string& rec, uint64_t from, size_t size) override;
    uint64_t message_count(const std::string& rec) override;
    std::vector<AuditEvent> audit_events(const std::string& rec, const std::optional<AuditKey>& after,
                                         size_t limit) override;

protected:
    std::vector<SqlRow> sql_query(const std::string& text, const std::vector<SqlValue>& params) override;
    uint64_t sql_exec(const std::string& text, const std::vector<SqlValue>& params) override;
    bool is_postgres() const override { return false; }
    // BEGIN IMMEDIATE: the write lock up front, so a second writer on the
    // same file waits (busy timeout) instead of failing at its first insert.
    void begin_transaction() override { exec("BEGIN IMMEDIATE;"); }
    void commit_transaction() override { exec("COMMIT;"); }
    void rollback_transaction() noexcept override { sqlite3_exec(db_.get(), "ROLLBACK;", nullptr, nullptr, nullptr); }
    bool insert_message(const MessageMeta& m, uint64_t json_size, std::string_view json_zstd) override;
    bool insert_audit(const AuditMeta& m, uint64_t json_size, std::string_view json_zstd) override;
    void merge_session(const Session& d) override;

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error(name() + ": " + what + ": " + sqlite3_errmsg(db_.get()));
    }
    void exec(const char* sql) {
        char* err = nullptr;
        if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
            std::string msg = err != nullptr ? err : "unknown error";
            sqlite3_free(err);
            throw std::runtime_error(name() + ": " + msg);
        }
    }
    Stmt prepare(const char* sql) {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
            fail("preparing a statement");
        }
        return Stmt(s);
    }
    std::vector<std::string> read_messages(sqlite3_stmt* s) const;

    sqlite3_stmt* cached(const std::string& text, const std::vector<SqlValue>& params);

    Db db_;
    Stmt insert_msg_, merge_session_, insert_audit_;
    // session_search.cc's statements, prepared once each: the searches
    // vary with their filters but repeat, and ingest's run per session.
    std::map<std::string, Stmt> cache_;
};

SqliteStore::SqliteStore(const std::string& path) : Store(path) {
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(db);
    if (rc != SQLITE_OK) {
        fail("cannot open the database");
    }
    sqlite3_busy_timeout(db, 10000);
    // synchronous=FULL: the WAL is synced at every commit, so a request
    // answered 2xx is on disk (shippers drop what the server acknowledged);
    // NORMAL would let a power loss take back answered requests.
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    exec("BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
    try {
        int v = schema_version();
        check_schema_version(v, path);
        for (int i = v; i < schema_versions; ++i) {
            if (i == 3) {
                auto col = prepare("SELECT 1 FROM pragma_table_info('audit_events') WHERE name = 'audit_user'");
                if (sqlite3_step(col.get()) != SQLITE_ROW) {
                    exec("ALTER TABLE audit_events ADD COLUMN audit_user TEXT NOT NULL DEFAULT '';");
                }
            }
            exec(migrations.at(static_cast<size_t>(i)));
        }
        exec("DELETE FROM schema_version;");
        exec(("INSERT INTO schema_version VALUES (" + std::to_string(schema_versions) + ");").c_str());
        exec("COMMIT;");
    } catch (...) {
        rollback_transaction();
        throw;
    }
    insert_msg_ =
        prepare("INSERT OR IGNORE INTO messages (host, rec, id, json_size, json_zstd) VALUES (?, ?, ?, ?, ?)");
    merge_session_ = prepare(
        "INSERT INTO sessions (host, rec, user, term, session, first_id, last_id, start_ms, end_ms, messages, bytes) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (host, rec) DO UPDATE SET "
        "first_id = min(first_id, excluded.first_id), last_id = max(last_id, excluded.last_id), "
        "start_ms = min(start_ms, excluded.start_ms), end_ms = max(end_ms, excluded.end_ms), "
        "messages = messages + excluded.messages, bytes = bytes + excluded.bytes");
    insert_audit_ = prepare(
        "INSERT OR IGNORE INTO audit_events (host, serial, time_ms, type, ses, rec, session_start, json_size, "
        "json_zstd, audit_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
}

int SqliteStore::schema_version() {
    auto s = prepare("SELECT version FROM schema_version");
    return sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int(s.get(), 0) : 0;
}

bool SqliteStore::insert_message(const MessageMeta& m, uint64_t json_size, std::string_view json_zstd) {
    auto* s = insert_msg_.get();
    sqlite3_reset(s);
    bind_text(s, 1, m.host);
    bind_text(s, 2, m.rec);
    bind_u64(s, 3, m.id);
    bind_u64(s, 4, json_size);
    sqlite3_bind_blob(s, 5, json_zstd.data(), static_cast<int>(json_zstd.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
        fail("storing a message");
    }
    return sqlite3_changes(db_.get()) != 0;
}

bool SqliteStore::insert_audit(const AuditMeta& m, uint64_t json_size, std::string_view json_zstd) {
    auto* s = insert_audit_.get();
    sqlite3_reset(s);
    bind_text(s, 1, m.host);
    bind_u64(s, 2, m.serial);
    bind_u64(s, 3, m.time_ms);
    bind_text(s, 4, m.type);
    if (m.ses) {
        bind_u64(s, 5, *m.ses);
    } else {
        sqlite3_bind_null(s, 5);
    }
    bind_text(s, 6, m.rec);
    sqlite3_bind_int(s, 7, m.session_start ? 1 : 0);
    bind_u64(s, 8, json_size);
    sqlite3_bind_blob(s, 9, json_zstd.data(), static_cast<int>(json_zstd.size()), SQLITE_TRANSIENT);
    bind_text(s, 10, m.user);
    if (sqlite3_step(s) != SQLITE_DONE) {
        fail("storing an audit event");
    }
    return sqlite3_changes(db_.get()) != 0;
}

void SqliteStore::merge_session(const Session& d) {
    auto* u = merge_session_.get();
    sqlite3_reset(u);
    bind_text(u, 1, d.host);
    bind_text(u, 2, d.rec);
    bind_text(u, 3, d.user);
    bind_text(u, 4, d.term);
    bind_u64(u, 5, d.session);
    bind_u64(u, 6, d.first_id);
    bind_u64(u, 7, d.last_id);
    bind_u64(u, 8, d.start_ms);
    bind_u64(u, 9, d.end_ms);
    bind_u64(u, 10, d.messages);
    bind_u64(u, 11, d.bytes);
    if (sqlite3_step(u) != SQLITE_DONE) {
        fail("updating the session");
    }
}

// The stored messages a statement selects (json_size, json_zstd), as sent.
std::vector<std::string> SqliteStore::read_messages(sqlite3_stmt* s) const {
    std::vector<std::string> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        out.push_back(zstd_unpack(sqlite3_column_blob(s, 1), static_cast<size_t>(sqlite3_column_bytes(s, 1)),
                                  col_u64(s, 0), name()));
    }
    if (rc != SQLITE_DONE) {
        fail("reading messages");
    }
    return out;
}

std::vector<std::string> SqliteStore::messages(const std::string& rec, const std::string& host, uint64_t after_id,
                                               size_t limit) {
    auto st = prepare(
        "SELECT json_size, json_zstd FROM messages WHERE rec = ?1 AND id > ?2 AND (?3 = '' OR host = ?3) "
        "ORDER BY id, host LIMIT ?4");
    auto* s = st.get();
    bind_text(s, 1, rec);
    bind_u64(s, 2, after_id);
    bind_text(s, 3, host);
    bind_u64(s, 4, limit);
    return read_messages(s);
}

std::vector<std::string> SqliteStore::messages_page(const std::string& rec, uint64_t from, size_t size) {
    auto st = prepare("SELECT json_size, json_zstd FROM messages WHERE rec = ?1 ORDER BY id, host LIMIT ?3 OFFSET ?2");
    auto* s = st.get();
    bind_text(s, 1, rec);
    bind_u64(s, 2, from);
    bind_u64(s, 3, size);
    return read_messages(s);
}

uint64_t SqliteStore::message_count(const std::string& rec) {
    auto st = prepare("SELECT count(*) FROM messages WHERE rec = ?");
    bind_text(st.get(), 1, rec);
    if (sqlite3_step(st.get()) != SQLITE_ROW) {
        fail("counting messages");
    }
    return col_u64(st.get(), 0);
}

std::vector<AuditEvent> SqliteStore::audit_events(const std::string& rec, const std::optional<AuditKey>& after,
                                                  size_t limit) {
    // Two index lookups (by rec; the start events' sessions by (host, ses))
    // rather than one OR, which SQLite would answer with a scan.
    auto st = prepare(
        "SELECT json_size, json_zstd, time_ms, serial, host, type FROM audit_events WHERE rec = ?1 "
        "AND (?2 IS NULL OR (time_ms, serial, host, type) > (?2, ?3, ?4, ?5)) "
        "UNION ALL "
        "SELECT a.json_size, a.json_zstd, a.time_ms, a.serial, a.host, a.type FROM "
        "(SELECT DISTINCT host, ses FROM audit_events WHERE rec = ?1 AND session_start = 1 AND ses IS NOT NULL) s "
        "JOIN audit_events a ON a.host = s.host AND a.ses = s.ses WHERE a.rec = '' "
        "AND (?2 IS NULL OR (a.time_ms, a.serial, a.host, a.type) > (?2, ?3, ?4, ?5)) "
        "ORDER BY 3, 4, 5, 6 LIMIT ?6");
    auto* s = st.get();
    bind_text(s, 1, rec);
    if (after) {
        bind_u64(s, 2, after->time_ms);
        bind_u64(s, 3, after->serial);
        bind_text(s, 4, after->host);
        bind_text(s, 5, after->type);
    }
    bind_u64(s, 6, limit);
    std::vector<AuditEvent> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        AuditEvent e;
        e.json = zstd_unpack(sqlite3_column_blob(s, 1), static_cast<size_t>(sqlite3_column_bytes(s, 1)), col_u64(s, 0),
                             name());
        e.key = {col_u64(s, 2), col_u64(s, 3), col_text(s, 4), col_text(s, 5)};
        out.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) {
        fail("reading audit events");
    }
    return out;
}

sqlite3_stmt* SqliteStore::cached(const std::string& text, const std::vector<SqlValue>& params) {
    auto it = cache_.find(text);
    if (it == cache_.end()) {
        if (cache_.size() >= 256) {
            cache_.clear();  // a bound: filters combine into many texts
        }
        it = cache_.emplace(text, prepare(text.c_str())).first;
    }
    auto* s = it->second.get();
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    int i = 0;
    for (const auto& v : params) {
        ++i;
        switch (v.kind) {
            case SqlValue::Kind::Null: sqlite3_bind_null(s, i); break;
            case SqlValue::Kind::Int: sqlite3_bind_int64(s, i, v.i); break;
            case SqlValue::Kind::Text: bind_text(s, i, v.text); break;
        }
    }
    return s;
}

std::vector<SqlRow> SqliteStore::sql_query(const std::string& text, const std::vector<SqlValue>& params) {
    auto* s = cached(text, params);
    std::vector<SqlRow> out;
    int rc = 0;
    int cols = sqlite3_column_count(s);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        SqlRow row;
        row.reserve(static_cast<size_t>(cols));
        for (int c = 0; c < cols; ++c) {
            switch (sqlite3_column_type(s, c)) {
                case SQLITE_NULL: row.emplace_back(std::nullopt); break;
                case SQLITE_BLOB:
                    row.emplace_back(std::string(static_cast<const char*>(sqlite3_column_blob(s, c)),
                                                 static_cast<size_t>(sqlite3_column_bytes(s, c))));
                    break;
                default: row.emplace_back(col_text(s, c));
            }
        }
        out.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) {
        fail("searching");  // before the reset, which would clear the message
    }
    sqlite3_reset(s);
    return out;
}

uint64_t SqliteStore::sql_exec(const std::string& text, const std::vector<SqlValue>& params) {
    auto* s = cached(text, params);
    if (sqlite3_step(s) != SQLITE_DONE) {
        fail("recording session details");
    }
    sqlite3_reset(s);
    return static_cast<uint64_t>(sqlite3_changes(db_.get()));
}

}  // namespace

std::unique_ptr<Store> open_sqlite(const std::string& path) { return std::make_unique<SqliteStore>(path); }

}  // namespace tlog::server
