// tlog-server's storage: recordings' messages keyed by (host, rec, id) so a
// resent message is stored once, with the original JSON kept byte for byte
// (a transaction's consecutive messages of one recording compressed
// together, one zstd frame a batch), and a sessions table kept up to date on
// every commit.
// One interface, two backends: SQLite (WAL, embedded, the default) and
// PostgreSQL (shared by several tlog-server instances).
#pragma once

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace tlog::server {

// The fields of one message the server indexes, read by librec's decoder.
struct MessageMeta {
    std::string host, rec, user, term;
    uint64_t session = 0, id = 0, pos = 0;
    std::optional<uint64_t> time_ms;  // the message's wall clock, if it has one
    bool end = false;                 // carries `end`: the recording's last message
};

// A statement's parameter or result value for the SQL written once for
// both backends (session_search.cc): `?` placeholders, text results.
struct SqlValue {
    enum class Kind { Null, Int, Text } kind = Kind::Null;
    int64_t i = 0;
    std::string text;
    static SqlValue null() { return {}; }
    static SqlValue integer(uint64_t v) {
        return {Kind::Int, static_cast<int64_t>(std::min<uint64_t>(v, INT64_MAX)), {}};
    }
    static SqlValue str(std::string v) { return {Kind::Text, 0, std::move(v)}; }
};
using SqlRow = std::vector<std::optional<std::string>>;  // nullopt: NULL

// A condition of a search in that SQL, over `s` (sessions), `i`
// (session_info) and `ix` (session_index). A filter over another table is a scalar subquery of the
// session's row, `(SELECT 1 FROM t WHERE t.host = s.host AND t.rec = s.rec
// AND ...) IS NOT NULL`: neither database turns it into a join, so the
// search keeps reading sessions in the sort's index order (an EXISTS,
// which PostgreSQL makes a hash join, read and sorted everything).
// `ix` is the session's row of the index (session_index, doc/server.md
// "Index"), NULL until the indexer saw the session.
struct SqlCondition {
    std::string sql;
    std::vector<SqlValue> params;
    // PostgreSQL's text and parameters where they differ (a text search's
    // index); pg_sql empty: sql and params on both.
    std::string pg_sql;
    std::vector<SqlValue> pg_params;
};

struct Session {
    std::string host, rec, user, term;
    uint64_t session = 0;
    uint64_t first_id = 0, last_id = 0;
    uint64_t start_ms = 0, end_ms = 0;  // wall clock of the first position and of the last message
    uint64_t messages = 0, bytes = 0;
    uint64_t gaps = 0;  // ids below last_id not received
    // From the audit trail and the server's NSS (session_search.cc); empty
    // or absent until known.
    std::string service, tty, rhost;
    std::optional<uint64_t> audit_session;  // the login's audit session (pam_tlog's start event)
    uint64_t failed_auth = 0;               // failed authentications joined to the start event
    std::vector<std::string> groups;        // the user's groups when the session was first seen
    std::string state;                      // "live", "ended" or "interrupted" when read
    // The indexer's integrity verdict (doc/server.md, "Index"): "pending"
    // until its first message is indexed; label and first bad id as
    // IntegrityReport says them; the last message id indexed.
    std::string integrity = "pending", integrity_label;
    uint64_t first_bad_id = 0, indexed_through = 0;
};

// A search of sessions (GET /api/v1/sessions); every filter set must hold.
// session_search.cc turns it into SQL for either backend.
struct SessionQuery {
    std::string user, host, group, service, tty, rhost;  // empty: any
    std::optional<uint64_t> ses;                         // the audit session
    // Hosts matching any of these glob patterns ('*', '?') or named
    // exactly in `hosts` (a host group resolved by the caller); a group that
    // was asked for and has no member matches nothing.
    bool host_group = false;
    std::vector<std::string> host_globs, hosts;
    enum class Time { Overlap, Start, End };
    Time time = Time::Overlap;                   // which of the session's times falls in [since, until]
    std::optional<uint64_t> since_ms, until_ms;  // inclusive
    std::string state;                           // "", "live", "ended", "interrupted"
    bool failed_auth = false;                    // only sessions preceded by failed authentications
    // Not ended and no message for this long: interrupted (at now_ms).
    uint64_t now_ms = 0, idle_ms = 0;
    enum class Sort { Start, End, Duration, Bytes };
    Sort sort = Sort::Start;
    bool descending = false;
    size_t limit = 100;
    // Keyset paging: sessions after this (sort key, host, rec) in the
    // query's order, exclusive.
    std::optional<std::tuple<uint64_t, std::string, std::string>> after;
    // More filters, each ANDed (the HTTP layer's table adds them).
    std::vector<SqlCondition> conditions;
};

// The index (server/src/index.cc): a session's state, its keyframes and
// the rows of text its screen showed.
struct IndexState {
    std::string host, rec;
    std::string verdict = "pending", label;
    uint64_t first_bad_id = 0;
    uint64_t indexed_through = 0;  // last message id fed to the decoder and the model
    // The session's message count when the indexer looked: it looks again
    // when more are stored.
    uint64_t seen_messages = 0;
};
struct IndexWork {
    std::string host, rec;
    uint64_t messages = 0;
};
struct StoredKeyframe {
    uint64_t pos_ms = 0;
    uint64_t msg_id = 0;   // the first message to replay after it
    std::string snapshot;  // Snapshot::serialize()
    std::string baseline;  // what the next rendering compares with (RowChanges::save)
};
struct ScreenTextRow {
    uint64_t msg_id = 0;  // the message being indexed when the row was rendered
    uint64_t pos_ms = 0;
    int row = 0;
    std::string text;
};

// The fields of one tlog-audit event the server keys and indexes
// (doc/audit-json.md). An event is stored once per (host, serial, time_ms,
// type): libauparse ends an event at a LOGIN record, so one serial and time
// can come as two objects, told apart by their type.
struct AuditMeta {
    std::string host, rec, type;  // rec and type: "" when absent
    uint64_t serial = 0, time_ms = 0;
    std::optional<uint64_t> ses;  // null: no audit session
    bool session_start = false;   // pam_tlog's start record (op tlog-session-start) naming rec
    // Indexed for searches: acct, else auid_name (tlog-audit's names).
    std::string user;
    // The start record's: service, terminal (else tty), rhost (else addr),
    // how many failed authentications tlog-audit joined to it.
    std::string service, tty, rhost;
    uint64_t failed_auth_before = 0;
};

// A stored audit event as read back: its original JSON and its place in
// a recording's order, which is also the paging key.
struct AuditKey {
    uint64_t time_ms = 0, serial = 0;
    std::string host, type;
};
struct AuditEvent {
    std::string json;
    AuditKey key;
};

// An item of a recording's audit trail (GET /api/v1/sessions/REC/audit,
// recording_audit.cc): an event joined to the recording, or a failed
// authentication its start event lists in failed_auth_before, found among
// the stored events by (host, serial, time) or not (yet).
struct RecordingAuditItem {
    // The event and its place in the order (json empty: a listed failure
    // not stored; its key is then the listed time and serial, type "").
    AuditEvent event;
    bool before_session = false;  // listed in the start event's failed_auth_before
    // before_session: the entry's serial and time as the start event lists
    // them, as JSON text ("null" when absent).
    std::string listed_serial, listed_time;
};

// A search of stored audit events (GET /api/v1/audit), in time order
// (then serial, host, type), every filter set holding.
struct AuditQuery {
    std::string host, user, type, rec;  // user: the event's acct, else auid_name; empty: any
    std::optional<uint64_t> ses, since_ms, until_ms;
    size_t limit = 100;
    std::optional<AuditKey> after;
    // More filters over `audit_events`, each ANDed (the viewer's scope).
    std::vector<SqlCondition> conditions;
};

// One line of the access log (access_log.cc): who did what, when, from
// where, to which recording (a search: its query and hits in detail).
struct AccessLogEntry {
    uint64_t id = 0, time_ms = 0;
    std::string viewer, remote, action, outcome, route, host, rec;
    std::string detail = "{}";  // JSON object
};
// GET /api/v1/access-log: entries after `after_id`, in id order.
struct AccessLogQuery {
    std::string viewer, rec;  // empty: any
    std::optional<uint64_t> since_ms, until_ms;
    uint64_t after_id = 0;
    size_t limit = 100;
};

// A viewer's API token as stored (viewer_store.cc): its public id and whom
// it signs in; the token itself is kept only as its hash.
struct ViewerToken {
    std::string id, viewer;
    uint64_t created_ms = 0, expires_ms = 0, revoked_ms = 0;  // 0: never, not revoked
};

// Signed checkpoints (checkpoint.cc, doc/server.md "Integrity"): a
// checkpoint's row, its entries (digests in hex, as tlog::proof defines
// them), and the recordings whose stored message count changed since
// their last entry (head: that entry, from the heads cache).
struct CheckpointRow {
    uint64_t seq = 0, time_ms = 0, entries = 0;
    std::string prev, root, key_id, signature;  // hex
};
struct CheckpointEntryRow {
    uint64_t seq = 0, leaf = 0;
    std::string host, rec;
    uint64_t covered = 0, last_id = 0;
    std::string hash;  // hex
};
struct CheckpointWork {
    std::string host, rec;
    uint64_t messages = 0;  // sessions.messages when listed
    std::optional<CheckpointEntryRow> head;
};

enum class AddResult { Created, Duplicate };

// The database gave up a transaction that running again is expected to
// let through: a recording another writer holds (PostgreSQL), a
// serialization failure or deadlock (40001, 40P01), a connection found lost.
// Running the whole transaction again is safe: what it stored is found as
// duplicates.
class TransientStoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Runs `fn`, one whole transaction (begin ... commit), again while it fails
// as transient, after a random pause growing from a few milliseconds to
// about a second so two writers that collided fall out of step; after
// `attempts` the last failure propagates.
template <class Fn>
auto retry_transient(Fn&& fn, int attempts = 8) {
    thread_local std::minstd_rand rng(std::random_device{}());
    for (int i = 1;; ++i) {
        try {
            return fn();
        } catch (const TransientStoreError&) {
            if (i >= attempts) {
                throw;
            }
        }
        std::uniform_int_distribution<int> pause(1, 5 << std::min(i, 8));
        std::this_thread::sleep_for(std::chrono::milliseconds(pause(rng)));
    }
}

class Store {
public:
    virtual ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;
    Store(Store&&) = delete;
    Store& operator=(Store&&) = delete;

    // ingest_auth.cc: the per-host ingest tokens (table ingest_tokens),
    // known by their SHA-256 only. add: false if the id is taken.
    bool add_ingest_token(const std::string& id, const std::string& host, const std::string& sha256, uint64_t now_ms);
    std::vector<SqlRow> ingest_tokens();  // id, host, created_ms, revoked_ms
    uint64_t revoke_ingest_tokens(const std::string& id_or_host, uint64_t now_ms);
    std::optional<std::string> ingest_token_host(const std::string& sha256);

    // Both backends number their schema versions alike.
    static int current_schema_version();
    virtual int schema_version() = 0;
    // What error messages call this database (never a password).
    const std::string& name() const { return name_; }

    // Batches of adds run in one transaction (one commit per request).
    void begin();
    void commit();
    void rollback();

    // Stores a validated message; `received_ms` stands in for the time of
    // messages without one. Outside begin()/commit() it commits alone.
    AddResult add(const MessageMeta& meta, std::string_view json, uint64_t received_ms);

    // Sessions matching every filter of `q`, in its order (session_search.cc:
    // one SQL text for both backends).
    std::vector<Session> sessions(const SessionQuery& q);
    // Stored audit events matching `q`, in time order (then serial, host, type).
    std::vector<AuditEvent> search_audit(const AuditQuery& q);
    // The groups of each user (the server's NSS, resolved by the caller
    // outside the store's turn) recorded with the sessions first seen in the
    // following transactions; nullptr: none recorded. Not owned.
    void set_user_groups(const std::map<std::string, std::vector<std::string>>* groups) { user_groups_ = groups; }
    // Original JSON of a recording's messages with id > after_id, in id
    // order (then host, for the rare rec shared by two hosts); host empty: any.
    // Each batch read is decompressed once.
    std::vector<std::string> messages(const std::string& rec, const std::string& host, uint64_t after_id, size_t limit);
    // The same by position in id order, as Elasticsearch's from/size page.
    std::vector<std::string> messages_page(const std::string& rec, uint64_t from, size_t size);
    uint64_t message_count(const std::string& rec);
    // Messages of recording (host, rec) with stored id > after_id, in id
    // order, each with the id it is stored under (the verifier's: the
    // JSON's own id may have been changed).
    std::vector<std::pair<uint64_t, std::string>> stored_messages(const std::string& host, const std::string& rec,
                                                                  uint64_t after_id, size_t limit);

    // The number of messages of recording (host, rec) stored.
    uint64_t stored_count(const std::string& host, const std::string& rec);

    // Signed checkpoints (checkpoint_store.cc; SQL once for both backends).
    // Recordings whose sessions count differs from what their last entry
    // saw, in (host, rec) order after `after` (exclusive), up to `limit`.
    std::vector<CheckpointWork> checkpoint_work(const std::pair<std::string, std::string>& after, size_t limit);
    std::optional<CheckpointRow> last_checkpoint();
    // Up to `limit` checkpoints with seq > after, in seq order.
    std::vector<CheckpointRow> checkpoints_after(uint64_t after, size_t limit);
    // A checkpoint's entries in leaf order.
    std::vector<CheckpointEntryRow> checkpoint_entries(uint64_t seq);
    // The entry of the latest checkpoint naming recording (host, rec).
    std::optional<CheckpointEntryRow> latest_entry(const std::string& host, const std::string& rec);
    // In one transaction: the checkpoint (none when `cp` is nullopt), its
    // entries, and the heads cache: each (entry, sessions count seen).
    void save_checkpoint(const std::optional<CheckpointRow>& cp, const std::vector<CheckpointEntryRow>& entries,
                         const std::vector<std::pair<CheckpointEntryRow, uint64_t>>& heads);

    // Stores a checked audit event (byte for byte, zstd like messages);
    // inside begin()/commit() like add().
    AddResult add_audit(const AuditMeta& meta, std::string_view json);
    // Up to `limit` audit events of a recording after `after` (exclusive;
    // none: from the start), in time order (then serial, host, type): those
    // carrying `rec`, and those of the audit
    // sessions (host, ses) whose pam_tlog start event names `rec` that
    // carry no rec (logged before the start record). Events of such a
    // session that carry another rec belong to another recording (audit
    // session ids restart at boot) and are left out.
    virtual std::vector<AuditEvent> audit_events(const std::string& rec, const std::optional<AuditKey>& after,
                                                 size_t limit) = 0;
    // A recording's audit trail (recording_audit.cc): its events, as
    // audit_events gives them, and, marked before_session, the failed
    // authentications that the start event session_info kept for each of
    // its hosts lists (failed_auth_before), looked up by that host, serial
    // and time; one not stored (yet) is an item without JSON. Same order
    // and paging as audit_events; an event both joined and listed comes
    // once, as listed.
    std::vector<RecordingAuditItem> recording_audit(const std::string& rec, const std::optional<AuditKey>& after,
                                                    size_t limit);

    // The index (server/src/index.cc; doc/server.md, "Index").
    // Sessions with messages past their indexed point, up to `limit`.
    virtual std::vector<IndexWork> index_work(size_t limit) = 0;
    virtual std::optional<IndexState> index_state(const std::string& host, const std::string& rec) = 0;
    // In one transaction: the session's state, and its keyframes and text
    // rows found since the last save; those of message ids `redo_from` and
    // above stored before (an index resumed from a keyframe) are replaced.
    virtual void save_index(const IndexState& s, const std::vector<StoredKeyframe>& keyframes,
                            const std::vector<ScreenTextRow>& rows, uint64_t redo_from) = 0;
    // The last keyframe at or before `pos_ms` (none: the index has none).
    virtual std::optional<StoredKeyframe> keyframe_at(const std::string& host, const std::string& rec,
                                                      uint64_t pos_ms) = 0;
    // Up to `limit` rows of screen text holding `text` (bytewise), in order of position.
    virtual std::vector<ScreenTextRow> text_hits(const std::string& host, const std::string& rec,
                                                 const std::string& text, size_t limit) = 0;
    // Several instances on one database index a session one at a time:
    // false when another holds it (PostgreSQL's advisory lock; SQLite: one
    // process, always true).
    virtual bool try_lock_index(const std::string& host, const std::string& rec) = 0;
    virtual void unlock_index(const std::string& host, const std::string& rec) = 0;
    // The host of a recording (hosts that share a rec: the first); "" if none.
    virtual std::string host_of(const std::string& rec) = 0;

    // Viewers' credentials (viewer_store.cc), each secret kept as its
    // hash (hex SHA-256). Tokens: stored, listed, revoked by id, and
    // looked up by hash (the stored hash beside it, for an exact compare).
    void add_viewer_token(const ViewerToken& t, const std::string& hash);
    std::vector<ViewerToken> viewer_tokens();
    bool revoke_viewer_token(const std::string& id, uint64_t now_ms);
    std::optional<std::pair<ViewerToken, std::string>> viewer_token(const std::string& hash);
    // Signed-in sessions: created (the expired ones deleted), and looked up at `now_ms`: the viewer if
    // the session is neither idle for idle_ms nor older than max_ms (an
    // expired one is deleted), its last use moved on when more than a
    // minute (or a tenth of idle_ms) old; ended.
    void add_viewer_session(const std::string& hash, const std::string& viewer, uint64_t now_ms, uint64_t idle_ms,
                            uint64_t max_ms);
    std::optional<std::string> viewer_session(const std::string& hash, uint64_t now_ms, uint64_t idle_ms,
                                              uint64_t max_ms);
    void end_viewer_session(const std::string& hash);
    // Whether recording `rec` (of `host`; empty: of every host that has
    // it) is stored and every such session matches `scope`, a condition
    // over sessions `s` (access.h); one lookup by rec either way.
    bool recording_visible(const std::string& rec, const std::string& host, const SqlCondition& scope);
    // The access log (access_log.cc).
    void add_access_log(const AccessLogEntry& e);
    std::vector<AccessLogEntry> access_log(const AccessLogQuery& q);

protected:
    // Retention (retention.cc) runs its SQL, takes recordings' locks and
    // deletes purged recordings through the backends' own entry points.
    friend class RetentionAccess;

    explicit Store(std::string name) : name_(std::move(name)) {}

    virtual void begin_transaction() = 0;
    virtual void commit_transaction() = 0;
    virtual void rollback_transaction() noexcept = 0;

    // Messages are stored in batches: a row per batch (its zstd frame, the
    // JSON's total size and each message's size) and a row per message in
    // an index keyed by (recording key, id) naming its batch and place.
    //
    // The integer key of recording (host, rec), created if new, and its
    // open batch (0: none): the last batch, if it has room, which the next
    // transaction's messages of the recording join, so that recordings
    // sent a message or two at a time (live sessions) are compressed in
    // batches too. Called once per recording a transaction writes, before
    // its messages.
    struct RecordingKey {
        uint64_t key = 0, open_batch = 0;
    };
    virtual RecordingKey recording_key(const std::string& host, const std::string& rec) = 0;
    // Records the recording's open batch (0: none).
    virtual void set_open_batch(uint64_t key, uint64_t batch) = 0;
    // A batch id not used before (ids may be left unused).
    virtual uint64_t new_batch_id() = 0;
    // Records message `id` of recording `key` as the `ord`th of batch
    // `batch` unless that id is stored; true if it was not. Under
    // concurrency, true for exactly one of the writers of the same message.
    virtual bool claim_message(uint64_t key, uint64_t id, uint64_t batch, uint32_t ord) = 0;
    // Stores a batch whose messages were claimed, or stores it again with
    // more messages (the open batch): `sizes` empty for a batch of one
    // message, else each message's size (LEB128, in order).
    virtual void insert_batch(uint64_t batch, uint64_t key, uint64_t json_size, std::string_view sizes,
                              std::string_view zstd) = 0;

    // Reading: a recording's keys, (key, host) in host order (host empty:
    // any host).
    virtual std::vector<std::pair<uint64_t, std::string>> recording_keys(const std::string& rec,
                                                                         const std::string& host) = 0;
    struct MessageRef {
        uint64_t id = 0, batch = 0;
        uint32_t ord = 0;
    };
    // Up to `limit` messages of recording `key` with id > after_id, in id
    // order, skipping the first `offset`.
    virtual std::vector<MessageRef> message_refs(uint64_t key, uint64_t after_id, uint64_t offset, size_t limit) = 0;
    virtual uint64_t count_messages(uint64_t key) = 0;
    struct BatchRow {
        uint64_t json_size = 0;
        std::string sizes, zstd;
    };
    // The stored batches of these ids (any order; ids not stored are missing).
    virtual std::map<uint64_t, BatchRow> read_batches(const std::vector<uint64_t>& batches) = 0;
    // Inserts unless (host, serial, time_ms, type) is stored; true if
    // inserted, for exactly one of concurrent writers of the same event.
    virtual bool insert_audit(const AuditMeta& m, uint64_t json_size, std::string_view json_zstd) = 0;
    // Merges a transaction's additions to one session into its row: first/
    // start the least, last/end the greatest, messages and bytes added; a
    // new row takes session_info's failed_auth and ended.
    virtual void merge_session(const Session& delta) = 0;
    // Keeps others from writing recording (host, rec) until this
    // transaction ends, so that a change of its session row made after it
    // cannot be missed by a concurrent merge_session (PostgreSQL: the
    // recording's lock, only tried: TransientStoreError if another
    // transaction writes it; SQLite's write transactions are serial
    // already).
    virtual void hold_recording(const std::string& /*host*/, const std::string& /*rec*/) {}
    // SQL written once for both backends (session_search.cc): `?`
    // placeholders, which PostgreSQL's backend numbers; results as text
    // (blobs as their bytes), NULL as nullopt. sql_exec returns the rows changed.
    virtual std::vector<SqlRow> sql_query(const std::string& text, const std::vector<SqlValue>& params) = 0;
    virtual uint64_t sql_exec(const std::string& text, const std::vector<SqlValue>& params) = 0;
    virtual bool is_postgres() const = 0;

private:
    // session_search.cc: what a transaction learnt of its sessions (groups,
    // ended), written at commit; what an audit event says of its session.
    void record_session_info();
    void note_committed();  // after a commit: the sessions whose groups it recorded
    void record_audit_info(const AuditMeta& m);
    // recording_audit.cc: the listed failures of `rec` after `after`, in order.
    std::vector<RecordingAuditItem> failed_auth_items(const std::string& rec, const std::optional<AuditKey>& after,
                                                      size_t limit);
    // A recording's batch being filled: the messages claimed for it so far.
    struct OpenBatch {
        uint64_t id = 0;                // 0: none reserved yet
        uint32_t count = 0, added = 0;  // messages in it; of them, added by this transaction
        std::string sizes, json;
    };
    // What this transaction added to one recording.
    struct Pending {
        uint64_t key = 0, open_at_start = 0;
        Session session;
        OpenBatch batch;
    };
    void open_recording(Pending& p, const std::string& host, const std::string& rec);
    void close_batch(Pending& p);
    std::vector<std::string> read_refs(const std::vector<MessageRef>& refs);
    std::vector<std::string> read_messages(const std::string& rec, const std::string& host, uint64_t after_id,
                                           uint64_t offset, size_t limit);

    std::string name_;
    bool in_transaction_ = false;
    // The sessions this transaction added to, merged at commit in key
    // order: one statement per session rather than per message, and two
    // writers take the sessions' row locks in the same order.
    std::map<std::pair<std::string, std::string>, Pending> pending_;
    // The sessions whose end message this transaction stored.
    std::set<std::pair<std::string, std::string>> ended_;
    const std::map<std::string, std::vector<std::string>>* user_groups_ = nullptr;
    // Sessions whose groups are recorded (committed), and those this
    // transaction claimed; a bounded cache, only to save statements.
    std::set<std::pair<std::string, std::string>> groups_recorded_;
    std::vector<std::pair<std::string, std::string>> claimed_;
};

// Opens (creating if needed) the database `spec` names and brings its schema
// to the current version: a postgresql:// or postgres:// URI, or
// "postgres:" followed by a libpq conninfo ("host=/run/postgresql
// dbname=tlog"), is PostgreSQL; anything else is an SQLite file's path.
// Throws std::runtime_error naming the database.
std::unique_ptr<Store> open_store(const std::string& spec);

}  // namespace tlog::server
