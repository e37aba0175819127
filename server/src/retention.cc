// Retention (doc/server.md, "Retention"): classes decided from the start
// event's rule, runs that archive and purge what is past its class's
// limits, legal holds, tombstones. SQL written once for both backends
// (Store::sql_query's `?` parameters); messages read only through
// Store::messages.
#include "tlog/server/retention.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <set>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "screen_chunks.h"
#include "store_backend.h"
#include "tlog/json.h"
#include "tlog/sha256.h"

namespace tlog::server {

// The one place outside the backends that writes what they store: it
// deletes a purged recording from every table that holds it. A change of
// how messages are stored changes delete_recording too.
class RetentionAccess {
public:
    static std::vector<SqlRow> query(Store& s, const std::string& sql, const std::vector<SqlValue>& p) {
        return s.sql_query(sql, p);
    }
    static uint64_t exec(Store& s, const std::string& sql, const std::vector<SqlValue>& p) {
        return s.sql_exec(sql, p);
    }
    static void hold(Store& s, const std::string& host, const std::string& rec) { s.hold_recording(host, rec); }
    static bool postgres(const Store& s) { return s.is_postgres(); }
    static void delete_recording(Store& s, const std::string& host, const std::string& rec);
};

namespace {

using V = SqlValue;
using A = RetentionAccess;

uint64_t num(const std::optional<std::string>& v) { return v ? std::strtoull(v->c_str(), nullptr, 10) : 0; }
std::string str(const std::optional<std::string>& v) { return v ? *v : std::string(); }

uint64_t wall_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

std::string iso_time(uint64_t ms, const char* fmt = "%Y-%m-%dT%H:%M:%SZ") {
    time_t t = static_cast<time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    strftime(buf, sizeof buf, fmt, &tm);
    return buf;
}

}  // namespace

void RetentionAccess::delete_recording(Store& s, const std::string& host, const std::string& rec) {
    const std::string where = s.name() + ": " + host + "/" + rec;
    auto keys = query(s, "SELECT sid FROM recording_keys WHERE rec = ? AND host = ?", {V::str(rec), V::str(host)});
    for (const auto& k : keys) {
        V sid = V::integer(num(k[0]));
        if (!s.is_postgres()) {
            // SQLite's trigram index is contentless: a chunk leaves it only
            // when its text is given again.
            for (const auto& c : query(s,
                                       "SELECT cid, first_id, last_id, packed_size, packed FROM screen_chunks WHERE "
                                       "sid = ?",
                                       {sid})) {
                std::string packed = str(c[4]);
                auto chunk = unpack_chunk(packed.data(), packed.size(), num(c[3]), num(c[1]), num(c[2]), where);
                exec(s, "INSERT INTO screen_chunks_fts (screen_chunks_fts, rowid, text) VALUES ('delete', ?, ?)",
                     {V::integer(num(c[0])), V::str(chunk.text)});
            }
        }
        exec(s, "DELETE FROM screen_chunks WHERE sid = ?", {sid});
        exec(s, "DELETE FROM keyframes WHERE sid = ?", {sid});
        // By the ids' batches: message_batches has no index on sid.
        exec(s, "DELETE FROM message_batches WHERE bid IN (SELECT bid FROM message_ids WHERE sid = ?)", {sid});
        exec(s, "DELETE FROM message_ids WHERE sid = ?", {sid});
        exec(s, "DELETE FROM recording_keys WHERE sid = ?", {sid});
    }
    // session_groups is keyed by group first: one delete per group.
    auto info = query(s, "SELECT groups FROM session_info WHERE host = ? AND rec = ?", {V::str(host), V::str(rec)});
    if (!info.empty()) {
        try {
            auto groups = json::parse(str(info[0][0]), where);
            for (const auto& g : groups.items()) {
                if (g.is_string()) {
                    exec(s, "DELETE FROM session_groups WHERE grp = ? AND host = ? AND rec = ?",
                         {V::str(g.as_string()), V::str(host), V::str(rec)});
                }
            }
        } catch (const InputError&) {
            // Written by the server itself: not JSON means damage; the
            // rows then stay, naming a recording no search finds.
        }
    }
    // checkpoint_heads: so that a recording of the same name stored later
    // is hashed from its first message, not extended from this one's.
    for (const char* table : {"session_index", "session_info", "sessions", "retention_class", "checkpoint_heads"}) {
        exec(s, std::string("DELETE FROM ") + table + " WHERE host = ? AND rec = ?", {V::str(host), V::str(rec)});
    }
}

namespace {

// The rule the recording's first stored start event names: nullopt when
// no start event is stored, "" when it names none.
std::optional<std::string> start_rule(Store& s, const std::string& host, const std::string& rec) {
    auto rows = A::query(s,
                         "SELECT json_size, json_zstd FROM audit_events WHERE rec = ? AND host = ? AND "
                         "session_start = TRUE ORDER BY time_ms, serial LIMIT 1",
                         {V::str(rec), V::str(host)});
    if (rows.empty()) return std::nullopt;
    std::string packed = str(rows[0][1]);
    std::string text = zstd_unpack(packed.data(), packed.size(), num(rows[0][0]), s.name());
    try {
        auto v = json::parse(text, s.name());
        const auto* r = v.find("rule");
        return r != nullptr && r->is_string() ? r->as_string() : std::string();
    } catch (const InputError&) {
        return std::string();  // checked on arrival; a damaged one names no rule
    }
}

struct Candidate {
    std::string host, rec, user, class_name;
    uint64_t start_ms = 0, end_ms = 0, messages = 0, bytes = 0;
};

bool hold_matches(const RetentionHold& h, const Candidate& c) {
    return (h.host.empty() || h.host == c.host) && (h.rec.empty() || h.rec == c.rec) &&
           (h.user.empty() || h.user == c.user);
}

std::string safe_name(const std::string& s) {
    std::string out;
    for (char ch : s.substr(0, 64)) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                  ch == '_' || (ch == '.' && !out.empty());
        out += ok ? ch : '_';
    }
    return out.empty() ? "_" : out;
}

[[noreturn]] void sys_fail(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

void write_all(int fd, const void* data, size_t n, const std::string& path) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            sys_fail("writing " + path);
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
}

struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&&) = delete;
    Fd& operator=(Fd&&) = delete;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

void sync_dir(const std::string& dir) {
    Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.fd < 0 || ::fsync(d.fd) != 0) sys_fail("syncing " + dir);
}

struct CctxFree {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

// A recording's archive: its messages as stored, one a line, one zstd
// frame, written to a new file (never over one) and synced before the
// recording is purged.
class ArchiveFile {
public:
    explicit ArchiveFile(std::string path) : path_(std::move(path)), cctx_(ZSTD_createCCtx()) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd_ < 0) sys_fail("creating " + path_);
        if (!cctx_ || ZSTD_isError(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, 9)) != 0U ||
            ZSTD_isError(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_checksumFlag, 1)) != 0U) {
            throw std::runtime_error("zstd: cannot set up compression for " + path_);
        }
        out_.resize(ZSTD_CStreamOutSize());
    }
    ArchiveFile(const ArchiveFile&) = delete;
    ArchiveFile& operator=(const ArchiveFile&) = delete;
    ArchiveFile(ArchiveFile&&) = delete;
    ArchiveFile& operator=(ArchiveFile&&) = delete;
    ~ArchiveFile() {
        if (fd_ >= 0) ::close(fd_);
    }
    void write(std::string_view data) { pump(data, ZSTD_e_continue); }
    // Ends the frame, syncs; the file's SHA-256 and size.
    std::pair<std::string, uint64_t> finish() {
        pump({}, ZSTD_e_end);
        if (::fsync(fd_) != 0) sys_fail("syncing " + path_);
        ::close(fd_);
        fd_ = -1;
        return {sha_.hex_and_reset(), size_};
    }
    const std::string& path() const { return path_; }

private:
    void pump(std::string_view data, ZSTD_EndDirective mode) {
        ZSTD_inBuffer in{data.data(), data.size(), 0};
        for (;;) {
            ZSTD_outBuffer out{out_.data(), out_.size(), 0};
            size_t left = ZSTD_compressStream2(cctx_.get(), &out, &in, mode);
            if (ZSTD_isError(left) != 0U) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(left));
            write_all(fd_, out_.data(), out.pos, path_);
            sha_.update(out_.data(), out.pos);
            size_ += out.pos;
            if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) break;
        }
    }
    std::string path_;
    int fd_ = -1;
    std::unique_ptr<ZSTD_CCtx, CctxFree> cctx_;
    std::string out_;
    Sha256 sha_;
    uint64_t size_ = 0;
};

struct ManifestEntry {
    Tombstone t;
    uint64_t file_bytes = 0;
    std::string file;  // relative to the manifest
};

// Rewritten whole (a new file renamed over it, synced) after each
// archive, before its recording is purged: a run cut short leaves a
// manifest naming every file whose recording may be gone.
void write_manifest(const std::string& dir, const RetentionRunOptions& opt, uint64_t created_ms,
                    const std::vector<ManifestEntry>& entries) {
    std::string j = "{\"format\":\"tlog-server retention archive 1\",\"created\":" + json::quote(iso_time(created_ms)) +
                    ",\"run_time\":" + json::quote(iso_time(opt.now_ms)) + ",\"who\":" + json::quote(opt.who) +
                    ",\"account\":" + json::quote(opt.account) + ",\"recordings\":[";
    bool first = true;
    for (const auto& e : entries) {
        const Tombstone& t = e.t;
        j += first ? "\n" : ",\n";
        first = false;
        j += "{\"file\":" + json::quote(e.file) + ",\"file_sha256\":" + json::quote(t.archive_sha256) +
             ",\"file_bytes\":" + std::to_string(e.file_bytes) + ",\"host\":" + json::quote(t.host) +
             ",\"rec\":" + json::quote(t.rec) + ",\"user\":" + json::quote(t.user) +
             ",\"class\":" + json::quote(t.class_name) + ",\"reason\":" + json::quote(t.reason) +
             ",\"messages\":" + std::to_string(t.messages) + ",\"json_bytes\":" + std::to_string(t.bytes) +
             ",\"json_sha256\":" + json::quote(t.sha256) + ",\"first_ms\":" + std::to_string(t.first_ms) +
             ",\"last_ms\":" + std::to_string(t.last_ms);
        if (!t.signature.empty()) {
            // The signed tombstone, checked offline as doc/server.md says.
            j += ",\"tombstone_statement\":" + json::quote(tombstone_statement(t).statement()) +
                 ",\"tombstone_signature\":" + json::quote(t.signature) + ",\"key_id\":" + json::quote(t.key_id);
        }
        j += "}";
    }
    j += "\n]}\n";
    std::string tmp = dir + "/.manifest.json.new";
    {
        Fd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (f.fd < 0) sys_fail("creating " + tmp);
        write_all(f.fd, j.data(), j.size(), tmp);
        if (::fsync(f.fd) != 0) sys_fail("syncing " + tmp);
    }
    if (::rename(tmp.c_str(), (dir + "/manifest.json").c_str()) != 0) sys_fail("renaming " + tmp);
    sync_dir(dir);
}

struct Hashed {
    std::string sha256;
    uint64_t messages = 0, bytes = 0;
    proof::RecordingHash rec_hash;  // as a checkpoint hashes it
};

// Reads the recording's messages through the Store, each followed by
// "\n" into the hash (and the archive): the bytes GET .../messages
// answers and the archive decompresses to.
Hashed hash_recording(Store& s, const std::string& host, const std::string& rec, ArchiveFile* archive) {
    Hashed out;
    Sha256 sha;
    uint64_t after = 0;
    for (;;) {
        auto page = s.stored_messages(host, rec, after, 4096);
        for (const auto& [id, m] : page) {
            out.rec_hash.add(id, m);
            sha.update(m);
            sha.update("\n");
            if (archive != nullptr) {
                archive->write(m);
                archive->write("\n");
            }
            ++out.messages;
            out.bytes += m.size();
        }
        if (page.size() < 4096) break;
        after = page.back().first;
    }
    out.sha256 = sha.hex_and_reset();
    return out;
}

void insert_tombstone(Store& s, const Tombstone& t) {
    A::exec(s,
            "INSERT INTO retention_tombstones (run_ms, purged_ms, who, account, host, rec, usr, first_ms, last_ms, "
            "messages, bytes, sha256, action, archive_file, archive_sha256, class, reason) VALUES (?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {V::integer(t.run_ms), V::integer(t.purged_ms), V::str(t.who), V::str(t.account), V::str(t.host),
             V::str(t.rec), V::str(t.user), V::integer(t.first_ms), V::integer(t.last_ms), V::integer(t.messages),
             V::integer(t.bytes), V::str(t.sha256), V::str(t.action), V::str(t.archive_file), V::str(t.archive_sha256),
             V::str(t.class_name), V::str(t.reason)});
    if (t.signature.empty()) return;
    // Its row number: the newest of the recording's, in this transaction.
    auto tid = A::query(s, "SELECT max(tid) FROM retention_tombstones WHERE rec = ? AND host = ?",
                        {V::str(t.rec), V::str(t.host)});
    A::exec(s, "INSERT INTO tombstone_signatures (tid, hash, count, key_id, signature) VALUES (?, ?, ?, ?, ?)",
            {V::integer(num(tid.at(0)[0])), V::str(t.rec_hash), V::integer(t.rec_count), V::str(t.key_id),
             V::str(t.signature)});
}

// A transaction deletes this many recordings at most, or recordings of
// this many messages (a larger recording alone): few enough that ingest,
// which waits for it, waits tens of milliseconds, and enough that a purge
// of many small recordings does not take the write lock once for each
// (bench/README.md, "Retention: ingest during a purge").
constexpr size_t group_recordings = 64;
constexpr uint64_t group_messages = 20000;
// On SQLite, the pause after each group's transaction.
constexpr int sqlite_pause_ms = 120;

enum class Purged { Changed, Done, Busy };

// Deletes the recordings with their tombstones in one transaction, each
// if it is still what was hashed (Changed: a message of it came
// meanwhile) and no other transaction writes it (Busy: PostgreSQL, a
// writer holds its lock).
std::vector<Purged> purge_group(Store& s, const std::vector<Tombstone>& group) {
    return retry_transient([&] {
        std::vector<Purged> purged(group.size(), Purged::Changed);
        s.begin();
        try {
            for (size_t i = 0; i < group.size(); ++i) {
                const Tombstone& t = group[i];
                try {
                    A::hold(s, t.host, t.rec);  // PostgreSQL: its writers wait (SQLite: one writer already)
                } catch (const TransientStoreError&) {
                    // Only tried, the transaction intact (a lost connection
                    // fails the next statement and the group runs again).
                    purged[i] = Purged::Busy;
                    continue;
                }
                auto now = A::query(s, "SELECT messages, bytes FROM sessions WHERE host = ? AND rec = ?",
                                    {V::str(t.host), V::str(t.rec)});
                if (now.empty() || num(now[0][0]) != t.messages || num(now[0][1]) != t.bytes) continue;
                A::delete_recording(s, t.host, t.rec);
                insert_tombstone(s, t);
                purged[i] = Purged::Done;
            }
            s.commit();
            return purged;
        } catch (...) {
            s.rollback();
            throw;
        }
    });
}

}  // namespace

uint64_t retention_time(const std::string& text, const std::string& what) {
    std::tm tm{};
    const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end != nullptr && *end == '\0') {
        return static_cast<uint64_t>(timegm(&tm)) * 1000;
    }
    if (!text.empty() && text.size() <= 12 && text.find_first_not_of("0123456789") == std::string::npos) {
        return std::stoull(text) * 1000;
    }
    throw std::invalid_argument(what +
                                ": not a time (seconds since the epoch or YYYY-MM-DDTHH:MM:SSZ): " + json::quote(text));
}

RetentionReport run_retention(Store& s, const RetentionSettings& cfg, const RetentionRunOptions& opt) {
    RetentionReport report;
    std::vector<RetentionHold> holds = list_holds(s, false);
    // 1. Every session with its class, deciding those not decided yet (or
    // decided before their start event was stored).
    std::map<std::string, std::vector<Candidate>> by_class;
    std::string last_host, last_rec;
    bool first_page = true;
    for (;;) {
        // Keyset paging on sessions' primary key (host, rec).
        const std::string select =
            "SELECT s.host, s.rec, s.\"user\", s.start_ms, s.end_ms, s.messages, s.bytes, c.class, c.from_start FROM "
            "sessions s LEFT JOIN retention_class c ON c.host = s.host AND c.rec = s.rec ";
        auto rows = first_page
                        ? A::query(s, select + "ORDER BY s.host, s.rec LIMIT 1000", {})
                        : A::query(s, select + "WHERE (s.host, s.rec) > (?, ?) ORDER BY s.host, s.rec LIMIT 1000",
                                   {V::str(last_host), V::str(last_rec)});
        first_page = false;
        // A page's decisions in one transaction: one turn of the write
        // lock, not one per recording.
        bool writing = false;
        try {
            for (const auto& r : rows) {
                Candidate c{str(r[0]), str(r[1]), str(r[2]), str(r[7]), num(r[3]), num(r[4]), num(r[5]), num(r[6])};
                ++report.sessions;
                if (!r[7] || num(r[8]) == 0) {
                    auto rule = start_rule(s, c.host, c.rec);
                    std::string cls = cfg.default_class;
                    if (rule) {
                        auto it = cfg.rules.find(*rule);
                        if (it != cfg.rules.end()) cls = it->second;
                    }
                    bool changed = !r[7] || str(r[7]) != cls || rule.has_value();
                    c.class_name = cls;
                    if (changed && !opt.dry_run) {
                        if (!writing) {
                            s.begin();
                            writing = true;
                        }
                        A::exec(
                            s,
                            "INSERT INTO retention_class (host, rec, class, rule, decided_ms, from_start) VALUES (?, "
                            "?, ?, ?, ?, ?) ON CONFLICT (host, rec) DO UPDATE SET class = excluded.class, rule = "
                            "excluded.rule, decided_ms = excluded.decided_ms, from_start = excluded.from_start",
                            {V::str(c.host), V::str(c.rec), V::str(cls), V::str(rule.value_or("")),
                             V::integer(opt.now_ms), V::integer(rule ? 1 : 0)});
                    }
                    if (changed) ++report.classes_decided;
                }
                if (c.class_name.empty()) continue;  // no class: kept
                by_class[c.class_name].push_back(std::move(c));
            }
            if (writing) s.commit();
        } catch (...) {
            if (writing) s.rollback();
            throw;
        }
        if (rows.size() < 1000) break;
        last_host = str(rows.back()[0]);
        last_rec = str(rows.back()[1]);
    }
    // 2. What is past its class's limits: older than its days, or beyond
    // its class's bytes counting from the newest.
    std::vector<std::pair<Candidate, std::string>> expired;  // (recording, reason)
    for (auto& [name, list] : by_class) {
        auto cls = cfg.classes.find(name);
        if (cls == cfg.classes.end()) {
            for (const auto& c : list) {
                RetentionItem it{c.host, c.rec, c.user, name, "", c.end_ms, c.messages, c.bytes, "class not configured",
                                 {}};
                report.items.push_back(std::move(it));
            }
            continue;
        }
        const RetentionClass& rc = cls->second;
        std::sort(list.begin(), list.end(), [](const Candidate& a, const Candidate& b) {
            return std::tie(b.end_ms, b.host, b.rec) < std::tie(a.end_ms, a.host, a.rec);
        });
        uint64_t total = 0;
        const uint64_t age_ms = rc.days * 86400000ULL;
        for (const auto& c : list) {
            total += c.bytes;
            if (opt.now_ms >= c.end_ms && opt.now_ms - c.end_ms > age_ms) {
                expired.emplace_back(c, "age");
            } else if (rc.max_bytes && total > *rc.max_bytes) {
                expired.emplace_back(c, "size");
            }
        }
    }
    // 3. Purge (after archiving) each one no hold keeps, oldest first, a
    // group of recordings a transaction.
    std::sort(expired.begin(), expired.end(), [](const auto& a, const auto& b) {
        return std::tie(a.first.end_ms, a.first.host, a.first.rec) <
               std::tie(b.first.end_ms, b.first.host, b.first.rec);
    });
    std::map<std::string, std::vector<ManifestEntry>> manifests;  // by this run's directory
    std::map<std::string, std::string> run_dirs;                  // class's archive_dir -> this run's directory
    std::map<std::string, uint64_t> file_numbers;                 // by this run's directory
    const uint64_t created_ms = wall_ms();
    struct Prepared {
        size_t item = 0;  // in report.items
        Tombstone t;
        std::string dir;  // archived: this run's directory
    };
    std::vector<Prepared> group;
    uint64_t group_size = 0;
    auto flush = [&] {
        if (group.empty()) return;
        std::vector<Tombstone> ts;
        ts.reserve(group.size());
        std::set<std::string> signed_dirs;
        for (auto& g : group) {
            g.t.purged_ms = wall_ms();
            if (opt.key != nullptr) {
                g.t.key_id = opt.key->fingerprint();
                g.t.signature = proof::to_hex(opt.key->sign(tombstone_statement(g.t).statement()));
                if (!g.dir.empty()) {
                    for (auto& m : manifests[g.dir]) {
                        if (m.t.archive_file == g.t.archive_file) m.t = g.t;
                    }
                    signed_dirs.insert(g.dir);
                }
            }
            ts.push_back(g.t);
        }
        // The manifests carry the signed tombstones before their
        // recordings are purged.
        for (const auto& d : signed_dirs) write_manifest(d, opt, created_ms, manifests[d]);
        std::vector<Purged> purged;
        try {
            purged = purge_group(s, ts);
            if (!A::postgres(s)) {
                // SQLite's writers waiting for the lock (the server's
                // ingest) look again every 100 ms at worst: a run that
                // took it back sooner would keep them out (bench/README.md,
                // "Retention: ingest during a purge").
                std::this_thread::sleep_for(std::chrono::milliseconds(sqlite_pause_ms));
            }
        } catch (...) {
            for (const auto& g : group) s.unlock_index(g.t.host, g.t.rec);
            throw;
        }
        for (size_t i = 0; i < group.size(); ++i) {
            Prepared& g = group[i];
            RetentionItem& item = report.items[g.item];
            s.unlock_index(g.t.host, g.t.rec);
            if (purged[i] == Purged::Done) {
                item.outcome = g.dir.empty() ? "purged" : "archived";
                item.tombstone = g.t;
                continue;
            }
            // A message came during the run, or a writer holds it: the
            // next run takes it.
            item.outcome = purged[i] == Purged::Busy ? "busy" : "changed";
            if (!g.dir.empty()) {
                ::unlink(g.t.archive_file.c_str());
                auto& m = manifests[g.dir];
                m.erase(std::remove_if(m.begin(), m.end(),
                                       [&](const ManifestEntry& e) { return e.t.archive_file == g.t.archive_file; }),
                        m.end());
                write_manifest(g.dir, opt, created_ms, m);
            }
        }
        group.clear();
        group_size = 0;
    };
    for (const auto& e : expired) {
        const Candidate& c = e.first;
        const std::string& reason = e.second;
        const RetentionClass& rc = cfg.classes.at(c.class_name);
        const bool archive = rc.action == RetentionClass::Action::Archive;
        report.items.push_back({c.host, c.rec, c.user, c.class_name, reason, c.end_ms, c.messages, c.bytes, "", {}});
        RetentionItem& item = report.items.back();
        if (rc.hold || std::any_of(holds.begin(), holds.end(), [&](const auto& h) { return hold_matches(h, c); })) {
            item.outcome = "held";
            continue;
        }
        if (opt.dry_run) {
            item.outcome = archive ? "would archive" : "would purge";
            continue;
        }
        if (!s.try_lock_index(c.host, c.rec)) {
            item.outcome = "busy";  // being indexed by a server: the next run
            continue;
        }
        if (!group.empty() && (group.size() >= group_recordings || group_size + c.messages > group_messages)) {
            flush();
        }
        Prepared g;
        g.item = report.items.size() - 1;
        Tombstone& t = g.t;
        t.run_ms = opt.now_ms;
        t.who = opt.who;
        t.account = opt.account;
        t.host = c.host;
        t.rec = c.rec;
        t.user = c.user;
        t.first_ms = c.start_ms;
        t.last_ms = c.end_ms;
        t.class_name = c.class_name;
        t.reason = reason;
        t.action = archive ? "archive" : "purge";
        std::unique_ptr<ArchiveFile> file;
        if (archive) {
            auto d = run_dirs.find(rc.archive_dir);
            if (d == run_dirs.end()) {
                std::string base = rc.archive_dir + "/" + iso_time(created_ms, "%Y%m%dT%H%M%SZ");
                std::string name = base;
                for (int n = 2; ::mkdir(name.c_str(), 0700) != 0; ++n) {
                    if (errno != EEXIST || n > 1000) sys_fail("creating " + name);
                    name = base + "-" + std::to_string(n);
                }
                d = run_dirs.emplace(rc.archive_dir, name).first;
            }
            g.dir = d->second;
            report.archive_dir = g.dir;
            t.archive_file = g.dir + "/" + std::to_string(++file_numbers[g.dir]) + "-" + safe_name(c.host) + "-" +
                             safe_name(c.rec) + ".jsonl.zst";
            file = std::make_unique<ArchiveFile>(t.archive_file);
        }
        Hashed h = hash_recording(s, c.host, c.rec, file.get());
        t.sha256 = h.sha256;
        t.messages = h.messages;
        t.bytes = h.bytes;
        t.rec_hash = proof::hex(h.rec_hash.digest());
        t.rec_count = h.rec_hash.count();
        if (file) {
            auto [sha, size] = file->finish();
            t.archive_sha256 = sha;
            ManifestEntry entry;
            entry.file_bytes = size;
            entry.file = t.archive_file.substr(g.dir.size() + 1);
            entry.t = t;
            manifests[g.dir].push_back(entry);
            write_manifest(g.dir, opt, created_ms, manifests[g.dir]);
            report.manifest = g.dir + "/manifest.json";
        }
        if (h.messages != c.messages || h.bytes != c.bytes) {
            // Read while a message came: the transaction's check finds it
            // changed, and the archive is taken back there.
            t.messages = UINT64_MAX;
        }
        group_size += c.messages;
        group.push_back(std::move(g));
    }
    flush();
    return report;
}

uint64_t set_hold(Store& s, const RetentionHold& h) {
    A::exec(s, "INSERT INTO retention_holds (host, rec, usr, reason, set_by, set_ms) VALUES (?, ?, ?, ?, ?, ?)",
            {V::str(h.host), V::str(h.rec), V::str(h.user), V::str(h.reason), V::str(h.set_by), V::integer(h.set_ms)});
    auto r = A::query(s, "SELECT max(hid) FROM retention_holds WHERE set_by = ? AND set_ms = ?",
                      {V::str(h.set_by), V::integer(h.set_ms)});
    return r.empty() ? 0 : num(r[0][0]);
}

uint64_t clear_holds(Store& s, const RetentionHold& h) {
    return A::exec(s,
                   "UPDATE retention_holds SET cleared_by = ?, clear_reason = ?, cleared_ms = ? WHERE cleared_ms = 0 "
                   "AND host = ? AND rec = ? AND usr = ?",
                   {V::str(h.cleared_by), V::str(h.clear_reason), V::integer(std::max<uint64_t>(h.cleared_ms, 1)),
                    V::str(h.host), V::str(h.rec), V::str(h.user)});
}

std::vector<RetentionHold> list_holds(Store& s, bool with_cleared) {
    auto rows = A::query(s,
                         "SELECT hid, host, rec, usr, reason, set_by, set_ms, cleared_by, clear_reason, cleared_ms "
                         "FROM retention_holds WHERE ? = 1 OR cleared_ms = 0 ORDER BY hid",
                         {V::integer(with_cleared ? 1 : 0)});
    std::vector<RetentionHold> out;
    for (const auto& r : rows) {
        out.push_back({num(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), num(r[6]), str(r[7]),
                       str(r[8]), num(r[9])});
    }
    return out;
}

std::vector<Tombstone> list_tombstones(Store& s) {
    auto rows = A::query(s,
                         "SELECT t.tid, run_ms, purged_ms, who, account, host, rec, usr, first_ms, last_ms, messages, "
                         "bytes, sha256, action, archive_file, archive_sha256, class, reason, g.hash, g.count, "
                         "g.key_id, g.signature FROM retention_tombstones t LEFT JOIN tombstone_signatures g ON "
                         "g.tid = t.tid ORDER BY t.tid",
                         {});
    std::vector<Tombstone> out;
    for (const auto& r : rows) {
        Tombstone t;
        t.id = num(r[0]);
        t.run_ms = num(r[1]);
        t.purged_ms = num(r[2]);
        t.who = str(r[3]);
        t.account = str(r[4]);
        t.host = str(r[5]);
        t.rec = str(r[6]);
        t.user = str(r[7]);
        t.first_ms = num(r[8]);
        t.last_ms = num(r[9]);
        t.messages = num(r[10]);
        t.bytes = num(r[11]);
        t.sha256 = str(r[12]);
        t.action = str(r[13]);
        t.archive_file = str(r[14]);
        t.archive_sha256 = str(r[15]);
        t.class_name = str(r[16]);
        t.reason = str(r[17]);
        t.rec_hash = str(r[18]);
        t.rec_count = num(r[19]);
        t.key_id = str(r[20]);
        t.signature = str(r[21]);
        out.push_back(std::move(t));
    }
    return out;
}

std::optional<std::string> recorded_class(Store& s, const std::string& host, const std::string& rec) {
    auto r = A::query(s, "SELECT class FROM retention_class WHERE host = ? AND rec = ?", {V::str(host), V::str(rec)});
    if (r.empty()) return std::nullopt;
    return str(r[0][0]);
}

std::string tombstone_json(const Tombstone& t) {
    return "{\"id\":" + std::to_string(t.id) + ",\"purged\":" + json::quote(iso_time(t.purged_ms)) +
           ",\"purged_ms\":" + std::to_string(t.purged_ms) + ",\"run_ms\":" + std::to_string(t.run_ms) +
           ",\"who\":" + json::quote(t.who) + ",\"account\":" + json::quote(t.account) +
           ",\"host\":" + json::quote(t.host) + ",\"rec\":" + json::quote(t.rec) + ",\"user\":" + json::quote(t.user) +
           ",\"first_ms\":" + std::to_string(t.first_ms) + ",\"last_ms\":" + std::to_string(t.last_ms) +
           ",\"messages\":" + std::to_string(t.messages) + ",\"bytes\":" + std::to_string(t.bytes) +
           ",\"sha256\":" + json::quote(t.sha256) + ",\"action\":" + json::quote(t.action) +
           ",\"archive_file\":" + json::quote(t.archive_file) + ",\"archive_sha256\":" + json::quote(t.archive_sha256) +
           ",\"class\":" + json::quote(t.class_name) + ",\"reason\":" + json::quote(t.reason) +
           ",\"rec_hash\":" + json::quote(t.rec_hash) + ",\"rec_count\":" + std::to_string(t.rec_count) +
           ",\"key_id\":" + json::quote(t.key_id) + ",\"signature\":" + json::quote(t.signature) + "}";
}

proof::TombstoneStatement tombstone_statement(const Tombstone& t) {
    proof::TombstoneStatement st;
    st.host = t.host;
    st.rec = t.rec;
    st.user = t.user;
    st.who = t.who;
    st.account = t.account;
    st.class_name = t.class_name;
    st.reason = t.reason;
    st.action = t.action;
    st.archive_file = t.archive_file;
    st.run_ms = t.run_ms;
    st.purged_ms = t.purged_ms;
    st.first_ms = t.first_ms;
    st.last_ms = t.last_ms;
    st.messages = t.messages;
    st.bytes = t.bytes;
    st.sha256 = t.sha256;
    st.archive_sha256 = t.archive_sha256;
    st.hash = proof::digest_from_hex(t.rec_hash, "tombstone " + std::to_string(t.id) + " hash");
    st.count = t.rec_count;
    st.key_id = t.key_id;
    return st;
}

}  // namespace tlog::server
