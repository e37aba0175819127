// The PostgreSQL backend (libpq): one database shared by any number of
// tlog-server instances. Concurrency rests on these:
//   - a transaction writes a recording's messages only while it holds the
//     recording's advisory lock (transaction-scoped, on host and rec), so
//     its inserts and its session upsert never wait for another writer.
//     It waits for that lock only while it holds no other; otherwise it
//     only tries, and if the recording is busy the request is run again
//     (TransientStoreError). A transaction that waits holds nothing, so no
//     cycle of waits, no deadlock, can form;
//   - while the lock is held nobody else stores that recording's messages,
//     so which ids are stored is read once per window of ids, a message is
//     judged new or a duplicate without a round trip, and the new ones are
//     inserted many rows to a statement;
//   - READ COMMITTED: each statement sees what was committed before it, so
//     ids read once the lock is granted include all the previous holder
//     stored (a transaction snapshot could predate the lock);
//   - a session's row is merged with one upsert per transaction whose
//     LEAST/GREATEST and additions read the row as it is when locked, not
//     a snapshot, so concurrent additions are never lost or doubled.
// A connection lost (PostgreSQL restarted, a failover) is opened again:
// a transaction it broke is reported as TransientStoreError too (running a
// request again is safe: what was stored is found as duplicates), and a
// read is run once more on the new connection.
// Migrations run under an advisory lock, so instances starting together
// apply each once.
#include <endian.h>
#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <stdexcept>

#include "screen_chunks.h"
#include "store_backend.h"
#include "tlog/server/store.h"

namespace tlog::server {

namespace {

struct ConnClose {
    void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClear {
    void operator()(PGresult* r) const { PQclear(r); }
};
struct ConninfoFree {
    void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};
using Conn = std::unique_ptr<PGconn, ConnClose>;
using Result = std::unique_ptr<PGresult, ResultClear>;

// The same versions as store_sqlite.cc's. Text compares bytewise (COLLATE
// "C") as in SQLite, so paging and ordering do not depend on the
// database's locale.
constexpr std::array migrations = {
    R"sql(
CREATE TABLE messages (
    host TEXT COLLATE "C" NOT NULL,
    rec TEXT COLLATE "C" NOT NULL,
    id BIGINT NOT NULL,
    json_size BIGINT NOT NULL,  -- bytes of the original JSON
    json_zstd BYTEA NOT NULL,   -- the original JSON, zstd-compressed
    PRIMARY KEY (rec, id, host)
);
-- Already compressed: TOAST must not try to compress it again.
ALTER TABLE messages ALTER COLUMN json_zstd SET STORAGE EXTERNAL;
CREATE TABLE sessions (
    host TEXT COLLATE "C" NOT NULL,
    rec TEXT COLLATE "C" NOT NULL,
    "user" TEXT COLLATE "C" NOT NULL,
    term TEXT COLLATE "C" NOT NULL,
    session BIGINT NOT NULL,
    first_id BIGINT NOT NULL,
    last_id BIGINT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    messages BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    PRIMARY KEY (host, rec)
);
CREATE INDEX sessions_by_start ON sessions (start_ms, host, rec);
CREATE INDEX sessions_by_user ON sessions ("user", start_ms);
)sql",
    // 2: SQLite's messages table changed layout; PostgreSQL's heap already
    // stores rows with their key in a separate index.
    R"sql(
COMMENT ON TABLE messages IS 'tlog messages, the original JSON zstd-compressed; key (rec, id, host)';
)sql",
    // 3: tlog-audit's events, as in SQLite.
    R"sql(
CREATE TABLE IF NOT EXISTS audit_events (
    host TEXT COLLATE "C" NOT NULL,
    serial BIGINT NOT NULL,
    time_ms BIGINT NOT NULL,
    type TEXT COLLATE "C" NOT NULL,   -- '' when the event has none
    ses BIGINT,                       -- NULL: no audit session
    rec TEXT COLLATE "C" NOT NULL,    -- '' when not joined
    session_start BOOLEAN NOT NULL,   -- pam_tlog's start record naming rec
    json_size BIGINT NOT NULL,
    json_zstd BYTEA NOT NULL
);
ALTER TABLE audit_events ALTER COLUMN json_zstd SET STORAGE EXTERNAL;
CREATE UNIQUE INDEX IF NOT EXISTS audit_key ON audit_events (host, serial, time_ms, type);
CREATE INDEX IF NOT EXISTS audit_by_session ON audit_events (host, ses, time_ms);
CREATE INDEX IF NOT EXISTS audit_by_rec ON audit_events (rec, time_ms);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit_events (time_ms);
)sql",
    // 4: the sessions search, as in SQLite.
    R"sql(
CREATE TABLE IF NOT EXISTS session_info (
    host TEXT COLLATE "C" NOT NULL,
    rec TEXT COLLATE "C" NOT NULL,
    service TEXT COLLATE "C" NOT NULL DEFAULT '',  -- pam_tlog's start event: '' until it is stored
    tty TEXT COLLATE "C" NOT NULL DEFAULT '',
    rhost TEXT COLLATE "C" NOT NULL DEFAULT '',
    ses BIGINT,                            -- the login's audit session
    audit_start_ms BIGINT,                 -- the start event's time
    failed_auth BIGINT NOT NULL DEFAULT 0, -- failed authentications joined to it
    closed_ms BIGINT,                      -- its audit session's USER_END
    ended BIGINT NOT NULL DEFAULT 0,       -- 1: the message carrying end is stored
    groups_done BIGINT NOT NULL DEFAULT 0, -- 1: the user's groups were looked up
    groups TEXT NOT NULL DEFAULT '[]',    -- a JSON array of group names
    PRIMARY KEY (host, rec)
);
CREATE INDEX IF NOT EXISTS session_info_by_ses ON session_info (host, ses);
CREATE INDEX IF NOT EXISTS session_info_failed_auth ON session_info (host, rec) WHERE failed_auth > 0;
CREATE INDEX IF NOT EXISTS session_info_open ON session_info (host, rec) WHERE ended = 0;
CREATE TABLE IF NOT EXISTS session_groups (
    grp TEXT COLLATE "C" NOT NULL,
    host TEXT COLLATE "C" NOT NULL,
    rec TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (grp, host, rec)
);
CREATE INDEX IF NOT EXISTS sessions_by_end ON sessions (end_ms, host, rec);
CREATE INDEX IF NOT EXISTS sessions_by_duration ON sessions ((end_ms - start_ms), host, rec);
CREATE INDEX IF NOT EXISTS sessions_by_bytes ON sessions (bytes, host, rec);
CREATE INDEX IF NOT EXISTS sessions_by_host ON sessions (host, start_ms, rec);
ALTER TABLE audit_events ADD COLUMN IF NOT EXISTS audit_user TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS audit_by_user ON audit_events (audit_user, time_ms);
CREATE INDEX IF NOT EXISTS audit_by_host_time ON audit_events (host, time_ms);
CREATE INDEX IF NOT EXISTS audit_by_type ON audit_events (type, time_ms);
)sql",
    // 5: messages in batches, as in SQLite: a row per batch (one zstd
    // frame), keyed by an integer per recording. Unlike SQLite's,
    // message_ids holds runs of consecutive ids stored one after another
    // in one batch (at most max_run): a PostgreSQL row and its index entry
    // cost about 80 bytes, as much as 0.04 bytes per byte of JSON with a
    // row per message. Each row of the former table becomes a batch of one
    // message; the former table stays, empty.
    R"sql(
CREATE TABLE IF NOT EXISTS recording_keys (
    sid BIGSERIAL PRIMARY KEY,
    host TEXT COLLATE "C" NOT NULL,
    rec TEXT COLLATE "C" NOT NULL,
    open_bid BIGINT,            -- the batch the next messages join; NULL: none
    UNIQUE (rec, host)
);
CREATE SEQUENCE IF NOT EXISTS message_batches_bid;
CREATE TABLE IF NOT EXISTS message_batches (
    bid BIGINT PRIMARY KEY,
    sid BIGINT NOT NULL,        -- recording_keys.sid
    json_size BIGINT NOT NULL,  -- bytes of the messages' JSON, together
    sizes BYTEA,                -- each message's size (LEB128); NULL: one message
    json_zstd BYTEA NOT NULL    -- the messages' JSON one after another, one zstd frame
);
ALTER TABLE message_batches ALTER COLUMN json_zstd SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS message_ids (
    sid BIGINT NOT NULL,
    id BIGINT NOT NULL,         -- the run's first id
    bid BIGINT NOT NULL,        -- message_batches.bid
    n INTEGER NOT NULL,         -- ids in the run: id .. id + n - 1
    ord INTEGER NOT NULL,       -- the first id's place in its batch, from 0; the others follow it
    PRIMARY KEY (sid, id)
);
INSERT INTO recording_keys (host, rec) SELECT DISTINCT host, rec FROM messages ORDER BY rec, host
    ON CONFLICT DO NOTHING;
CREATE TEMP TABLE v4_moved ON COMMIT DROP AS
    SELECT nextval('message_batches_bid') AS bid, k.sid, m.id, m.json_size, m.json_zstd
    FROM messages m JOIN recording_keys k ON k.rec = m.rec AND k.host = m.host;
INSERT INTO message_batches (bid, sid, json_size, sizes, json_zstd)
    SELECT bid, sid, json_size, NULL, json_zstd FROM v4_moved;
INSERT INTO message_ids (sid, id, bid, n, ord) SELECT sid, id, bid, 1, 0 FROM v4_moved;
DELETE FROM messages;
)sql",
    // 6: the index (index.cc), as in SQLite (keyframes and rows keyed by
    // recording_keys.sid).
    R"sql(
CREATE TABLE IF NOT EXISTS session_index (
    host TEXT COLLATE "C" NOT NULL,
    rec TEXT COLLATE "C" NOT NULL,
    verdict TEXT COLLATE "C" NOT NULL,
    label TEXT NOT NULL,
    first_bad_id BIGINT NOT NULL,
    indexed_through BIGINT NOT NULL,
    seen_messages BIGINT NOT NULL,
    PRIMARY KEY (host, rec)
);
CREATE INDEX IF NOT EXISTS session_index_by_verdict ON session_index (verdict);
CREATE TABLE IF NOT EXISTS keyframes (
    sid BIGINT NOT NULL,        -- recording_keys.sid
    pos_ms BIGINT NOT NULL,
    msg_id BIGINT NOT NULL,
    snap_size BIGINT NOT NULL,
    snap_zstd BYTEA NOT NULL,
    base_size BIGINT NOT NULL,
    base_zstd BYTEA NOT NULL,
    PRIMARY KEY (sid, msg_id)
);
ALTER TABLE keyframes ALTER COLUMN snap_zstd SET STORAGE EXTERNAL;
ALTER TABLE keyframes ALTER COLUMN base_zstd SET STORAGE EXTERNAL;
CREATE INDEX IF NOT EXISTS keyframes_by_pos ON keyframes (sid, pos_ms, msg_id);
CREATE TABLE IF NOT EXISTS screen_text (
    sid BIGINT NOT NULL,
    msg_id BIGINT NOT NULL,
    pos_ms BIGINT NOT NULL,
    "row" INTEGER NOT NULL,
    text TEXT COLLATE "C" NOT NULL,
    seq BIGSERIAL
);
CREATE INDEX IF NOT EXISTS screen_text_by_rec ON screen_text (sid, msg_id);
-- Substring search: pg_trgm's trigram index answers LIKE '%...%' (Debian's
-- postgresql package ships the extension). A database where it cannot be
-- created (no privilege, not installed) is searched without it.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX IF NOT EXISTS screen_text_trgm ON screen_text USING gin (text gin_trgm_ops);
EXCEPTION WHEN insufficient_privilege OR undefined_file OR undefined_object THEN
    RAISE NOTICE 'pg_trgm is not available: screen text is searched without an index';
END
$$;
)sql",
    // 7: screen text in chunks, as in SQLite (screen_chunks.h): the rows'
    // ids, positions, rows and lengths zstd-compressed in `meta_zstd`,
    // their text joined by line breaks in `text`, which TOAST compresses
    // (its default, pglz: a third smaller than lz4 here) and pg_trgm
    // indexes a chunk at a time, without a pending list (fastupdate: its 4
    // MB of entries not yet merged were most of the index of a 20 MB
    // recording). The chunks a text's trigrams find are read through
    // tlog_text_chunks and tlog_text_sids, where the planner may not scan
    // the table: a chunk's text is out of line, so a scan looks cheap to
    // it and decompresses every chunk. The rows stored before are dropped
    // and every session indexed again (bench/README.md "server", Index).
    R"sql(
DROP TABLE IF EXISTS screen_text;
DELETE FROM keyframes;
DELETE FROM session_index;
CREATE TABLE IF NOT EXISTS screen_chunks (
    cid BIGSERIAL PRIMARY KEY,  -- in the order of its rows, within a recording
    sid BIGINT NOT NULL,        -- recording_keys.sid
    first_id BIGINT NOT NULL,   -- the message ids of its first and last row
    last_id BIGINT NOT NULL,
    meta_size BIGINT NOT NULL,
    meta_zstd BYTEA NOT NULL,
    text TEXT COLLATE "C" NOT NULL
);
ALTER TABLE screen_chunks ALTER COLUMN meta_zstd SET STORAGE EXTERNAL;
CREATE INDEX IF NOT EXISTS screen_chunks_by_rec ON screen_chunks (sid, last_id, cid);
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX IF NOT EXISTS screen_chunks_trgm ON screen_chunks USING gin (text gin_trgm_ops)
        WITH (fastupdate = off);
EXCEPTION WHEN insufficient_privilege OR undefined_file OR undefined_object THEN
    RAISE NOTICE 'pg_trgm is not available: screen text is searched without an index';
END
$$;
-- A recording's chunks whose text matches a LIKE pattern, in order.
CREATE OR REPLACE FUNCTION tlog_text_chunks(pattern text, rec_sid bigint) RETURNS SETOF bigint
    LANGUAGE sql STABLE SET enable_seqscan = off SET enable_indexscan = off AS $f$
    WITH found AS MATERIALIZED (SELECT cid, sid FROM screen_chunks WHERE text LIKE pattern)
    SELECT cid FROM found WHERE sid = rec_sid ORDER BY cid
$f$;
-- The recordings with a chunk whose text matches a LIKE pattern.
CREATE OR REPLACE FUNCTION tlog_text_sids(pattern text) RETURNS SETOF bigint
    LANGUAGE sql STABLE SET enable_seqscan = off SET enable_indexscan = off AS $f$
    SELECT DISTINCT sid FROM screen_chunks WHERE text LIKE pattern
$f$;
)sql",
    // 8: the sessions search's failed authentications and open sessions
    // driven from indexes, as in SQLite.
    R"sql(
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS failed_auth BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS ended BIGINT NOT NULL DEFAULT 0;
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
    // 9: ingest tokens, as in SQLite.
    R"sql(
CREATE TABLE IF NOT EXISTS ingest_tokens (
    id TEXT PRIMARY KEY,            -- the hash's first 12 hex digits, as token list shows it
    host TEXT NOT NULL,             -- the identity the token proves
    sha256 TEXT NOT NULL UNIQUE,    -- hex of the token's SHA-256
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT               -- NULL while valid
);
)sql",
    // 10: retention (retention.cc), as in SQLite.
    R"sql(
CREATE TABLE IF NOT EXISTS retention_class (
    host TEXT COLLATE "C" NOT NULL,
    rec TEXT COLLATE "C" NOT NULL,
    class TEXT NOT NULL,
    rule TEXT NOT NULL,
    decided_ms BIGINT NOT NULL,
    from_start BIGINT NOT NULL,
    PRIMARY KEY (host, rec)
);
CREATE TABLE IF NOT EXISTS retention_holds (
    hid BIGSERIAL PRIMARY KEY,
    host TEXT COLLATE "C" NOT NULL,
    rec TEXT COLLATE "C" NOT NULL,
    usr TEXT COLLATE "C" NOT NULL,
    reason TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_ms BIGINT NOT NULL,
    cleared_by TEXT NOT NULL DEFAULT '',
    clear_reason TEXT NOT NULL DEFAULT '',
    cleared_ms BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS retention_tombstones (
    tid BIGSERIAL PRIMARY KEY,
    run_ms BIGINT NOT NULL,
    purged_ms BIGINT NOT NULL,
    who TEXT NOT NULL,
    account TEXT NOT NULL,
    host TEXT COLLATE "C" NOT NULL,
    rec TEXT COLLATE "C" NOT NULL,
    usr TEXT NOT NULL,
    first_ms BIGINT NOT NULL,
    last_ms BIGINT NOT NULL,
    messages BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    action TEXT NOT NULL,
    archive_file TEXT NOT NULL,
    archive_sha256 TEXT NOT NULL,
    class TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS retention_tombstones_by_rec ON retention_tombstones (rec, host);
)sql",
    // 11: signed checkpoints, as in SQLite (checkpoint.cc; doc/server.md, "Integrity"):
    // each checkpoint's signed statement, its entries (the Merkle tree's
    // leaves in order), and each recording's last entry with the sessions
    // count it was made from (what the next checkpoint extends; a cache,
    // never trusted by verify).
    R"sql(
CREATE TABLE IF NOT EXISTS checkpoints (
    seq BIGINT PRIMARY KEY,
    time_ms BIGINT NOT NULL,
    prev TEXT NOT NULL,          -- hex: the previous checkpoint's hash
    root TEXT NOT NULL,          -- hex: the Merkle root of its entries
    entries BIGINT NOT NULL,
    key_id TEXT NOT NULL,        -- the signing key's fingerprint
    signature TEXT NOT NULL      -- hex: Ed25519 over the statement
);
CREATE TABLE IF NOT EXISTS checkpoint_entries (
    seq BIGINT NOT NULL,
    leaf BIGINT NOT NULL,
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    covered BIGINT NOT NULL,
    last_id BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (seq, leaf)
);
CREATE INDEX IF NOT EXISTS checkpoint_entries_by_rec ON checkpoint_entries (rec, host, seq);
CREATE TABLE IF NOT EXISTS checkpoint_heads (
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    seq BIGINT NOT NULL,
    covered BIGINT NOT NULL,
    last_id BIGINT NOT NULL,
    hash TEXT NOT NULL,
    seen BIGINT NOT NULL,       -- sessions.messages when it was made
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
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,     -- 0: never
    revoked_ms BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS viewer_sessions (
    hash TEXT PRIMARY KEY,           -- hex SHA-256 of the cookie's session id
    viewer TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_ms BIGINT NOT NULL
);
-- The access log (access_log.cc): every search, view and refusal.
CREATE TABLE IF NOT EXISTS access_log (
    id BIGSERIAL PRIMARY KEY,
    time_ms BIGINT NOT NULL,
    viewer TEXT NOT NULL,
    remote TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    route TEXT NOT NULL,
    host TEXT NOT NULL,
    rec TEXT NOT NULL,
    detail TEXT NOT NULL
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
    tid BIGINT PRIMARY KEY,          -- retention_tombstones.tid
    hash TEXT NOT NULL,              -- hex: proof::RecordingHash at purge time
    count BIGINT NOT NULL,           -- its count
    key_id TEXT NOT NULL,            -- the signing key's fingerprint
    signature TEXT NOT NULL          -- hex: Ed25519 over the statement
);
)sql",
};
static_assert(migrations.size() == schema_versions);

// pg_advisory_xact_lock's key for migrations: "tlog-srv" as a big-endian
// integer, unlikely to be another application's.
constexpr const char* migration_lock = "SELECT pg_advisory_xact_lock(8389202694819246710)";

// Statement parameters: text for everything but the compressed message,
// which goes as binary (bytea) without escaping.
class Params {
public:
    Params& text(std::string_view v) {
        owned_.emplace_back(v);
        push(owned_.back(), 0);
        return *this;
    }
    Params& u64(uint64_t v) { return text(std::to_string(std::min<uint64_t>(v, INT64_MAX))); }
    Params& opt_u64(const std::optional<uint64_t>& v) {
        if (!v) {
            values_.push_back(nullptr);
            lengths_.push_back(0);
            formats_.push_back(0);
            return *this;
        }
        return u64(*v);
    }
    Params& binary(std::string_view v) {
        push(v, 1);
        return *this;
    }
    Params& binary_or_null(std::string_view v) {
        if (v.empty()) {
            values_.push_back(nullptr);
            lengths_.push_back(0);
            formats_.push_back(1);
            return *this;
        }
        return binary(v);
    }
    int count() const { return static_cast<int>(values_.size()); }
    const char* const* values() const { return values_.data(); }
    const int* lengths() const { return lengths_.data(); }
    const int* formats() const { return formats_.data(); }

private:
    void push(std::string_view v, int format) {
        values_.push_back(v.data());
        lengths_.push_back(static_cast<int>(v.size()));
        formats_.push_back(format);
    }
    std::deque<std::string> owned_;  // a deque: growing it moves no string
    std::vector<const char*> values_;
    std::vector<int> lengths_, formats_;
};

uint64_t text_u64(const PGresult* r, int row, int col) { return std::strtoull(PQgetvalue(r, row, col), nullptr, 10); }
std::string text_str(const PGresult* r, int row, int col) {
    return {PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col))};
}
uint64_t binary_u64(const PGresult* r, int row, int col) {
    if (PQgetlength(r, row, col) != 8) {
        return 0;
    }
    uint64_t be = 0;
    std::memcpy(&be, PQgetvalue(r, row, col), sizeof be);
    return be64toh(be);
}

// A chunk of screen text as read back in binary: cid, first_id, last_id,
// meta_size, meta_zstd, text.
TextChunk chunk_of(const PGresult* r, int row, const std::string& where) {
    TextChunk c;
    c.first_id = binary_u64(r, row, 1);
    c.last_id = binary_u64(r, row, 2);
    c.meta =
        zstd_unpack(PQgetvalue(r, row, 4), static_cast<size_t>(PQgetlength(r, row, 4)), binary_u64(r, row, 3), where);
    c.text = text_str(r, row, 5);
    return c;
}

// What messages call the database: its name, host and port as libpq reads
// them from the setting, never the password.
std::string describe(const std::string& conninfo) {
    char* err = nullptr;
    std::unique_ptr<PQconninfoOption, ConninfoFree> opts(PQconninfoParse(conninfo.c_str(), &err));
    if (!opts) {
        std::string msg = err != nullptr ? err : "out of memory";
        PQfreemem(err);
        while (!msg.empty() && msg.back() == '\n') {
            msg.pop_back();
        }
        throw std::runtime_error("PostgreSQL database setting: " + msg);
    }
    std::string db, host, port;
    for (const auto* o = opts.get(); o->keyword != nullptr; ++o) {
        std::string key = o->keyword;
        std::string val = o->val != nullptr ? o->val : "";
        if (key == "dbname") {
            db = val;
        } else if (key == "host" || (key == "hostaddr" && host.empty())) {
            host = val;
        } else if (key == "port") {
            port = val;
        }
    }
    std::string out = "PostgreSQL database \"" + (db.empty() ? std::string("(default)") : db) + "\"";
    if (!host.empty() || !port.empty()) {
        out += " on " + (host.empty() ? std::string("(default)") : host) + (port.empty() ? "" : ":" + port);
    }
    return out;
}

class PgStore final : public Store {
public:
    explicit PgStore(const std::string& conninfo);

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
    bool try_lock_index(const std::string& host, const std::string& rec) override;
    void unlock_index(const std::string& host, const std::string& rec) override;
    std::string host_of(const std::string& rec) override;

protected:
    std::vector<SqlRow> sql_query(const std::string& text, const std::vector<SqlValue>& params) override;
    uint64_t sql_exec(const std::string& text, const std::vector<SqlValue>& params) override;
    bool is_postgres() const override { return true; }
    void begin_transaction() override {
        reconnect_if_broken();
        forget_transaction();
        exec("BEGIN ISOLATION LEVEL READ COMMITTED", "starting a transaction");
        in_transaction_ = true;
    }
    void commit_transaction() override {
        flush_inserts();
        forget_transaction();
        auto r = exec("COMMIT", "committing");
        // COMMIT of a transaction that failed reports ROLLBACK, not an error.
        if (std::strcmp(PQcmdStatus(r.get()), "COMMIT") != 0) {
            throw std::runtime_error(name() + ": the transaction was rolled back");
        }
    }
    void rollback_transaction() noexcept override {
        forget_transaction();
        PQclear(PQexec(conn_.get(), "ROLLBACK"));
    }
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
    void hold_recording(const std::string& host, const std::string& rec) override;

private:
    Result check(PGresult* raw, ExecStatusType want, const std::string& what) const;
    Result exec(const char* sql, const std::string& what) {
        return check(PQexec(conn_.get(), sql), PGRES_COMMAND_OK, what);
    }
    Result query(const char* sql, const std::string& what) {
        return check(PQexec(conn_.get(), sql), PGRES_TUPLES_OK, what);
    }
    Result run(const char* stmt, const Params& p, ExecStatusType want, int result_format, const std::string& what) {
        return check(PQexecPrepared(conn_.get(), stmt, p.count(), p.values(), p.lengths(), p.formats(), result_format),
                     want, what);
    }
    // A read, run again once if the connection was found lost; inside a
    // transaction (the open batch read back) a lost connection fails the
    // transaction as any statement's would.
    Result read(const char* stmt, const Params& p, int result_format, const std::string& what) {
        if (in_transaction_) {
            return run(stmt, p, PGRES_TUPLES_OK, result_format, what);
        }
        reconnect_if_broken();
        try {
            return run(stmt, p, PGRES_TUPLES_OK, result_format, what);
        } catch (const TransientStoreError&) {
            if (PQstatus(conn_.get()) == CONNECTION_OK) {
                throw;
            }
            reconnect_if_broken();
            return run(stmt, p, PGRES_TUPLES_OK, result_format, what);
        }
    }
    void prepare_all();
    void reconnect_if_broken();
    void migrate();

    // What this transaction knows of a recording whose lock it holds:
    // windows of ids (window number -> which of its ids are stored,
    // committed before or added by this transaction).
    struct Recording {
        std::map<uint64_t, std::vector<bool>> windows;
    };
    static constexpr uint64_t window_ids = 4096;
    // Messages judged new and batches, inserted at the latest at commit.
    struct IdInsert {
        uint64_t key = 0, id = 0, batch = 0;
        uint32_t ord = 0;
    };
    struct BatchInsert {
        uint64_t batch = 0, key = 0, json_size = 0;
        std::string sizes, zstd;
    };
    static constexpr size_t ids_a_statement = 4096;  // runs, as five arrays
    // The longest run of ids a message_ids row holds; stored_ids and
    // message_refs rely on it. A run lies in one batch.
    static constexpr uint64_t max_run = 256;
    static_assert(batch_messages <= max_run);
    static constexpr size_t batches_a_statement = 64;  // 320 parameters
    static constexpr size_t batch_ids_reserved = 64;   // from the sequence in one round trip

    void lock_recording(const std::string& host, const std::string& rec);
    std::vector<bool>& window(uint64_t key, Recording& r, uint64_t id);
    void flush_ids();
    void flush_batches();
    void flush_inserts() {
        flush_batches();
        flush_ids();
    }
    void forget_transaction() noexcept {
        in_transaction_ = false;
        locked_.clear();
        held_.clear();
        recordings_.clear();
        id_inserts_.clear();
        batch_inserts_.clear();
    }

    Conn conn_;
    bool in_transaction_ = false;
    // The recordings whose advisory lock this transaction holds, and what
    // it knows of them by key.
    std::map<std::pair<std::string, std::string>, uint64_t> locked_;
    // Recordings whose lock it holds without writing them (hold_recording).
    std::set<std::pair<std::string, std::string>> held_;
    std::map<uint64_t, Recording> recordings_;
    std::vector<IdInsert> id_inserts_;
    std::vector<BatchInsert> batch_inserts_;
    // Batch ids taken from the sequence and not used yet (a sequence is
    // not transactional: ids a rolled-back transaction took stay unused).
    std::vector<uint64_t> batch_ids_;
};

// Notices ("relation already exists, skipping") are not for the log.
void drop_notice(void* /*arg*/, const char* /*message*/) {}

PgStore::PgStore(const std::string& conninfo) : Store(describe(conninfo)) {
    // Defaults the setting may override (it is expanded after them): a
    // bound on connecting, and keepalives so that a database gone silent
    // (a network partition) fails a request within a minute or two rather
    // than the kernel's two hours. PQreset reuses them.
    const std::array<const char*, 7> keys = {"connect_timeout",
                                             "keepalives_idle",
                                             "keepalives_interval",
                                             "keepalives_count",
                                             "application_name",
                                             "dbname",
                                             nullptr};
    const std::array<const char*, 7> values = {"10", "30", "10", "6", "tlog-server", conninfo.c_str(), nullptr};
    conn_.reset(PQconnectdbParams(keys.data(), values.data(), 1));
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
        std::string msg = conn_ ? PQerrorMessage(conn_.get()) : "out of memory";
        while (!msg.empty() && msg.back() == '\n') {
            msg.pop_back();
        }
        throw std::runtime_error(name() + ": cannot connect: " + msg);
    }
    PQsetNoticeProcessor(conn_.get(), drop_notice, nullptr);
    migrate();
    prepare_all();
}

Result PgStore::check(PGresult* raw, ExecStatusType want, const std::string& what) const {
    Result r(raw);
    if (r && PQresultStatus(r.get()) == want) {
        return r;
    }
    const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    std::string msg = PQerrorMessage(conn_.get());
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) {
        msg.pop_back();
    }
    std::string text = name() + ": " + what + ": " +
                       (msg.empty() ? std::string("unexpected ") + PQresStatus(PQresultStatus(r.get())) : msg);
    if ((state != nullptr && (std::strcmp(state, "40P01") == 0 || std::strcmp(state, "40001") == 0)) ||
        PQstatus(conn_.get()) != CONNECTION_OK) {
        throw TransientStoreError(text);
    }
    throw std::runtime_error(text);
}

void PgStore::migrate() {
    exec("BEGIN", "starting the migration");
    try {
        query(migration_lock, "locking the schema");
        exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", "creating schema_version");
        int v = schema_version();
        check_schema_version(v, name());
        if (v < schema_versions) {
            for (int i = v; i < schema_versions; ++i) {
                exec(migrations.at(static_cast<size_t>(i)), "migrating to schema version " + std::to_string(i + 1));
            }
            exec("DELETE FROM schema_version", "recording the schema version");
            exec(("INSERT INTO schema_version VALUES (" + std::to_string(schema_versions) + ")").c_str(),
                 "recording the schema version");
        }
        commit_transaction();
    } catch (...) {
        rollback_transaction();
        throw;
    }
}

void PgStore::prepare_all() {
    // Recording locks: the two-key form, first key "tlog", apart from the
    // one-key migration lock; a hash collision only makes two recordings
    // take turns.
    const std::array<std::pair<const char*, const char*>, 30> statements = {{
        {"lock_recording", "SELECT pg_advisory_xact_lock(1953261415, hashtext($1::text || E'\\n' || $2::text))"},
        {"try_lock_recording",
         "SELECT pg_try_advisory_xact_lock(1953261415, hashtext($1::text || E'\\n' || $2::text))"},
        {"recording_key",
         "WITH created AS (INSERT INTO recording_keys (host, rec) VALUES ($1::text, $2::text) ON CONFLICT DO NOTHING "
         "RETURNING sid, open_bid) SELECT sid, open_bid FROM created UNION ALL "
         "SELECT sid, open_bid FROM recording_keys WHERE rec = $2::text AND host = $1::text"},
        {"set_open_batch", "UPDATE recording_keys SET open_bid = $2::bigint WHERE sid = $1::bigint"},
        {"batch_ids", "SELECT nextval('message_batches_bid') FROM generate_series(1, $1::integer)"},
        // A run that reaches id $2 starts after $2 - max_run.
        {"stored_ids",
         "SELECT id, n FROM message_ids WHERE sid = $1::bigint AND id > $2::bigint - $4::bigint "
         "AND id < $3::bigint"},
        {"insert_ids",
         "INSERT INTO message_ids (sid, id, bid, n, ord) SELECT * FROM "
         "unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::integer[], $5::integer[]) ON CONFLICT DO NOTHING"},
        {"merge_session",
         "INSERT INTO sessions (host, rec, \"user\", term, session, first_id, last_id, start_ms, end_ms, messages, "
         "bytes, failed_auth, ended) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
         "coalesce((SELECT failed_auth FROM session_info WHERE host = $1 AND rec = $2), 0), "
         "coalesce((SELECT ended FROM session_info WHERE host = $1 AND rec = $2), 0)) "
         "ON CONFLICT (host, rec) DO UPDATE SET "
         "first_id = LEAST(sessions.first_id, EXCLUDED.first_id), "
         "last_id = GREATEST(sessions.last_id, EXCLUDED.last_id), "
         "start_ms = LEAST(sessions.start_ms, EXCLUDED.start_ms), "
         "end_ms = GREATEST(sessions.end_ms, EXCLUDED.end_ms), "
         "messages = sessions.messages + EXCLUDED.messages, bytes = sessions.bytes + EXCLUDED.bytes, "
         "failed_auth = GREATEST(sessions.failed_auth, EXCLUDED.failed_auth), "
         "ended = GREATEST(sessions.ended, EXCLUDED.ended)"},
        // The index (index.cc). Its lock: the two-key form, first key
        // "tlog" + 1, apart from the recordings' locks (the indexer never
        // waits for a writer) and session-scoped: held across the
        // indexer's reads and its save.
        {"try_lock_index", "SELECT pg_try_advisory_lock(1953261416, hashtext($1::text || E'\\n' || $2::text))"},
        {"unlock_index", "SELECT pg_advisory_unlock(1953261416, hashtext($1::text || E'\\n' || $2::text))"},
        {"index_work",
         "SELECT s.host, s.rec, s.messages FROM sessions s LEFT JOIN session_index i ON i.host = s.host AND i.rec = "
         "s.rec "
         "WHERE i.host IS NULL OR (s.messages > i.seen_messages AND s.last_id > i.indexed_through) LIMIT $1::bigint"},
        {"index_state",
         "SELECT verdict, label, first_bad_id, indexed_through, seen_messages FROM session_index WHERE host = $1::text "
         "AND rec = $2::text"},
        {"save_index_state",
         "INSERT INTO session_index (host, rec, verdict, label, first_bad_id, indexed_through, seen_messages) "
         "VALUES ($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint, $7::bigint) "
         "ON CONFLICT (host, rec) DO UPDATE SET "
         "verdict = EXCLUDED.verdict, label = EXCLUDED.label, first_bad_id = EXCLUDED.first_bad_id, "
         "indexed_through = EXCLUDED.indexed_through, seen_messages = EXCLUDED.seen_messages"},
        {"rec_sid", "SELECT sid FROM recording_keys WHERE rec = $2::text AND host = $1::text"},
        {"save_keyframe",
         "INSERT INTO keyframes (sid, pos_ms, msg_id, snap_size, snap_zstd, base_size, base_zstd) VALUES ($1::bigint, "
         "$2::bigint, $3::bigint, $4::bigint, $5::bytea, $6::bigint, $7::bytea) ON CONFLICT (sid, msg_id) DO "
         "UPDATE SET pos_ms = EXCLUDED.pos_ms, snap_size = EXCLUDED.snap_size, snap_zstd = EXCLUDED.snap_zstd, "
         "base_size = EXCLUDED.base_size, base_zstd = EXCLUDED.base_zstd"},
        {"keyframe_at",
         "SELECT pos_ms, msg_id, snap_size, snap_zstd, base_size, base_zstd FROM keyframes WHERE sid = "
         "(SELECT sid FROM recording_keys WHERE rec = $2::text AND host = $1::text) "
         "AND pos_ms <= $3::bigint ORDER BY pos_ms DESC, msg_id DESC LIMIT 1"},
        // A recording's chunks from a place on, in order; the chunks a
        // text's trigrams find (tlog_text_chunks); one chunk.
        {"chunks_after",
         "SELECT cid, first_id, last_id, meta_size, meta_zstd, text FROM screen_chunks WHERE sid = $1::bigint "
         "AND (last_id, cid) > ($2::bigint, $3::bigint) ORDER BY last_id, cid LIMIT $4::bigint"},
        {"text_chunks", "SELECT tlog_text_chunks($1::text, $2::bigint)"},
        {"text_chunk",
         "SELECT cid, first_id, last_id, meta_size, meta_zstd, text FROM screen_chunks WHERE cid = $1::bigint"},
        // A recording's chunks whose last row is at or after $2, in order;
        // the last one.
        {"chunks_from",
         "SELECT cid, first_id, last_id, meta_size, meta_zstd, text FROM screen_chunks WHERE sid = $1::bigint AND "
         "last_id >= $2::bigint ORDER BY last_id, cid"},
        {"last_chunk",
         "SELECT cid, first_id, last_id, meta_size, meta_zstd, text FROM screen_chunks WHERE sid = $1::bigint "
         "ORDER BY last_id DESC, cid DESC LIMIT 1"},
        {"put_chunk",
         "INSERT INTO screen_chunks (sid, first_id, last_id, meta_size, meta_zstd, text) VALUES ($1::bigint, "
         "$2::bigint, $3::bigint, $4::bigint, $5::bytea, $6::text)"},
        {"update_chunk",
         "UPDATE screen_chunks SET first_id = $2::bigint, last_id = $3::bigint, meta_size = $4::bigint, "
         "meta_zstd = $5::bytea, text = $6::text WHERE cid = $1::bigint"},
        {"host_of", "SELECT host FROM sessions WHERE rec = $1::text ORDER BY host LIMIT 1"},
        {"recording_keys",
         "SELECT sid, host FROM recording_keys WHERE rec = $1::text AND ($2::text = '' OR host = $2::text) "
         "ORDER BY host"},
        {"message_refs",
         "SELECT id, bid, n, ord FROM message_ids WHERE sid = $1::bigint AND id > $2::bigint - $4::bigint "
         "ORDER BY id LIMIT $3::bigint"},
        {"count_messages", "SELECT coalesce(sum(n), 0) FROM message_ids WHERE sid = $1::bigint"},
        {"read_batches", "SELECT bid, json_size, sizes, json_zstd FROM message_batches WHERE bid = ANY($1::bigint[])"},
        // One row a statement: a batch of audit events is small, and
        // ON CONFLICT's count per row says which were new. A concurrent
        // writer of the same event waits for the first and then skips it.
        {"insert_audit",
         "INSERT INTO audit_events (host, serial, time_ms, type, ses, rec, session_start, json_size, json_zstd, "
         "audit_user) VALUES ($1::text, $2::bigint, $3::bigint, $4::text, $5::bigint, $6::text, $7::boolean, "
         "$8::bigint, $9::bytea, $10::text) ON CONFLICT DO NOTHING"},
        {"audit_events",
         "SELECT json_size, json_zstd, time_ms, serial, host, type FROM audit_events WHERE rec = $1::text "
         "AND ($2::bigint IS NULL OR (time_ms, serial, host, type) > ($2::bigint, $3::bigint, $4::text, $5::text)) "
         "UNION ALL "
         "SELECT a.json_size, a.json_zstd, a.time_ms, a.serial, a.host, a.type FROM "
         "(SELECT DISTINCT host, ses FROM audit_events WHERE rec = $1::text AND session_start AND ses IS NOT NULL) s "
         "JOIN audit_events a ON a.host = s.host AND a.ses = s.ses WHERE a.rec = '' "
         "AND ($2::bigint IS NULL OR (a.time_ms, a.serial, a.host, a.type) > "
         "($2::bigint, $3::bigint, $4::text, $5::text)) "
         "ORDER BY 3, 4, 5, 6 LIMIT $6::bigint"},
    }};
    for (const auto& [stmt, sql] : statements) {
        check(PQprepare(conn_.get(), stmt, sql, 0, nullptr), PGRES_COMMAND_OK, std::string("preparing ") + stmt);
    }
}

void PgStore::reconnect_if_broken() {
    if (PQstatus(conn_.get()) == CONNECTION_OK) {
        return;
    }
    PQreset(conn_.get());
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
        std::string msg = PQerrorMessage(conn_.get());
        while (!msg.empty() && msg.back() == '\n') {
            msg.pop_back();
        }
        throw std::runtime_error(name() + ": cannot reconnect: " + msg);
    }
    prepare_all();
}

int PgStore::schema_version() {
    auto r = query("SELECT version FROM schema_version", "reading the schema version");
    return PQntuples(r.get()) > 0 ? std::atoi(PQgetvalue(r.get(), 0, 0)) : 0;
}

void PgStore::lock_recording(const std::string& host, const std::string& rec) {
    Params p;
    p.text(host).text(rec);
    if (locked_.empty()) {
        run("lock_recording", p, PGRES_TUPLES_OK, 0, "locking the recording");
    } else {
        auto r = run("try_lock_recording", p, PGRES_TUPLES_OK, 0, "locking the recording");
        if (PQntuples(r.get()) != 1 || std::strcmp(PQgetvalue(r.get(), 0, 0), "t") != 0) {
            throw TransientStoreError(name() + ": recording " + host + "/" + rec +
                                      " is being written by another transaction");
        }
    }
}

// Only tries: the audit event's transaction already holds row locks (its
// event, session_info's row) that the recording's writer may wait for, so
// waiting here could close a cycle. A recording being written makes the
// request run again, as a second recording's lock does.
void PgStore::hold_recording(const std::string& host, const std::string& rec) {
    auto name_pair = std::pair(host, rec);
    if (locked_.count(name_pair) != 0 || held_.count(name_pair) != 0) {
        return;
    }
    Params p;
    p.text(host).text(rec);
    auto r = run("try_lock_recording", p, PGRES_TUPLES_OK, 0, "locking the recording");
    if (PQntuples(r.get()) != 1 || std::strcmp(PQgetvalue(r.get(), 0, 0), "t") != 0) {
        throw TransientStoreError(name() + ": recording " + host + "/" + rec +
                                  " is being written by another transaction");
    }
    held_.insert(std::move(name_pair));
}

// Called once per recording a transaction writes (Store keeps the key).
// The key is created under the recording's lock, so by one writer.
Store::RecordingKey PgStore::recording_key(const std::string& host, const std::string& rec) {
    auto name_pair = std::pair(host, rec);
    if (locked_.count(name_pair) != 0) {
        throw std::logic_error("recording_key twice in one transaction");
    }
    lock_recording(host, rec);
    Params p;
    p.text(host).text(rec);
    auto r = run("recording_key", p, PGRES_TUPLES_OK, 0, "storing a recording's key");
    if (PQntuples(r.get()) != 1) {
        throw std::runtime_error(name() + ": recording " + host + "/" + rec + " has no key");
    }
    RecordingKey key{text_u64(r.get(), 0, 0), PQgetisnull(r.get(), 0, 1) != 0 ? 0 : text_u64(r.get(), 0, 1)};
    locked_.emplace(std::move(name_pair), key.key);
    recordings_[key.key];
    return key;
}

void PgStore::set_open_batch(uint64_t key, uint64_t batch) {
    Params p;
    p.u64(key).opt_u64(batch == 0 ? std::nullopt : std::optional<uint64_t>(batch));
    run("set_open_batch", p, PGRES_COMMAND_OK, 0, "storing a recording's open batch");
}

uint64_t PgStore::new_batch_id() {
    if (batch_ids_.empty()) {
        Params p;
        p.u64(batch_ids_reserved);
        auto r = run("batch_ids", p, PGRES_TUPLES_OK, 0, "numbering batches");
        for (int i = PQntuples(r.get()); i-- > 0;) {
            batch_ids_.push_back(text_u64(r.get(), i, 0));
        }
        if (batch_ids_.empty()) {
            throw std::runtime_error(name() + ": the batch sequence gave no id");
        }
    }
    uint64_t id = batch_ids_.back();
    batch_ids_.pop_back();
    return id;
}

std::vector<bool>& PgStore::window(uint64_t key, Recording& r, uint64_t id) {
    uint64_t w = id / window_ids;
    if (auto it = r.windows.find(w); it != r.windows.end()) {
        return it->second;
    }
    std::vector<bool> stored(window_ids);
    Params p;
    uint64_t first = w * window_ids, end = first + window_ids;
    p.u64(key).u64(first).u64(end).u64(max_run);
    auto res = run("stored_ids", p, PGRES_TUPLES_OK, 0, "reading stored ids");
    for (int i = 0; i < PQntuples(res.get()); ++i) {
        uint64_t id = text_u64(res.get(), i, 0), n = text_u64(res.get(), i, 1);
        for (uint64_t x = std::max(id, first); x < std::min(id + n, end); ++x) {
            stored.at(x - first) = true;
        }
    }
    return r.windows[w] = std::move(stored);
}

// The claimed ids as runs: consecutive ids at consecutive places of one
// batch (a request's messages in order, nearly always) make one row.
// ON CONFLICT DO NOTHING on (sid, id) stays as a guard: a row it skips means
// a writer that does not take the recording locks, and the transaction is
// refused rather than reporting as new what was not.
void PgStore::flush_ids() {
    struct Run {
        uint64_t key, id, batch, n;
        uint32_t ord;
    };
    std::vector<Run> runs;
    for (const auto& x : id_inserts_) {
        if (!runs.empty()) {
            Run& r = runs.back();
            if (r.key == x.key && r.batch == x.batch && r.n < max_run && x.id == r.id + r.n && x.ord == r.ord + r.n) {
                ++r.n;
                continue;
            }
        }
        runs.push_back({x.key, x.id, x.batch, 1, x.ord});
    }
    for (size_t at = 0; at < runs.size(); at += ids_a_statement) {
        size_t n = std::min(ids_a_statement, runs.size() - at);
        std::array<std::string, 5> arrays;
        for (size_t i = 0; i < n; ++i) {
            const auto& x = runs[at + i];
            const char* sep = i == 0 ? "{" : ",";
            arrays[0] += sep + std::to_string(x.key);
            arrays[1] += sep + std::to_string(x.id);
            arrays[2] += sep + std::to_string(x.batch);
            arrays[3] += sep + std::to_string(x.n);
            arrays[4] += sep + std::to_string(x.ord);
        }
        Params p;
        for (auto& a : arrays) {
            p.text(a + "}");
        }
        auto r = run("insert_ids", p, PGRES_COMMAND_OK, 0, "storing messages");
        if (std::strtoull(PQcmdTuples(r.get()), nullptr, 10) != n) {
            throw std::runtime_error(name() +
                                     ": messages appeared that this transaction held the lock for: "
                                     "another program writes the message_ids table without tlog-server's locks");
        }
    }
    id_inserts_.clear();
}

// Many batches to a statement, the compressed JSON as binary parameters.
void PgStore::flush_batches() {
    for (size_t at = 0; at < batch_inserts_.size(); at += batches_a_statement) {
        size_t n = std::min(batches_a_statement, batch_inserts_.size() - at);
        std::string sql = "INSERT INTO message_batches (bid, sid, json_size, sizes, json_zstd) VALUES ";
        Params p;
        for (size_t i = 0; i < n; ++i) {
            const auto& x = batch_inserts_[at + i];
            size_t k = i * 5;
            sql += (i == 0 ? "($" : ", ($") + std::to_string(k + 1) + "::bigint, $" + std::to_string(k + 2) +
                   "::bigint, $" + std::to_string(k + 3) + "::bigint, $" + std::to_string(k + 4) + "::bytea, $" +
                   std::to_string(k + 5) + "::bytea)";
            p.u64(x.batch).u64(x.key).u64(x.json_size).binary_or_null(x.sizes).binary(x.zstd);
        }
        // The open batch, filled further, is stored again.
        sql +=
            " ON CONFLICT (bid) DO UPDATE SET json_size = EXCLUDED.json_size, sizes = EXCLUDED.sizes, "
            "json_zstd = EXCLUDED.json_zstd";
        check(PQexecParams(conn_.get(), sql.c_str(), p.count(), nullptr, p.values(), p.lengths(), p.formats(), 0),
              PGRES_COMMAND_OK, "storing messages");
    }
    batch_inserts_.clear();
}

bool PgStore::claim_message(uint64_t key, uint64_t id, uint64_t batch, uint32_t ord) {
    auto rec = recordings_.find(key);
    if (rec == recordings_.end()) {
        throw std::logic_error("claim_message before recording_key");
    }
    // Ids are at most INT64_MAX (validate_message), as stored.
    std::vector<bool>::reference bit = window(key, rec->second, id)[id % window_ids];
    if (bit) {
        return false;
    }
    bit = true;
    id_inserts_.push_back({key, id, batch, ord});
    if (id_inserts_.size() >= ids_a_statement) {
        flush_ids();
    }
    return true;
}

void PgStore::insert_batch(uint64_t batch, uint64_t key, uint64_t json_size, std::string_view sizes,
                           std::string_view zstd) {
    batch_inserts_.push_back({batch, key, json_size, std::string(sizes), std::string(zstd)});
    if (batch_inserts_.size() >= batches_a_statement) {
        flush_batches();
    }
}

bool PgStore::insert_audit(const AuditMeta& m, uint64_t json_size, std::string_view json_zstd) {
    Params p;
    p.text(m.host).u64(m.serial).u64(m.time_ms).text(m.type).opt_u64(m.ses).text(m.rec);
    p.text(m.session_start ? "true" : "false").u64(json_size).binary(json_zstd).text(m.user);
    auto r = run("insert_audit", p, PGRES_COMMAND_OK, 0, "storing an audit event");
    return std::strtoull(PQcmdTuples(r.get()), nullptr, 10) == 1;
}

void PgStore::merge_session(const Session& d) {
    Params p;
    p.text(d.host).text(d.rec).text(d.user).text(d.term).u64(d.session).u64(d.first_id).u64(d.last_id);
    p.u64(d.start_ms).u64(d.end_ms).u64(d.messages).u64(d.bytes);
    run("merge_session", p, PGRES_COMMAND_OK, 0, "updating the session");
}

std::vector<std::pair<uint64_t, std::string>> PgStore::recording_keys(const std::string& rec, const std::string& host) {
    Params p;
    p.text(rec).text(host);
    auto r = read("recording_keys", p, 0, "reading a recording's keys");
    std::vector<std::pair<uint64_t, std::string>> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        out.emplace_back(text_u64(r.get(), i, 0), text_str(r.get(), i, 1));
    }
    return out;
}

// Runs in id order from the one that may hold after_id + 1: enough of
// them for offset + limit messages (a run holds one at least), and max_run
// more for the runs that end at or before after_id.
std::vector<Store::MessageRef> PgStore::message_refs(uint64_t key, uint64_t after_id, uint64_t offset, size_t limit) {
    uint64_t runs = std::min<uint64_t>(offset, INT64_MAX / 4) + std::min<uint64_t>(limit, INT64_MAX / 4) + max_run;
    Params p;
    p.u64(key).u64(after_id).u64(runs).u64(max_run);
    auto res = read("message_refs", p, 0, "reading messages");
    const auto* r = res.get();
    std::vector<MessageRef> out;
    for (int i = 0; i < PQntuples(r) && out.size() < limit; ++i) {
        uint64_t id = text_u64(r, i, 0), batch = text_u64(r, i, 1), n = text_u64(r, i, 2), ord = text_u64(r, i, 3);
        for (uint64_t k = 0; k < n && out.size() < limit; ++k) {
            if (id + k <= after_id) {
                continue;
            }
            if (offset > 0) {
                --offset;
                continue;
            }
            out.push_back({id + k, batch, static_cast<uint32_t>(ord + k)});
        }
    }
    return out;
}

uint64_t PgStore::count_messages(uint64_t key) {
    Params p;
    p.u64(key);
    auto r = read("count_messages", p, 0, "counting messages");
    return PQntuples(r.get()) > 0 ? text_u64(r.get(), 0, 0) : 0;
}

// Binary results: the compressed JSON as it is, the integers as 8
// big-endian bytes.
std::map<uint64_t, Store::BatchRow> PgStore::read_batches(const std::vector<uint64_t>& batches) {
    std::map<uint64_t, BatchRow> out;
    if (batches.empty()) {
        return out;
    }
    std::string ids;
    for (uint64_t b : batches) {
        ids += (ids.empty() ? "{" : ",") + std::to_string(b);
    }
    Params p;
    p.text(ids + "}");
    auto res = read("read_batches", p, 1, "reading messages");
    const auto* r = res.get();
    for (int i = 0; i < PQntuples(r); ++i) {
        BatchRow row;
        row.json_size = binary_u64(r, i, 1);
        if (PQgetisnull(r, i, 2) == 0) {
            row.sizes = text_str(r, i, 2);
        }
        row.zstd = text_str(r, i, 3);
        out.emplace(binary_u64(r, i, 0), std::move(row));
    }
    return out;
}

std::vector<AuditEvent> PgStore::audit_events(const std::string& rec, const std::optional<AuditKey>& after,
                                              size_t limit) {
    Params p;
    p.text(rec);
    if (after) {
        p.u64(after->time_ms).u64(after->serial).text(after->host).text(after->type);
    } else {
        p.opt_u64(std::nullopt).opt_u64(std::nullopt).text("").text("");
    }
    p.u64(limit);
    // Binary results: the compressed JSON as it is, the integers as
    // 8 big-endian bytes, text as its bytes.
    auto res = read("audit_events", p, 1, "reading audit events");
    const auto* r = res.get();
    std::vector<AuditEvent> out;
    out.reserve(static_cast<size_t>(PQntuples(r)));
    for (int i = 0; i < PQntuples(r); ++i) {
        AuditEvent e;
        e.json =
            zstd_unpack(PQgetvalue(r, i, 1), static_cast<size_t>(PQgetlength(r, i, 1)), binary_u64(r, i, 0), name());
        e.key = {binary_u64(r, i, 2), binary_u64(r, i, 3), text_str(r, i, 4), text_str(r, i, 5)};
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<IndexWork> PgStore::index_work(size_t limit) {
    Params p;
    p.u64(limit);
    auto r = read("index_work", p, 0, "listing sessions to index");
    std::vector<IndexWork> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        out.push_back({text_str(r.get(), i, 0), text_str(r.get(), i, 1), text_u64(r.get(), i, 2)});
    }
    return out;
}

// `?` placeholders numbered $1, $2...: the SQL session_search.cc writes
// has no `?` of its own. Parameters go as text, results come as text,
// bytea as its bytes.
std::string numbered(const std::string& text) {
    std::string out;
    int n = 0;
    for (char c : text) {
        if (c == '?') {
            out += "$" + std::to_string(++n);
        } else {
            out += c;
        }
    }
    return out;
}

std::optional<IndexState> PgStore::index_state(const std::string& host, const std::string& rec) {
    Params p;
    p.text(host).text(rec);
    auto r = read("index_state", p, 0, "reading the index state");
    if (PQntuples(r.get()) == 0) {
        return std::nullopt;
    }
    return IndexState{host,
                      rec,
                      text_str(r.get(), 0, 0),
                      text_str(r.get(), 0, 1),
                      text_u64(r.get(), 0, 2),
                      text_u64(r.get(), 0, 3),
                      text_u64(r.get(), 0, 4)};
}

void PgStore::save_index(const IndexState& x, const std::vector<StoredKeyframe>& keyframes,
                         const std::vector<ScreenTextRow>& rows, uint64_t redo_from) {
    begin_transaction();
    try {
        Params key;
        key.text(x.host).text(x.rec);
        auto found = read("rec_sid", key, 0, "finding the recording indexed");
        if (PQntuples(found.get()) != 1) {
            throw std::runtime_error(name() + ": no recording " + x.host + "/" + x.rec + " to index");
        }
        const std::string sid = text_str(found.get(), 0, 0);
        const std::string where = name() + ": " + x.host + "/" + x.rec;
        auto chunks = [&](const char* stmt, const Params& q) {
            auto r = run(stmt, q, PGRES_TUPLES_OK, 1, "reading screen text");
            std::vector<std::pair<uint64_t, TextChunk>> out;
            for (int i = 0; i < PQntuples(r.get()); ++i) {
                out.emplace_back(binary_u64(r.get(), i, 0), chunk_of(r.get(), i, where));
            }
            return out;
        };
        // cid 0: a new chunk.
        auto store = [&](uint64_t cid, const TextChunk& c) {
            std::string meta(zstd_pack(c.meta, chunk_level));
            Params q;
            q.text(cid != 0 ? std::to_string(cid) : sid).u64(c.first_id).u64(c.last_id).u64(c.meta.size());
            q.binary(meta).text(c.text);
            run(cid != 0 ? "update_chunk" : "put_chunk", q, PGRES_COMMAND_OK, 0, "saving screen text");
        };
        if (redo_from != 0) {
            Params p;
            p.text(sid).u64(redo_from);
            check(PQexecParams(conn_.get(), "DELETE FROM keyframes WHERE sid = $1::bigint AND msg_id > $2::bigint",
                               p.count(), nullptr, p.values(), p.lengths(), p.formats(), 0),
                  PGRES_COMMAND_OK, "replacing the index");
            // Rows from redo_from on are made again: the chunks holding
            // them lose them (a chunk is in the order of its rows).
            for (auto& [cid, c] : chunks("chunks_from", p)) {
                if (c.first_id >= redo_from) {
                    Params d;
                    d.u64(cid);
                    check(PQexecParams(conn_.get(), "DELETE FROM screen_chunks WHERE cid = $1::bigint", d.count(),
                                       nullptr, d.values(), d.lengths(), d.formats(), 0),
                          PGRES_COMMAND_OK, "replacing the index");
                } else {
                    c.truncate_before(redo_from, where);
                    store(cid, c);
                }
            }
        }
        if (!rows.empty()) {
            // The recording's last chunk takes rows while it has room.
            uint64_t open_cid = 0;
            TextChunk open;
            Params l;
            l.text(sid);
            if (auto last = chunks("last_chunk", l); !last.empty() && !last.front().second.full()) {
                open_cid = last.front().first;
                open = std::move(last.front().second);
                open.reopen(where);
            }
            auto filled = fill_chunks(std::move(open), rows);
            for (size_t i = 0; i < filled.size(); ++i) {
                if (filled[i].rows > 0) store(i == 0 ? open_cid : 0, filled[i]);
            }
        }
        Params p;
        p.text(x.host).text(x.rec).text(x.verdict).text(x.label).u64(x.first_bad_id).u64(x.indexed_through);
        p.u64(x.seen_messages);
        run("save_index_state", p, PGRES_COMMAND_OK, 0, "saving the index state");
        for (const auto& k : keyframes) {
            Params q;
            std::string snap(zstd_pack(k.snapshot, keyframe_level));
            std::string base(zstd_pack(k.baseline, keyframe_level));
            q.text(sid)
                .u64(k.pos_ms)
                .u64(k.msg_id)
                .u64(k.snapshot.size())
                .binary(snap)
                .u64(k.baseline.size())
                .binary(base);
            run("save_keyframe", q, PGRES_COMMAND_OK, 0, "saving a keyframe");
        }
        commit_transaction();
    } catch (...) {
        rollback_transaction();
        throw;
    }
}

std::optional<StoredKeyframe> PgStore::keyframe_at(const std::string& host, const std::string& rec, uint64_t pos_ms) {
    Params p;
    p.text(host).text(rec).u64(pos_ms);
    auto res = read("keyframe_at", p, 1, "reading a keyframe");
    const auto* r = res.get();
    if (PQntuples(r) == 0) {
        return std::nullopt;
    }
    auto blob = [&](int size_col, int col) {
        return zstd_unpack(PQgetvalue(r, 0, col), static_cast<size_t>(PQgetlength(r, 0, col)),
                           binary_u64(r, 0, size_col), name());
    };
    return StoredKeyframe{binary_u64(r, 0, 0), binary_u64(r, 0, 1), blob(2, 3), blob(4, 5)};
}

std::vector<ScreenTextRow> PgStore::text_hits(const std::string& host, const std::string& rec, const std::string& text,
                                              size_t limit) {
    std::vector<ScreenTextRow> out;
    if (text.find('\n') != std::string::npos) return out;  // no row holds a line break
    Params key;
    key.text(host).text(rec);
    auto found = read("rec_sid", key, 0, "searching screen text");
    if (PQntuples(found.get()) != 1) return out;
    const std::string sid = text_str(found.get(), 0, 0);
    const std::string where = name() + ": " + host + "/" + rec;
    // The recording's chunks in order, a page at a time, while each page
    // has a hit: a text on many screens fills the answer from its first
    // chunks. Then the chunks the trigram index finds after the last one
    // read: a rare text, or one that is nowhere, is not looked for in
    // every chunk (each a decompression).
    // The next page: as many chunks as the hits seen so far say the
    // answer still needs (each chunk read is a decompression).
    size_t page = 16, read_chunks = 0;
    uint64_t last_id = 0, last_cid = 0;
    for (;;
         page = std::clamp<size_t>((limit - out.size()) * read_chunks / std::max<size_t>(out.size(), 1) + 1, 4, 64)) {
        Params p;
        p.text(sid).u64(last_id).u64(last_cid).u64(page);
        auto r = read("chunks_after", p, 1, "reading screen text");
        size_t before = out.size();
        int n = PQntuples(r.get());
        for (int i = 0; i < n && out.size() < limit; ++i) {
            auto c = chunk_of(r.get(), i, where);
            last_cid = binary_u64(r.get(), i, 0);
            last_id = c.last_id;
            chunk_hits(c, text, limit, out, where);
            ++read_chunks;
        }
        if (out.size() >= limit || static_cast<size_t>(n) < page) return out;
        if (out.size() == before) break;
    }
    Params p;
    p.text(like_pattern(text)).text(sid);
    auto cids = read("text_chunks", p, 0, "searching screen text");
    for (int i = 0; i < PQntuples(cids.get()) && out.size() < limit; ++i) {
        if (text_u64(cids.get(), i, 0) <= last_cid) continue;
        Params q;
        q.text(text_str(cids.get(), i, 0));
        auto r = read("text_chunk", q, 1, "reading screen text");
        if (PQntuples(r.get()) != 1) continue;  // replaced since: the next search finds it again
        chunk_hits(chunk_of(r.get(), 0, where), text, limit, out, where);
    }
    return out;
}

Params sql_params(const std::vector<SqlValue>& params) {
    Params p;
    for (const auto& v : params) {
        switch (v.kind) {
            case SqlValue::Kind::Null: p.opt_u64(std::nullopt); break;
            case SqlValue::Kind::Int: p.text(std::to_string(v.i)); break;
            case SqlValue::Kind::Text: p.text(v.text); break;
        }
    }
    return p;
}

std::vector<SqlRow> PgStore::sql_query(const std::string& text, const std::vector<SqlValue>& params) {
    constexpr Oid bytea_oid = 17;
    Params p = sql_params(params);
    std::string sql = numbered(text);
    // A read outside a transaction is run again once on a lost connection.
    auto run_once = [&] {
        return check(
            PQexecParams(conn_.get(), sql.c_str(), p.count(), nullptr, p.values(), p.lengths(), p.formats(), 0),
            PGRES_TUPLES_OK, "searching");
    };
    // Outside a transaction only (a search): inside one, what it did
    // before is lost with the connection and the whole request runs again.
    const bool alone = PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
    if (alone) {
        reconnect_if_broken();
    }
    Result r = [&] {
        try {
            return run_once();
        } catch (const TransientStoreError&) {
            if (!alone || PQstatus(conn_.get()) == CONNECTION_OK) {
                throw;
            }
            reconnect_if_broken();
            return run_once();
        }
    }();
    std::vector<SqlRow> out;
    int cols = PQnfields(r.get());
    out.reserve(static_cast<size_t>(PQntuples(r.get())));
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        SqlRow row;
        row.reserve(static_cast<size_t>(cols));
        for (int c = 0; c < cols; ++c) {
            if (PQgetisnull(r.get(), i, c) != 0) {
                row.emplace_back(std::nullopt);
            } else if (PQftype(r.get(), c) == bytea_oid) {
                size_t n = 0;
                std::unique_ptr<unsigned char, decltype(&PQfreemem)> raw(
                    PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r.get(), i, c)), &n), &PQfreemem);
                if (!raw) {
                    throw std::runtime_error(name() + ": out of memory reading a result");
                }
                row.emplace_back(std::string(reinterpret_cast<const char*>(raw.get()), n));
            } else {
                row.emplace_back(text_str(r.get(), i, c));
            }
        }
        out.push_back(std::move(row));
    }
    return out;
}

bool PgStore::try_lock_index(const std::string& host, const std::string& rec) {
    Params p;
    p.text(host).text(rec);
    auto r = read("try_lock_index", p, 0, "locking a session to index");
    return PQntuples(r.get()) == 1 && std::strcmp(PQgetvalue(r.get(), 0, 0), "t") == 0;
}

void PgStore::unlock_index(const std::string& host, const std::string& rec) {
    Params p;
    p.text(host).text(rec);
    read("unlock_index", p, 0, "unlocking a session indexed");
}

std::string PgStore::host_of(const std::string& rec) {
    Params p;
    p.text(rec);
    auto r = read("host_of", p, 0, "finding a recording's host");
    return PQntuples(r.get()) > 0 ? text_str(r.get(), 0, 0) : std::string();
}

uint64_t PgStore::sql_exec(const std::string& text, const std::vector<SqlValue>& params) {
    Params p = sql_params(params);
    auto r = check(
        PQexecParams(conn_.get(), numbered(text).c_str(), p.count(), nullptr, p.values(), p.lengths(), p.formats(), 0),
        PGRES_COMMAND_OK, "recording session details");
    return std::strtoull(PQcmdTuples(r.get()), nullptr, 10);
}

}  // namespace

std::unique_ptr<Store> open_postgres(const std::string& conninfo) { return std::make_unique<PgStore>(conninfo); }

// Backslash escapes.
std::string like_pattern(const std::string& text) {
    std::string out = "%";
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\') out += '\\';
        out += c;
    }
    return out + "%";
}

}  // namespace tlog::server
