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
#include <stdexcept>

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
    std::vector<std::string> messages(const std::string& rec, const std::string& host, uint64_t after_id,
                                      size_t limit) override;
    std::vector<std::string> messages_page(const std::string& rec, uint64_t from, size_t size) override;
    uint64_t message_count(const std::string& rec) override;
    std::vector<AuditEvent> audit_events(const std::string& rec, const std::optional<AuditKey>& after,
                                         size_t limit) override;

protected:
    std::vector<SqlRow> sql_query(const std::string& text, const std::vector<SqlValue>& params) override;
    uint64_t sql_exec(const std::string& text, const std::vector<SqlValue>& params) override;
    bool is_postgres() const override { return true; }
    void begin_transaction() override {
        reconnect_if_broken();
        forget_transaction();
        exec("BEGIN ISOLATION LEVEL READ COMMITTED", "starting a transaction");
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
    bool insert_message(const MessageMeta& m, uint64_t json_size, std::string_view json_zstd) override;
    bool insert_audit(const AuditMeta& m, uint64_t json_size, std::string_view json_zstd) override;
    void merge_session(const Session& d) override;

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
    // A read, run again once if the connection was found lost.
    Result read(const char* stmt, const Params& p, int result_format, const std::string& what) {
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
    std::vector<std::string> read_messages(const PGresult* r) const;

    // What this transaction knows of a recording whose lock it holds:
    // windows of ids (window number -> which of its ids are stored,
    // committed before or added by this transaction).
    struct Recording {
        std::map<uint64_t, std::vector<bool>> windows;
    };
    static constexpr uint64_t window_ids = 4096;
    // Messages judged new, inserted at the latest at commit.
    struct Insert {
        std::string host, rec;
        uint64_t id = 0, json_size = 0;
        std::string json_zstd;
    };
    static constexpr size_t insert_batch = 500;  // rows a statement: 2,500 parameters

    Recording& lock_recording(const std::string& host, const std::string& rec);
    std::vector<bool>& window(const std::string& host, const std::string& rec, Recording& r, uint64_t id);
    void flush_inserts();
    void forget_transaction() noexcept {
        recordings_.clear();
        inserts_.clear();
    }

    Conn conn_;
    // The recordings whose advisory lock this transaction holds.
    std::map<std::pair<std::string, std::string>, Recording> recordings_;
    std::vector<Insert> inserts_;
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
    const std::array<std::pair<const char*, const char*>, 9> statements = {{
        {"lock_recording", "SELECT pg_advisory_xact_lock(1953261415, hashtext($1::text || E'\\n' || $2::text))"},
        {"try_lock_recording",
         "SELECT pg_try_advisory_xact_lock(1953261415, hashtext($1::text || E'\\n' || $2::text))"},
        {"stored_ids",
         "SELECT id FROM messages WHERE rec = $1::text AND host = $2::text AND id >= $3::bigint AND id < $4::bigint"},
        {"merge_session",
         "INSERT INTO sessions (host, rec, \"user\", term, session, first_id, last_id, start_ms, end_ms, messages, "
         "bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (host, rec) DO UPDATE SET "
         "first_id = LEAST(sessions.first_id, EXCLUDED.first_id), "
         "last_id = GREATEST(sessions.last_id, EXCLUDED.last_id), "
         "start_ms = LEAST(sessions.start_ms, EXCLUDED.start_ms), "
         "end_ms = GREATEST(sessions.end_ms, EXCLUDED.end_ms), "
         "messages = sessions.messages + EXCLUDED.messages, bytes = sessions.bytes + EXCLUDED.bytes"},
        {"messages",
         "SELECT json_size, json_zstd FROM messages WHERE rec = $1::text AND id > $2::bigint "
         "AND ($3::text = '' OR host = $3::text) ORDER BY id, host LIMIT $4::bigint"},
        {"messages_page",
         "SELECT json_size, json_zstd FROM messages WHERE rec = $1::text ORDER BY id, host "
         "LIMIT $3::bigint OFFSET $2::bigint"},
        {"message_count", "SELECT count(*) FROM messages WHERE rec = $1::text"},
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

PgStore::Recording& PgStore::lock_recording(const std::string& host, const std::string& rec) {
    auto key = std::pair(host, rec);
    if (auto it = recordings_.find(key); it != recordings_.end()) {
        return it->second;
    }
    Params p;
    p.text(host).text(rec);
    if (recordings_.empty()) {
        run("lock_recording", p, PGRES_TUPLES_OK, 0, "locking the recording");
    } else {
        auto r = run("try_lock_recording", p, PGRES_TUPLES_OK, 0, "locking the recording");
        if (PQntuples(r.get()) != 1 || std::strcmp(PQgetvalue(r.get(), 0, 0), "t") != 0) {
            throw TransientStoreError(name() + ": recording " + host + "/" + rec +
                                      " is being written by another transaction");
        }
    }
    return recordings_[std::move(key)];
}

std::vector<bool>& PgStore::window(const std::string& host, const std::string& rec, Recording& r, uint64_t id) {
    uint64_t w = id / window_ids;
    if (auto it = r.windows.find(w); it != r.windows.end()) {
        return it->second;
    }
    std::vector<bool> stored(window_ids);
    Params p;
    p.text(rec).text(host).u64(w * window_ids).u64(w * window_ids + window_ids);
    auto res = run("stored_ids", p, PGRES_TUPLES_OK, 0, "reading stored ids");
    for (int i = 0; i < PQntuples(res.get()); ++i) {
        stored.at(text_u64(res.get(), i, 0) - w * window_ids) = true;
    }
    return r.windows[w] = std::move(stored);
}

// Many rows to a statement, the compressed JSON as binary parameters.
// ON CONFLICT DO NOTHING stays as a guard: a row it skips means a writer
// that does not take the recording locks, and the transaction is refused
// rather than reporting as new what was not.
void PgStore::flush_inserts() {
    for (size_t at = 0; at < inserts_.size(); at += insert_batch) {
        size_t n = std::min(insert_batch, inserts_.size() - at);
        std::string sql = "INSERT INTO messages (host, rec, id, json_size, json_zstd) VALUES ";
        Params p;
        for (size_t i = 0; i < n; ++i) {
            const auto& x = inserts_[at + i];
            size_t k = i * 5;
            sql += (i == 0 ? "($" : ", ($") + std::to_string(k + 1) + ", $" + std::to_string(k + 2) + ", $" +
                   std::to_string(k + 3) + "::bigint, $" + std::to_string(k + 4) + "::bigint, $" +
                   std::to_string(k + 5) + "::bytea)";
            p.text(x.host).text(x.rec).u64(x.id).u64(x.json_size).binary(x.json_zstd);
        }
        sql += " ON CONFLICT DO NOTHING";
        auto r =
            check(PQexecParams(conn_.get(), sql.c_str(), p.count(), nullptr, p.values(), p.lengths(), p.formats(), 0),
                  PGRES_COMMAND_OK, "storing messages");
        if (std::strtoull(PQcmdTuples(r.get()), nullptr, 10) != n) {
            throw std::runtime_error(name() +
                                     ": messages appeared that this transaction held the lock for: "
                                     "another program writes the messages table without tlog-server's locks");
        }
    }
    inserts_.clear();
}

bool PgStore::insert_message(const MessageMeta& m, uint64_t json_size, std::string_view json_zstd) {
    auto& rec = lock_recording(m.host, m.rec);
    // Ids are at most INT64_MAX (validate_message), as stored.
    std::vector<bool>::reference bit = window(m.host, m.rec, rec, m.id)[m.id % window_ids];
    if (bit) {
        return false;
    }
    bit = true;
    inserts_.push_back({m.host, m.rec, m.id, json_size, std::string(json_zstd)});
    if (inserts_.size() >= insert_batch) {
        flush_inserts();
    }
    return true;
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

// Rows of (json_size, json_zstd) in binary: the message as sent.
std::vector<std::string> PgStore::read_messages(const PGresult* r) const {
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(PQntuples(r)));
    for (int i = 0; i < PQntuples(r); ++i) {
        out.push_back(
            zstd_unpack(PQgetvalue(r, i, 1), static_cast<size_t>(PQgetlength(r, i, 1)), binary_u64(r, i, 0), name()));
    }
    return out;
}

std::vector<std::string> PgStore::messages(const std::string& rec, const std::string& host, uint64_t after_id,
                                           size_t limit) {
    Params p;
    p.text(rec).u64(after_id).text(host).u64(limit);
    return read_messages(read("messages", p, 1, "reading messages").get());
}

std::vector<std::string> PgStore::messages_page(const std::string& rec, uint64_t from, size_t size) {
    Params p;
    p.text(rec).u64(from).u64(size);
    return read_messages(read("messages_page", p, 1, "reading messages").get());
}

uint64_t PgStore::message_count(const std::string& rec) {
    Params p;
    p.text(rec);
    auto r = read("message_count", p, 0, "counting messages");
    return PQntuples(r.get()) > 0 ? text_u64(r.get(), 0, 0) : 0;
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

uint64_t PgStore::sql_exec(const std::string& text, const std::vector<SqlValue>& params) {
    Params p = sql_params(params);
    auto r = check(
        PQexecParams(conn_.get(), numbered(text).c_str(), p.count(), nullptr, p.values(), p.lengths(), p.formats(), 0),
        PGRES_COMMAND_OK, "recording session details");
    return std::strtoull(PQcmdTuples(r.get()), nullptr, 10);
}

}  // namespace

std::unique_ptr<Store> open_postgres(const std::string& conninfo) { return std::make_unique<PgStore>(conninfo); }

}  // namespace tlog::server
