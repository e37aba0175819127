#include "tlog/server/checkpoint.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <iostream>

#include "tlog/json.h"

namespace tlog::server {

namespace {

constexpr size_t page = 2000;       // messages read at once
constexpr size_t work_page = 1000;  // recordings listed at once
constexpr int catch_up = 3;         // reads after the covered point before a recompute

// Adds the stored messages after h's last id to h; the count read.
uint64_t extend(Store& store, const std::string& host, const std::string& rec, proof::RecordingHash& h) {
    uint64_t n = 0;
    for (;;) {
        auto msgs = store.stored_messages(host, rec, h.last_id(), page);
        for (const auto& [id, json] : msgs) h.add(id, json);
        n += msgs.size();
        if (msgs.size() < page) return n;
    }
}

uint64_t now_ms_wall() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

}  // namespace

proof::Checkpoint checkpoint_from_row(const CheckpointRow& r) {
    proof::Checkpoint c;
    c.seq = r.seq;
    c.time_ms = r.time_ms;
    c.entries = r.entries;
    std::string what = "checkpoint " + std::to_string(r.seq);
    c.prev = proof::digest_from_hex(r.prev, what + " prev");
    c.root = proof::digest_from_hex(r.root, what + " root");
    c.key_id = r.key_id;
    c.signature = proof::from_hex(r.signature, what + " signature");
    return c;
}

proof::Entry entry_from_row(const CheckpointEntryRow& r) {
    proof::Entry e;
    e.host = r.host;
    e.rec = r.rec;
    e.covered = r.covered;
    e.last_id = r.last_id;
    e.hash = proof::digest_from_hex(
        r.hash, "checkpoint " + std::to_string(r.seq) + " entry " + std::to_string(r.leaf) + " hash");
    return e;
}

VerifiedCheckpoint load_checkpoint(Store& store, const proof::Key& key, uint64_t seq) {
    const std::string name = "checkpoint " + std::to_string(seq);
    auto rows = seq > 0 ? store.checkpoints_after(seq - 1, 1) : std::vector<CheckpointRow>();
    if (rows.empty() || rows.front().seq != seq) throw std::runtime_error(name + " is not stored");
    VerifiedCheckpoint v;
    v.cp = checkpoint_from_row(rows.front());
    if (v.cp.key_id != key.fingerprint()) {
        throw std::runtime_error(name + " is signed by key " + v.cp.key_id + ", not by the key given (" +
                                 key.fingerprint() + ")");
    }
    if (!key.verify(v.cp.statement(), v.cp.signature)) {
        throw std::runtime_error(name + ": the signature does not verify: the row was altered");
    }
    v.entries = store.checkpoint_entries(seq);
    for (size_t i = 0; i < v.entries.size(); ++i) {
        if (v.entries[i].leaf != i) break;
        v.leaves.push_back(proof::leaf_hash(entry_from_row(v.entries[i]).canonical()));
    }
    if (v.leaves.size() != v.entries.size() || v.entries.size() != v.cp.entries ||
        proof::merkle_root(v.leaves) != v.cp.root) {
        throw std::runtime_error(name + ": its stored entries do not give its signed root");
    }
    return v;
}

// The entry covers every message stored with id <= last_id at the time
// of its last read: the stored count, read after the messages, equal to
// what was hashed says that no message came below the point read. More
// stored and more read after the point: messages still arriving (read
// again, a few times, else left for the next checkpoint); more stored and
// nothing more after the point: a gap below it was filled, hashed again
// from the start. Fewer: messages the last entry covered are gone, which
// only tampering (or a purge) does; not hidden under a new entry: the
// recording is left for tlog-server verify to name.
std::optional<proof::Entry> hash_recording(Store& store, const std::string& host, const std::string& rec,
                                           const std::optional<CheckpointEntryRow>& head, uint64_t& read) {
    proof::RecordingHash h;
    bool from_start = !head;
    if (head) h = proof::RecordingHash(entry_from_row(*head).hash, head->covered, head->last_id);
    for (int i = 0;; ++i) {
        uint64_t got = extend(store, host, rec, h);
        read += got;
        uint64_t n = store.stored_count(host, rec);
        if (n == h.count()) break;
        if (n < h.count()) {
            if (head && n < head->covered) {
                std::cerr << "tlog-server: checkpoint: " << host << "/" << rec << ": " << n
                          << " messages stored, checkpoint " << head->seq << " covered " << head->covered
                          << ": left out; tlog-server verify names what changed\n";
            }
            return std::nullopt;
        }
        if (i + 1 == catch_up * 2) return std::nullopt;  // still arriving: the next checkpoint
        if (got == 0) {
            if (from_start) return std::nullopt;  // filled while it was read: the next checkpoint
            h = proof::RecordingHash();
            from_start = true;
        }
    }
    if (h.count() == 0) return std::nullopt;
    proof::Entry e;
    e.host = host;
    e.rec = rec;
    e.covered = h.count();
    e.last_id = h.last_id();
    e.hash = h.digest();
    return e;
}

Checkpointer::Checkpointer(std::unique_ptr<Store> store, const CheckpointConfig& cfg)
    : store_(std::move(store)), cfg_(cfg), key_(proof::Key::load_private(cfg.key_file)), key_id_(key_.fingerprint()) {}

Checkpointer::~Checkpointer() {
    {
        std::lock_guard<std::mutex> g(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Checkpointer::start() {
    thread_ = std::thread([this] {
        // As the indexer: ingest first.
        setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
        loop();
    });
}

void Checkpointer::stop() {
    {
        std::lock_guard<std::mutex> g(mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    try {
        run_once(now_ms_wall());
    } catch (const std::exception& e) {
        std::cerr << "tlog-server: the last checkpoint: " << e.what() << '\n';
    }
}

void Checkpointer::loop() {
    for (;;) {
        {
            std::unique_lock<std::mutex> l(mu_);
            cv_.wait_for(l, std::chrono::milliseconds(cfg_.interval_ms), [&] { return stopping_; });
            if (stopping_) return;
        }
        try {
            // Recordings left by a checkpoint that reached max_messages go
            // into the next one at once.
            while (run_once(now_ms_wall()).more) {
                std::lock_guard<std::mutex> g(mu_);
                if (stopping_) return;
            }
        } catch (const std::exception& e) {
            // Nothing was saved: the next one covers what this one would have.
            std::cerr << "tlog-server: checkpoint: " << e.what() << '\n';
        }
    }
}

CheckpointStats Checkpointer::run_once(uint64_t now_ms) {
    CheckpointStats st;
    auto last = store_->last_checkpoint();
    proof::Checkpoint c;
    c.seq = last ? last->seq + 1 : 1;
    if (last) c.prev = checkpoint_from_row(*last).hash();
    std::vector<CheckpointEntryRow> entries;
    std::vector<std::pair<CheckpointEntryRow, uint64_t>> heads;
    std::vector<proof::Digest> leaves;
    std::pair<std::string, std::string> after;
    for (;;) {
        auto work = store_->checkpoint_work(after, work_page);
        for (const auto& w : work) {
            if (st.messages_read >= cfg_.max_messages) {
                st.more = true;
                break;
            }
            ++st.recordings;
            auto e = hash_recording(*store_, w.host, w.rec, w.head, st.messages_read);
            if (!e) continue;
            CheckpointEntryRow row;
            row.host = e->host;
            row.rec = e->rec;
            row.covered = e->covered;
            row.last_id = e->last_id;
            row.hash = proof::hex(e->hash);
            if (w.head && w.head->covered == row.covered && w.head->last_id == row.last_id &&
                w.head->hash == row.hash) {
                heads.emplace_back(*w.head, w.messages);  // nothing new to sign
                continue;
            }
            row.seq = c.seq;
            row.leaf = entries.size();
            leaves.push_back(proof::leaf_hash(e->canonical()));
            heads.emplace_back(row, w.messages);
            entries.push_back(std::move(row));
        }
        if (work.size() < work_page || st.more) break;
        after = {work.back().host, work.back().rec};
    }
    if (entries.empty()) {
        if (!heads.empty()) retry_transient([&] { store_->save_checkpoint(std::nullopt, {}, heads); });
        return st;
    }
    c.time_ms = now_ms;
    c.entries = entries.size();
    c.root = proof::merkle_root(leaves);
    c.key_id = key_id_;
    c.signature = key_.sign(c.statement());
    CheckpointRow row{
        c.seq, c.time_ms, c.entries, proof::hex(c.prev), proof::hex(c.root), c.key_id, proof::to_hex(c.signature)};
    retry_transient([&] { store_->save_checkpoint(row, entries, heads); });
    // The copy outside the database: a checkpoint chain cut short (the
    // last rows deleted) is found by comparing with it.
    auto o = json::Value::make_object();
    o.set("checkpoint", json::Value::make_uint(c.seq));
    o.set("time_ms", json::Value::make_uint(c.time_ms));
    o.set("entries", json::Value::make_uint(c.entries));
    o.set("root", json::Value::make_string(row.root));
    o.set("hash", json::Value::make_string(proof::hex(c.hash())));
    o.set("key", json::Value::make_string(c.key_id));
    std::cerr << json::dump(o) << std::endl;
    st.made = std::move(c);
    return st;
}

}  // namespace tlog::server
