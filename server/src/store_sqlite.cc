// The SQLite backend: one file in WAL mode, the embedded default. Schema
// changes are ordered migrations recorded in schema_version, so an older
// database is upgraded in place on open.
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <climits>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "screen_chunks.h"
#include "store_backend.h"
#include "tlog/server/store.h"
#include "tlog/utf8.h"

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
    // 5: messages in batches. A transaction's consecutive messages of one
    // recording are compressed together (up to batch_messages or
    // batch_bytes), one row a batch, and each message has a row in
    // message_ids naming its batch and its place in it, keyed by an
    // integer per recording rather than host and rec text: 0.47 bytes
    // stored per byte of JSON before, about 0.25 after (bench/README.md
    // "server"). Each row of the former table becomes a batch of one
    // message, its zstd frame kept as it is; the former table stays,
    // empty, so that migrations 2 and 3 run again unharmed on a database
    // set back to an older version.
    R"sql(
CREATE TABLE IF NOT EXISTS recording_keys (
    sid INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    open_bid INTEGER             -- the batch the next messages join; NULL: none
);
CREATE UNIQUE INDEX IF NOT EXISTS recording_keys_by_rec ON recording_keys (rec, host);
CREATE TABLE IF NOT EXISTS message_batches (
    bid INTEGER PRIMARY KEY,
    sid INTEGER NOT NULL,        -- recording_keys.sid
    json_size INTEGER NOT NULL,  -- bytes of the messages' JSON, together
    sizes BLOB,                  -- each message's size (LEB128); NULL: one message
    json_zstd BLOB NOT NULL      -- the messages' JSON one after another, one zstd frame
);
CREATE TABLE IF NOT EXISTS message_ids (
    sid INTEGER NOT NULL,
    id INTEGER NOT NULL,
    bid INTEGER NOT NULL,        -- message_batches.bid
    ord INTEGER NOT NULL,        -- the message's place in its batch, from 0
    PRIMARY KEY (sid, id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO recording_keys (host, rec) SELECT DISTINCT host, rec FROM messages ORDER BY rec, host;
CREATE TEMP TABLE v4_base AS SELECT coalesce(max(bid), 0) AS base FROM message_batches;
INSERT INTO message_batches (bid, sid, json_size, sizes, json_zstd)
    SELECT b.base + m.rowid, k.sid, m.json_size, NULL, m.json_zstd
    FROM messages m JOIN recording_keys k ON k.rec = m.rec AND k.host = m.host, v4_base b;
INSERT INTO message_ids (sid, id, bid, ord)
    SELECT k.sid, m.id, b.base + m.rowid, 0
    FROM messages m JOIN recording_keys k ON k.rec = m.rec AND k.host = m.host, v4_base b;
DROP TABLE v4_base;
DELETE FROM messages;
)sql",
    // 6: the index (index.cc): each session's integrity verdict and how
    // far it is indexed, its keyframes, the rows of text its screen showed.
    // Keyframes and rows are keyed by the recording's integer key
    // (recording_keys.sid), not host and rec text: a row of screen text
    // holds 60 bytes of text on average (bench/README.md "server", Index).
    R"sql(
CREATE TABLE IF NOT EXISTS session_index (
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    verdict TEXT NOT NULL,
    label TEXT NOT NULL,
    first_bad_id INTEGER NOT NULL,
    indexed_through INTEGER NOT NULL,
    seen_messages INTEGER NOT NULL,  -- the session's messages when last looked at
    PRIMARY KEY (host, rec)
);
CREATE INDEX IF NOT EXISTS session_index_by_verdict ON session_index (verdict);
CREATE TABLE IF NOT EXISTS keyframes (
    sid INTEGER NOT NULL,    -- recording_keys.sid
    pos_ms INTEGER NOT NULL,
    msg_id INTEGER NOT NULL,
    snap_size INTEGER NOT NULL,
    snap_zstd BLOB NOT NULL,
    base_size INTEGER NOT NULL,
    base_zstd BLOB NOT NULL,  -- the screen text's rendering state (RowChanges::save)
    PRIMARY KEY (sid, msg_id)
);
CREATE INDEX IF NOT EXISTS keyframes_by_pos ON keyframes (sid, pos_ms, msg_id);
CREATE TABLE IF NOT EXISTS screen_text (
    sid INTEGER NOT NULL,
    msg_id INTEGER NOT NULL,
    pos_ms INTEGER NOT NULL,
    row INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS screen_text_by_rec ON screen_text (sid, msg_id);
-- Substring search: FTS5's trigram index over the rows (an external
-- content table: the text is stored once). Case-sensitive, as the search
-- is bytewise; texts under three characters are scanned instead. Which
-- rows hold each trigram, not where (detail=none, columnsize=0): a third
-- of the size of the full index; a text is looked up as all of its
-- trigrams, and every row found is checked exactly.
CREATE VIRTUAL TABLE IF NOT EXISTS screen_text_fts USING fts5(text, content='screen_text',
    tokenize='trigram case_sensitive 1', detail=none, columnsize=0);
)sql",
    // 7: screen text in chunks (screen_chunks.h): consecutive rows of a
    // recording in one record, zstd-compressed, and one document of the
    // trigram index a chunk (contentless: deleting a chunk from it gives
    // its text again). 2,280 MB of index per GB of recording before
    // (bench/README.md "server", Index). The rows stored before are
    // dropped and every session is indexed again from its messages: its
    // progress and keyframes go too (keyframes are spaced by the server's
    // own policy now), and its verdict is pending until the indexer is
    // through again.
    R"sql(
DROP TABLE IF EXISTS screen_text_fts;
DROP TABLE IF EXISTS screen_text;
DELETE FROM keyframes;
DELETE FROM session_index;
CREATE TABLE IF NOT EXISTS screen_chunks (
    cid INTEGER PRIMARY KEY,       -- in the order of its rows, within a recording
    sid INTEGER NOT NULL,          -- recording_keys.sid
    first_id INTEGER NOT NULL,     -- the message ids of its first and last row
    last_id INTEGER NOT NULL,
    packed_size INTEGER NOT NULL,  -- bytes before compression
    packed BLOB NOT NULL           -- zstd: the rows' ids, positions, rows and lengths, and their text
);
CREATE INDEX IF NOT EXISTS screen_chunks_by_rec ON screen_chunks (sid, last_id);
CREATE VIRTUAL TABLE IF NOT EXISTS screen_chunks_fts USING fts5(text, content='',
    tokenize='trigram case_sensitive 1', detail=none, columnsize=0);
)sql",
    // 8: the sessions search's rare filters driven from indexes rather
    // than by reading the sort's index and probing session_info for each
    // session: whether the session followed failed authentications and
    // whether it ended, copied into sessions (merge_session reads them
    // from session_info; a start event stored after the session's row
    // updates it), and an index per sort over the sessions with failed
    // authentications and over those not ended (live or interrupted).
    // The columns are added before it, if missing (no IF NOT EXISTS).
    R"sql(
UPDATE sessions SET
    failed_auth = (SELECT i.failed_auth FROM session_info i WHERE i.host = sessions.host AND i.rec = sessions.rec),
    ended = (SELECT i.ended FROM session_info i WHERE i.host = sessions.host AND i.rec = sessions.rec)
    WHERE EXISTS (SELECT 1 FROM session_info i WHERE i.host = sessions.host AND i.rec = sessions.rec
                  AND (i.failed_auth > 0 OR i.ended = 1));
CREATE INDEX IF NOT EXISTS sessions_failed_auth_by_start ON sessions (start_ms, host, rec) WHERE failed_auth > 0;
CREATE INDEX IF NOT EXISTS sessions_failed_auth_by_end ON sessions (end_ms, host, rec) WHERE failed_auth > 0;
CREATE INDEX IF NOT EXISTS sessions_failed_auth_by_duration ON sessions ((end_ms - start_ms), host, rec)
    WHERE failed_auth > 0;
CREATE INDEX IF NOT EXISTS sessions_failed_auth_by_bytes ON sessions (bytes, host, rec) WHERE failed_auth > 0;
CREATE INDEX IF NOT EXISTS sessions_open_by_start ON sessions (start_ms, host, rec) WHERE ended = 0;
CREATE INDEX IF NOT EXISTS sessions_open_by_end ON sessions (end_ms, host, rec) WHERE ended = 0;
CREATE INDEX IF NOT EXISTS sessions_open_by_duration ON sessions ((end_ms - start_ms), host, rec) WHERE ended = 0;
CREATE INDEX IF NOT EXISTS sessions_open_by_bytes ON sessions (bytes, host, rec) WHERE ended = 0;
)sql",
    // 9: ingest tokens (tlog-server token issue HOST): the SHA-256 of
    // each random 256-bit token, never the token; a revoked one is kept,
    // marked, for the record.
    R"sql(
CREATE TABLE IF NOT EXISTS ingest_tokens (
    id TEXT PRIMARY KEY,            -- the hash's first 12 hex digits, as token list shows it
    host TEXT NOT NULL,             -- the identity the token proves
    sha256 TEXT NOT NULL UNIQUE,    -- hex of the token's SHA-256
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER              -- NULL while valid
);
)sql",
    // 10: retention (retention.cc): each recording's class as decided,
    // legal holds, and the tombstones purges leave (kept for ever).
    R"sql(
CREATE TABLE IF NOT EXISTS retention_class (
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    class TEXT NOT NULL,              -- '' : none (kept)
    rule TEXT NOT NULL,               -- the start event's rule; '' : none
    decided_ms INTEGER NOT NULL,
    from_start INTEGER NOT NULL,      -- 1: decided from a stored start event
    PRIMARY KEY (host, rec)
);
CREATE TABLE IF NOT EXISTS retention_holds (
    hid INTEGER PRIMARY KEY,
    host TEXT NOT NULL,               -- '' : any
    rec TEXT NOT NULL,
    usr TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_ms INTEGER NOT NULL,
    cleared_by TEXT NOT NULL DEFAULT '',
    clear_reason TEXT NOT NULL DEFAULT '',
    cleared_ms INTEGER NOT NULL DEFAULT 0  -- 0: in force
);
CREATE TABLE IF NOT EXISTS retention_tombstones (
    tid INTEGER PRIMARY KEY,
    run_ms INTEGER NOT NULL,
    purged_ms INTEGER NOT NULL,
    who TEXT NOT NULL,
    account TEXT NOT NULL,
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    usr TEXT NOT NULL,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    action TEXT NOT NULL,
    archive_file TEXT NOT NULL,
    archive_sha256 TEXT NOT NULL,
    class TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS retention_tombstones_by_rec ON retention_tombstones (rec, host);
)sql",
    // 11: signed checkpoints (checkpoint.cc; doc/server.md, "Integrity"):
    // each checkpoint's signed statement, its entries (the Merkle tree's
    // leaves in order), and each recording's last entry with the sessions
    // count it was made from (what the next checkpoint extends; a cache,
    // never trusted by verify).
    R"sql(
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    prev TEXT NOT NULL,          -- hex: the previous checkpoint's hash
    root TEXT NOT NULL,          -- hex: the Merkle root of its entries
    entries INTEGER NOT NULL,
    key_id TEXT NOT NULL,        -- the signing key's fingerprint
    signature TEXT NOT NULL      -- hex: Ed25519 over the statement
);
CREATE TABLE IF NOT EXISTS checkpoint_entries (
    seq INTEGER NOT NULL,
    leaf INTEGER NOT NULL,
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    covered INTEGER NOT NULL,
    last_id INTEGER NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (seq, leaf)
);
CREATE INDEX IF NOT EXISTS checkpoint_entries_by_rec ON checkpoint_entries (rec, host, seq);
CREATE TABLE IF NOT EXISTS checkpoint_heads (
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    seq INTEGER NOT NULL,
    covered INTEGER NOT NULL,
    last_id INTEGER NOT NULL,
    hash TEXT NOT NULL,
    seen INTEGER NOT NULL,       -- sessions.messages when it was made
    PRIMARY KEY (host, rec)
);
)sql",
    // 12: viewers' credentials (viewer_auth.cc): API tokens and signed-in
    // sessions, each kept as the SHA-256 of its secret only; the access log.
    R"sql(
CREATE TABLE IF NOT EXISTS viewer_tokens (
    id TEXT PRIMARY KEY,             -- public: what list shows and revoke takes
    hash TEXT NOT NULL UNIQUE,       -- hex SHA-256 of the token
    viewer TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,     -- 0: never
    revoked_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS viewer_sessions (
    hash TEXT PRIMARY KEY,           -- hex SHA-256 of the cookie's session id
    viewer TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL
);
-- The access log (access_log.cc): every search, view and refusal.
CREATE TABLE IF NOT EXISTS access_log (
    id INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    viewer TEXT NOT NULL,
    remote TEXT NOT NULL,
    action TEXT NOT NULL,            -- search, view, manage
    outcome TEXT NOT NULL,           -- ok, refused, absent
    route TEXT NOT NULL,
    host TEXT NOT NULL,
    rec TEXT NOT NULL,               -- '' for a search
    detail TEXT NOT NULL             -- JSON: a search's query and hits
);
CREATE INDEX IF NOT EXISTS access_log_by_time ON access_log (time_ms);
CREATE INDEX IF NOT EXISTS access_log_by_viewer ON access_log (viewer, id);
CREATE INDEX IF NOT EXISTS access_log_by_rec ON access_log (rec, id);
)sql",
    // 13: signed tombstones (retention.cc; doc/server.md, "Retention"):
    // with a checkpoint key, each tombstone's recording hash at purge time
    // and the key's signature over its statement (proof::TombstoneStatement).
    R"sql(
CREATE TABLE IF NOT EXISTS tombstone_signatures (
    tid INTEGER PRIMARY KEY,          -- retention_tombstones.tid
    hash TEXT NOT NULL,              -- hex: proof::RecordingHash at purge time
    count INTEGER NOT NULL,           -- its count
    key_id TEXT NOT NULL,            -- the signing key's fingerprint
    signature TEXT NOT NULL          -- hex: Ed25519 over the statement
);
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

// The sessions search's exact check of screen text (index_http.cc's
// text_condition): tlog_chunk_has(sid, packed_size, packed, text) reads a
// chunk found by the trigram index and says whether one of its rows holds
// the text; the recordings found so far by the statement running are
// noted, and tlog_text_found(sid, text) says so without reading another
// of their chunks (a text on every screen would read them all).
struct TextFound {
    std::string db;
    std::map<std::string, std::set<int64_t>, std::less<>> found;  // text -> recordings
};
std::string_view value_view(sqlite3_value* v) {
    const auto* p = sqlite3_value_text(v);
    return p != nullptr
               ? std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_value_bytes(v)))
               : std::string_view();
}
void text_found_fn(sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
    try {
        const auto* f = static_cast<const TextFound*>(sqlite3_user_data(ctx));
        auto it = f->found.find(value_view(argv[1]));
        sqlite3_result_int(ctx, it != f->found.end() && it->second.count(sqlite3_value_int64(argv[0])) > 0 ? 1 : 0);
    } catch (const std::exception& e) {
        sqlite3_result_error(ctx, e.what(), -1);
    }
}
void chunk_has_fn(sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
    try {
        auto* f = static_cast<TextFound*>(sqlite3_user_data(ctx));
        std::string_view needle = value_view(argv[3]);
        std::string text =
            unpack_chunk_text(sqlite3_value_blob(argv[2]), static_cast<size_t>(sqlite3_value_bytes(argv[2])),
                              static_cast<uint64_t>(std::max<sqlite3_int64>(0, sqlite3_value_int64(argv[1]))), f->db);
        bool has = chunk_text_has(text, needle);
        if (has) {
            auto it = f->found.find(needle);
            if (it == f->found.end()) it = f->found.emplace(std::string(needle), std::set<int64_t>()).first;
            it->second.insert(sqlite3_value_int64(argv[0]));
        }
        sqlite3_result_int(ctx, has ? 1 : 0);
    } catch (const std::exception& e) {
        sqlite3_result_error(ctx, e.what(), -1);
    }
}

// Sessions an indexer of this process holds, by database file.
std::mutex index_locks_mu;                                                // NOLINT(cert-err58-cpp)
std::set<std::tuple<std::string, std::string, std::string>> index_locks;  // NOLINT(cert-err58-cpp)

class SqliteStore final : public Store {
public:
    explicit SqliteStore(const std::string& path);

    int schema_version() override;
    std::vector<AuditEvent> audit_events(const std::string& rec, const std::optional<AuditKey>& after,
                                         size_t limit) override;
    std::vector<IndexWork> index_work(size_t limit) override;
    std::optional<IndexState> index_state(const std::string& host, const std::string& rec) override;
    void save_index(const IndexState& st, const std::vector<StoredKeyframe>& keyframes,
                    const std::vector<ScreenTextRow>& rows, uint64_t redo_from) override;
    std::optional<StoredKeyframe> keyframe_at(const std::string& host, const std::string& rec,
                                              uint64_t pos_ms) override;
    std::vector<ScreenTextRow> text_hits(const std::string& host, const std::string& rec, const std::string& text,
                                         size_t limit) override;
    // One file, one process: the locks are this process's (two indexers
    // of one server, tests).
    bool try_lock_index(const std::string& host, const std::string& rec) override {
        std::lock_guard<std::mutex> g(index_locks_mu);
        return index_locks.insert({name(), host, rec}).second;
    }
    void unlock_index(const std::string& host, const std::string& rec) override {
        std::lock_guard<std::mutex> g(index_locks_mu);
        index_locks.erase({name(), host, rec});
    }
    std::string host_of(const std::string& rec) override;

protected:
    std::vector<SqlRow> sql_query(const std::string& text, const std::vector<SqlValue>& params) override;
    uint64_t sql_exec(const std::string& text, const std::vector<SqlValue>& params) override;
    bool is_postgres() const override { return false; }
    // BEGIN IMMEDIATE: the write lock up front, so a second writer on the
    // same file waits (busy timeout) instead of failing at its first insert.
    void begin_transaction() override {
        exec("BEGIN IMMEDIATE;");
        next_batch_ = 0;
    }
    void commit_transaction() override { exec("COMMIT;"); }
    void rollback_transaction() noexcept override { sqlite3_exec(db_.get(), "ROLLBACK;", nullptr, nullptr, nullptr); }
    RecordingKey recording_key(const std::string& host, const std::string& rec) override;
    void set_open_batch(uint64_t key, uint64_t batch) override;
    uint64_t new_batch_id() override;
    bool claim_message(uint64_t key, uint64_t id, uint64_t batch, uint32_t ord) override;
    void insert_batch(uint64_t batch, uint64_t key, uint64_t json_size, std::string_view sizes,
                      std::string_view zstd) override;
    std::vector<std::pair<uint64_t, std::string>> recording_keys(const std::string& rec,
                                                                 const std::string& host) override;
    std::vector<MessageRef> message_refs(uint64_t key, uint64_t after_id, uint64_t offset, size_t limit) override;
    uint64_t count_messages(uint64_t key) override;
    std::map<uint64_t, BatchRow> read_batches(const std::vector<uint64_t>& batches) override;
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
    sqlite3_stmt* cached(const std::string& text, const std::vector<SqlValue>& params);
    // A migration's new column, unless there (SQLite's ADD COLUMN has no IF
    // NOT EXISTS; a database set back to an older version migrates again).
    void add_column(const std::string& table, const std::string& column, const std::string& type) {
        auto col = prepare(("SELECT 1 FROM pragma_table_info('" + table + "') WHERE name = '" + column + "'").c_str());
        if (sqlite3_step(col.get()) != SQLITE_ROW) {
            exec(("ALTER TABLE " + table + " ADD COLUMN " + column + " " + type + ";").c_str());
        }
    }

    Db db_;
    Stmt add_key_, find_key_, set_open_, max_batch_, claim_, insert_batch_, merge_session_, insert_audit_;
    // The next batch id this transaction gives out (0: read it first): the
    // transaction holds the database's write lock, so nobody else does.
    uint64_t next_batch_ = 0;
    // session_search.cc's statements, prepared once each: the searches
    // vary with their filters but repeat, and ingest's run per session.
    std::map<std::string, Stmt> cache_;
    TextFound text_found_;  // the functions' state, for the statement running
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
    // Servers opening a new file at once: turning it to WAL takes an
    // exclusive lock, and of two connections that would wait for each
    // other SQLite refuses one at once, without the busy handler; that one
    // tries again once the other is through.
    for (int attempt = 1;; ++attempt) {
        int busy = sqlite3_exec(db, "PRAGMA journal_mode=WAL;", nullptr, nullptr, nullptr);
        if (busy == SQLITE_OK) {
            break;
        }
        if ((busy & 0xff) != SQLITE_BUSY || attempt >= 100) {
            fail("cannot turn on WAL mode");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10 + attempt));
    }
    exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    exec("BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
    try {
        int v = schema_version();
        check_schema_version(v, path);
        for (int i = v; i < schema_versions; ++i) {
            if (i == 3) {
                add_column("audit_events", "audit_user", "TEXT NOT NULL DEFAULT ''");
            }
            if (i == 7) {
                add_column("sessions", "failed_auth", "INTEGER NOT NULL DEFAULT 0");
                add_column("sessions", "ended", "INTEGER NOT NULL DEFAULT 0");
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
    text_found_.db = path;
    if (sqlite3_create_function_v2(db, "tlog_text_found", 2, SQLITE_UTF8, &text_found_, text_found_fn, nullptr, nullptr,
                                   nullptr) != SQLITE_OK ||
        sqlite3_create_function_v2(db, "tlog_chunk_has", 4, SQLITE_UTF8, &text_found_, chunk_has_fn, nullptr, nullptr,
                                   nullptr) != SQLITE_OK) {
        fail("registering the text search's functions");
    }
    add_key_ = prepare("INSERT OR IGNORE INTO recording_keys (host, rec) VALUES (?1, ?2)");
    find_key_ = prepare("SELECT sid, open_bid FROM recording_keys WHERE rec = ?2 AND host = ?1");
    set_open_ = prepare("UPDATE recording_keys SET open_bid = ?2 WHERE sid = ?1");
    max_batch_ = prepare("SELECT coalesce(max(bid), 0) FROM message_batches");
    claim_ = prepare("INSERT OR IGNORE INTO message_ids (sid, id, bid, ord) VALUES (?, ?, ?, ?)");
    insert_batch_ = prepare(
        "INSERT INTO message_batches (bid, sid, json_size, sizes, json_zstd) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (bid) DO UPDATE SET json_size = excluded.json_size, sizes = excluded.sizes, "
        "json_zstd = excluded.json_zstd");
    merge_session_ = prepare(
        "INSERT INTO sessions (host, rec, user, term, session, first_id, last_id, start_ms, end_ms, messages, bytes, "
        "failed_auth, ended) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
        "coalesce((SELECT failed_auth FROM session_info WHERE host = ?1 AND rec = ?2), 0), "
        "coalesce((SELECT ended FROM session_info WHERE host = ?1 AND rec = ?2), 0)) "
        "ON CONFLICT (host, rec) DO UPDATE SET "
        "first_id = min(first_id, excluded.first_id), last_id = max(last_id, excluded.last_id), "
        "start_ms = min(start_ms, excluded.start_ms), end_ms = max(end_ms, excluded.end_ms), "
        "messages = messages + excluded.messages, bytes = bytes + excluded.bytes, "
        "failed_auth = max(failed_auth, excluded.failed_auth), ended = max(ended, excluded.ended)");
    insert_audit_ = prepare(
        "INSERT OR IGNORE INTO audit_events (host, serial, time_ms, type, ses, rec, session_start, json_size, "
        "json_zstd, audit_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
}

int SqliteStore::schema_version() {
    auto s = prepare("SELECT version FROM schema_version");
    return sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int(s.get(), 0) : 0;
}

Store::RecordingKey SqliteStore::recording_key(const std::string& host, const std::string& rec) {
    for (auto* st : {add_key_.get(), find_key_.get()}) {
        sqlite3_reset(st);
        bind_text(st, 1, host);
        bind_text(st, 2, rec);
    }
    if (sqlite3_step(add_key_.get()) != SQLITE_DONE) {
        fail("storing a recording's key");
    }
    if (sqlite3_step(find_key_.get()) != SQLITE_ROW) {
        fail("reading a recording's key");
    }
    RecordingKey key{col_u64(find_key_.get(), 0), col_u64(find_key_.get(), 1)};
    // A statement left on a row would keep its read transaction open past
    // COMMIT, and this connection's next write would find its snapshot
    // stale (SQLITE_BUSY) once another writer committed.
    sqlite3_reset(find_key_.get());
    return key;
}

void SqliteStore::set_open_batch(uint64_t key, uint64_t batch) {
    auto* s = set_open_.get();
    sqlite3_reset(s);
    bind_u64(s, 1, key);
    if (batch == 0) {
        sqlite3_bind_null(s, 2);
    } else {
        bind_u64(s, 2, batch);
    }
    if (sqlite3_step(s) != SQLITE_DONE) {
        fail("storing a recording's open batch");
    }
}

uint64_t SqliteStore::new_batch_id() {
    if (next_batch_ == 0) {
        auto* s = max_batch_.get();
        sqlite3_reset(s);
        if (sqlite3_step(s) != SQLITE_ROW) {
            fail("reading the last batch id");
        }
        next_batch_ = col_u64(s, 0) + 1;
        sqlite3_reset(s);
    }
    return next_batch_++;
}

bool SqliteStore::claim_message(uint64_t key, uint64_t id, uint64_t batch, uint32_t ord) {
    auto* s = claim_.get();
    sqlite3_reset(s);
    bind_u64(s, 1, key);
    bind_u64(s, 2, id);
    bind_u64(s, 3, batch);
    bind_u64(s, 4, ord);
    if (sqlite3_step(s) != SQLITE_DONE) {
        fail("storing a message");
    }
    return sqlite3_changes(db_.get()) != 0;
}

void SqliteStore::insert_batch(uint64_t batch, uint64_t key, uint64_t json_size, std::string_view sizes,
                               std::string_view zstd) {
    auto* s = insert_batch_.get();
    sqlite3_reset(s);
    bind_u64(s, 1, batch);
    bind_u64(s, 2, key);
    bind_u64(s, 3, json_size);
    if (sizes.empty()) {
        sqlite3_bind_null(s, 4);
    } else {
        sqlite3_bind_blob(s, 4, sizes.data(), static_cast<int>(sizes.size()), SQLITE_TRANSIENT);
    }
    sqlite3_bind_blob(s, 5, zstd.data(), static_cast<int>(zstd.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
        fail("storing messages");
    }
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

std::vector<std::pair<uint64_t, std::string>> SqliteStore::recording_keys(const std::string& rec,
                                                                          const std::string& host) {
    auto st = prepare("SELECT sid, host FROM recording_keys WHERE rec = ?1 AND (?2 = '' OR host = ?2) ORDER BY host");
    auto* s = st.get();
    bind_text(s, 1, rec);
    bind_text(s, 2, host);
    std::vector<std::pair<uint64_t, std::string>> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        out.emplace_back(col_u64(s, 0), col_text(s, 1));
    }
    if (rc != SQLITE_DONE) {
        fail("reading a recording's keys");
    }
    return out;
}

std::vector<Store::MessageRef> SqliteStore::message_refs(uint64_t key, uint64_t after_id, uint64_t offset,
                                                         size_t limit) {
    auto st = prepare("SELECT id, bid, ord FROM message_ids WHERE sid = ?1 AND id > ?2 ORDER BY id LIMIT ?3 OFFSET ?4");
    auto* s = st.get();
    bind_u64(s, 1, key);
    bind_u64(s, 2, after_id);
    bind_u64(s, 3, limit);
    bind_u64(s, 4, offset);
    std::vector<MessageRef> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        out.push_back({col_u64(s, 0), col_u64(s, 1), static_cast<uint32_t>(col_u64(s, 2))});
    }
    if (rc != SQLITE_DONE) {
        fail("reading messages");
    }
    return out;
}

uint64_t SqliteStore::count_messages(uint64_t key) {
    auto st = prepare("SELECT count(*) FROM message_ids WHERE sid = ?");
    bind_u64(st.get(), 1, key);
    if (sqlite3_step(st.get()) != SQLITE_ROW) {
        fail("counting messages");
    }
    return col_u64(st.get(), 0);
}

std::map<uint64_t, Store::BatchRow> SqliteStore::read_batches(const std::vector<uint64_t>& batches) {
    auto st = prepare("SELECT json_size, sizes, json_zstd FROM message_batches WHERE bid = ?");
    auto* s = st.get();
    std::map<uint64_t, BatchRow> out;
    for (uint64_t b : batches) {
        sqlite3_reset(s);
        bind_u64(s, 1, b);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            BatchRow row;
            row.json_size = col_u64(s, 0);
            const auto* sizes = static_cast<const char*>(sqlite3_column_blob(s, 1));
            row.sizes.assign(sizes != nullptr ? sizes : "", static_cast<size_t>(sqlite3_column_bytes(s, 1)));
            const auto* zstd = static_cast<const char*>(sqlite3_column_blob(s, 2));
            row.zstd.assign(zstd != nullptr ? zstd : "", static_cast<size_t>(sqlite3_column_bytes(s, 2)));
            out.emplace(b, std::move(row));
        } else if (rc != SQLITE_DONE) {
            fail("reading messages");
        }
    }
    return out;
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

std::vector<IndexWork> SqliteStore::index_work(size_t limit) {
    auto st = prepare(
        "SELECT s.host, s.rec, s.messages FROM sessions s LEFT JOIN session_index i ON i.host = s.host AND i.rec = "
        "s.rec "
        "WHERE i.host IS NULL OR (s.messages > i.seen_messages AND s.last_id > i.indexed_through) LIMIT ?1");
    auto* s = st.get();
    bind_u64(s, 1, limit);
    std::vector<IndexWork> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        out.push_back({col_text(s, 0), col_text(s, 1), col_u64(s, 2)});
    }
    if (rc != SQLITE_DONE) {
        fail("listing sessions to index");
    }
    return out;
}

std::optional<IndexState> SqliteStore::index_state(const std::string& host, const std::string& rec) {
    auto st = prepare(
        "SELECT verdict, label, first_bad_id, indexed_through, seen_messages FROM session_index WHERE host = ?1 "
        "AND rec = ?2");
    auto* s = st.get();
    bind_text(s, 1, host);
    bind_text(s, 2, rec);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        return std::nullopt;
    }
    if (rc != SQLITE_ROW) {
        fail("reading the index state");
    }
    return IndexState{host, rec, col_text(s, 0), col_text(s, 1), col_u64(s, 2), col_u64(s, 3), col_u64(s, 4)};
}

void SqliteStore::save_index(const IndexState& x, const std::vector<StoredKeyframe>& keyframes,
                             const std::vector<ScreenTextRow>& rows, uint64_t redo_from) {
    begin_transaction();
    try {
        auto run = [&](sqlite3_stmt* s, const char* what) {
            if (sqlite3_step(s) != SQLITE_DONE) {
                fail(what);
            }
            sqlite3_reset(s);
        };
        uint64_t sid = 0;
        {
            auto k = prepare("SELECT sid FROM recording_keys WHERE rec = ?2 AND host = ?1");
            bind_text(k.get(), 1, x.host);
            bind_text(k.get(), 2, x.rec);
            if (sqlite3_step(k.get()) != SQLITE_ROW) {
                fail("finding the recording indexed");
            }
            sid = col_u64(k.get(), 0);
        }
        const std::string where = name() + ": " + x.host + "/" + x.rec;
        auto fts_del =
            prepare("INSERT INTO screen_chunks_fts (screen_chunks_fts, rowid, text) VALUES ('delete', ?1, ?2)");
        auto drop = [&](uint64_t cid, const TextChunk& c) {
            bind_u64(fts_del.get(), 1, cid);
            bind_text(fts_del.get(), 2, c.text);
            run(fts_del.get(), "replacing the index");
        };
        auto put = prepare(
            "INSERT OR REPLACE INTO screen_chunks (cid, sid, first_id, last_id, packed_size, packed) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        auto fts_put = prepare("INSERT INTO screen_chunks_fts (rowid, text) VALUES (?1, ?2)");
        // cid 0: a new chunk.
        auto store = [&](uint64_t cid, const TextChunk& c) {
            uint64_t size = 0;
            std::string packed = pack_chunk(c, size);
            if (cid != 0) {
                bind_u64(put.get(), 1, cid);
            } else {
                sqlite3_bind_null(put.get(), 1);
            }
            bind_u64(put.get(), 2, sid);
            bind_u64(put.get(), 3, c.first_id);
            bind_u64(put.get(), 4, c.last_id);
            bind_u64(put.get(), 5, size);
            sqlite3_bind_blob(put.get(), 6, packed.data(), static_cast<int>(packed.size()), SQLITE_TRANSIENT);
            run(put.get(), "saving screen text");
            if (cid == 0) cid = static_cast<uint64_t>(sqlite3_last_insert_rowid(db_.get()));
            bind_u64(fts_put.get(), 1, cid);
            bind_text(fts_put.get(), 2, c.text);
            run(fts_put.get(), "indexing screen text");
        };
        // The chunks of the recording whose last row is at or after
        // `from_id`, in order.
        auto chunks_from = [&](uint64_t from_id, bool last_only) {
            auto q = prepare(last_only ? "SELECT cid, first_id, last_id, packed_size, packed FROM screen_chunks "
                                         "WHERE sid = ?1 AND last_id >= ?2 ORDER BY last_id DESC, cid DESC LIMIT 1"
                                       : "SELECT cid, first_id, last_id, packed_size, packed FROM screen_chunks "
                                         "WHERE sid = ?1 AND last_id >= ?2 ORDER BY last_id, cid");
            bind_u64(q.get(), 1, sid);
            bind_u64(q.get(), 2, from_id);
            std::vector<std::pair<uint64_t, TextChunk>> out;
            int rc = 0;
            while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
                auto* s = q.get();
                out.emplace_back(col_u64(s, 0), unpack_chunk(sqlite3_column_blob(s, 4),
                                                             static_cast<size_t>(sqlite3_column_bytes(s, 4)),
                                                             col_u64(s, 3), col_u64(s, 1), col_u64(s, 2), where));
            }
            if (rc != SQLITE_DONE) fail("reading screen text");
            return out;
        };
        if (redo_from != 0) {
            auto d = prepare("DELETE FROM keyframes WHERE sid = ?1 AND msg_id > ?2");
            bind_u64(d.get(), 1, sid);
            bind_u64(d.get(), 2, redo_from);
            run(d.get(), "replacing the index");
            // Rows from redo_from on are made again: the chunks holding
            // them lose them (a chunk is in the order of its rows).
            auto gone = prepare("DELETE FROM screen_chunks WHERE cid = ?1");
            for (auto& [cid, c] : chunks_from(redo_from, false)) {
                drop(cid, c);
                if (c.first_id >= redo_from) {
                    bind_u64(gone.get(), 1, cid);
                    run(gone.get(), "replacing the index");
                } else {
                    c.truncate_before(redo_from, where);
                    store(cid, c);
                }
            }
        }
        if (!rows.empty()) {
            // The recording's last chunk takes rows while it has room: a
            // live session saved a few rows at a time still fills chunks.
            uint64_t open_cid = 0;
            TextChunk open;
            if (auto last = chunks_from(0, true); !last.empty() && !last.front().second.full()) {
                open_cid = last.front().first;
                open = std::move(last.front().second);
                drop(open_cid, open);
                open.reopen(where);
            }
            auto filled = fill_chunks(std::move(open), rows);
            for (size_t i = 0; i < filled.size(); ++i) {
                if (filled[i].rows > 0) store(i == 0 ? open_cid : 0, filled[i]);
            }
        }
        auto up = prepare(
            "INSERT INTO session_index (host, rec, verdict, label, first_bad_id, indexed_through, seen_messages) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
            "ON CONFLICT (host, rec) DO UPDATE SET verdict = excluded.verdict, label = excluded.label, "
            "first_bad_id = excluded.first_bad_id, indexed_through = excluded.indexed_through, "
            "seen_messages = excluded.seen_messages");
        bind_text(up.get(), 1, x.host);
        bind_text(up.get(), 2, x.rec);
        bind_text(up.get(), 3, x.verdict);
        bind_text(up.get(), 4, x.label);
        bind_u64(up.get(), 5, x.first_bad_id);
        bind_u64(up.get(), 6, x.indexed_through);
        bind_u64(up.get(), 7, x.seen_messages);
        run(up.get(), "saving the index state");
        auto kf = prepare(
            "INSERT OR REPLACE INTO keyframes (sid, pos_ms, msg_id, snap_size, snap_zstd, base_size, base_zstd) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)");
        for (const auto& k : keyframes) {
            bind_u64(kf.get(), 1, sid);
            bind_u64(kf.get(), 2, k.pos_ms);
            bind_u64(kf.get(), 3, k.msg_id);
            bind_u64(kf.get(), 4, k.snapshot.size());
            auto packed = zstd_pack(k.snapshot, keyframe_level);
            sqlite3_bind_blob(kf.get(), 5, packed.data(), static_cast<int>(packed.size()), SQLITE_TRANSIENT);
            bind_u64(kf.get(), 6, k.baseline.size());
            packed = zstd_pack(k.baseline, keyframe_level);
            sqlite3_bind_blob(kf.get(), 7, packed.data(), static_cast<int>(packed.size()), SQLITE_TRANSIENT);
            run(kf.get(), "saving a keyframe");
        }
        commit_transaction();
    } catch (...) {
        rollback_transaction();
        throw;
    }
}

std::optional<StoredKeyframe> SqliteStore::keyframe_at(const std::string& host, const std::string& rec,
                                                       uint64_t pos_ms) {
    auto st = prepare(
        "SELECT pos_ms, msg_id, snap_size, snap_zstd, base_size, base_zstd FROM keyframes WHERE sid = "
        "(SELECT sid FROM recording_keys WHERE rec = ?2 AND host = ?1) AND pos_ms <= ?3 ORDER BY pos_ms DESC, msg_id "
        "DESC LIMIT 1");
    auto* s = st.get();
    bind_text(s, 1, host);
    bind_text(s, 2, rec);
    bind_u64(s, 3, pos_ms);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        return std::nullopt;
    }
    if (rc != SQLITE_ROW) {
        fail("reading a keyframe");
    }
    auto blob = [&](int size_col, int col) {
        return zstd_unpack(sqlite3_column_blob(s, col), static_cast<size_t>(sqlite3_column_bytes(s, col)),
                           col_u64(s, size_col), name());
    };
    return StoredKeyframe{col_u64(s, 0), col_u64(s, 1), blob(2, 3), blob(4, 5)};
}

std::vector<ScreenTextRow> SqliteStore::text_hits(const std::string& host, const std::string& rec,
                                                  const std::string& text, size_t limit) {
    std::string phrase = fts_phrase(text);
    // The candidate chunks in order (from the trigram index when it can
    // answer, which gives them in id order; CROSS JOIN keeps it first),
    // each read and its rows checked exactly as it comes, until the page
    // is full: a text on every screen reads a few chunks.
    auto st = prepare(phrase.empty()
                          ? "SELECT cid FROM screen_chunks WHERE sid = (SELECT sid FROM recording_keys WHERE rec = ?2 "
                            "AND host = ?1) AND ?3 = '' ORDER BY last_id, cid"
                          : "SELECT c.cid FROM screen_chunks_fts CROSS JOIN screen_chunks c ON c.cid = "
                            "screen_chunks_fts.rowid WHERE screen_chunks_fts MATCH ?3 AND c.sid = (SELECT sid FROM "
                            "recording_keys WHERE rec = ?2 AND host = ?1) ORDER BY screen_chunks_fts.rowid");
    auto* s = st.get();
    bind_text(s, 1, host);
    bind_text(s, 2, rec);
    bind_text(s, 3, phrase);
    const std::string where = name() + ": " + host + "/" + rec;
    auto one = prepare("SELECT first_id, last_id, packed_size, packed FROM screen_chunks WHERE cid = ?1");
    std::vector<ScreenTextRow> out;
    int rc = 0;
    while (out.size() < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        bind_u64(one.get(), 1, col_u64(s, 0));
        auto* o = one.get();
        if (sqlite3_step(o) != SQLITE_ROW) fail("reading screen text");
        auto c = unpack_chunk(sqlite3_column_blob(o, 3), static_cast<size_t>(sqlite3_column_bytes(o, 3)), col_u64(o, 2),
                              col_u64(o, 0), col_u64(o, 1), where);
        sqlite3_reset(o);
        chunk_hits(c, text, limit, out, where);
    }
    if (out.size() < limit && rc != SQLITE_DONE) {
        fail("searching screen text");
    }
    return out;
}

std::string SqliteStore::host_of(const std::string& rec) {
    auto st = prepare("SELECT host FROM sessions WHERE rec = ?1 ORDER BY host LIMIT 1");
    bind_text(st.get(), 1, rec);
    return sqlite3_step(st.get()) == SQLITE_ROW ? col_text(st.get(), 0) : std::string();
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
    text_found_.found.clear();  // what a statement found is its own
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

// Each of the text's trigrams (characters, as the tokenizer reads them)
// once, quoted, ANDed: a row holding the text holds them all.
std::string fts_phrase(const std::string& text) {
    // Rows are valid UTF-8; a text that is not (part of a character) is
    // scanned for, as the tokenizer reads characters.
    std::vector<size_t> starts;
    const auto* p = reinterpret_cast<const uint8_t*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        size_t n = utf8::valid_prefix(p, end);
        if (n == 0) return {};
        starts.push_back(static_cast<size_t>(p - reinterpret_cast<const uint8_t*>(text.data())));
        p += n;
    }
    if (starts.size() < 3) return {};
    starts.push_back(text.size());
    std::set<std::string_view> seen;
    std::string out;
    for (size_t i = 0; i + 3 < starts.size(); ++i) {
        std::string_view tri(text.data() + starts[i], starts[i + 3] - starts[i]);
        if (!seen.insert(tri).second) continue;
        if (!out.empty()) out += " AND ";
        out += '"';
        for (char c : tri) {
            out += c;
            if (c == '"') out += '"';
        }
        out += '"';
    }
    return out;
}

}  // namespace tlog::server
