// Signed checkpoints (doc/server.md, "Integrity"): every interval, and at
// a clean shutdown, a thread on a database connection of its own hashes
// what each recording that changed since the last checkpoint stored
// (extending its previous hash when only messages after the covered ones
// came), puts the entries in a Merkle tree and signs its root with the
// previous checkpoint's hash, a sequence number and the time (Ed25519,
// tlog::proof). Each checkpoint is also written on stderr as a JSON line,
// so that a copy lives outside the database.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tlog/proof/proof.h"
#include "tlog/server/store.h"

namespace tlog::server {

struct CheckpointConfig {
    std::string key_file;  // the private key (tlog-server keygen)
    uint64_t interval_ms = 300000;
    // A checkpoint stops taking recordings once it read this many
    // messages (about 1 GB of JSON: a second or two); the rest go into the
    // next one, made at once. So the first checkpoint of a large database
    // and the one at shutdown take bounded time.
    uint64_t max_messages = 1000000;
};

// A recording's entry as its stored messages give it now: `head` extended
// with the messages after it when only those came, else recomputed from
// its first message. nullopt when messages kept arriving below the point
// read (retried at the next checkpoint) or none is stored.
// `read` counts the messages read (the cost).
std::optional<proof::Entry> hash_recording(Store& store, const std::string& host, const std::string& rec,
                                           const std::optional<CheckpointEntryRow>& head, uint64_t& read);

// What one checkpoint did.
struct CheckpointStats {
    std::optional<proof::Checkpoint> made;  // none: nothing changed
    uint64_t recordings = 0, messages_read = 0;
    bool more = false;  // max_messages reached: recordings left for the next one
};

class Checkpointer {
public:
    // `store`: a connection of its own. Throws for a key that does not load.
    Checkpointer(std::unique_ptr<Store> store, const CheckpointConfig& cfg);
    ~Checkpointer();
    Checkpointer(const Checkpointer&) = delete;
    Checkpointer& operator=(const Checkpointer&) = delete;
    Checkpointer(Checkpointer&&) = delete;
    Checkpointer& operator=(Checkpointer&&) = delete;

    void start();
    // Stops the thread after a last checkpoint.
    void stop();
    // One checkpoint in the calling thread (tests, benchmarks, the last one).
    CheckpointStats run_once(uint64_t now_ms);

private:
    void loop();
    std::unique_ptr<Store> store_;
    CheckpointConfig cfg_;
    proof::Key key_;
    std::string key_id_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

// The checkpoint a stored row says (throws naming the field for hex that
// does not parse).
proof::Checkpoint checkpoint_from_row(const CheckpointRow& r);
proof::Entry entry_from_row(const CheckpointEntryRow& r);

// One stored checkpoint checked alone (its key and signature, its entries
// against its root; not the chain: tlog-server verify checks that), with
// its entries and leaves. Throws std::runtime_error saying what failed.
struct VerifiedCheckpoint {
    proof::Checkpoint cp;
    std::vector<CheckpointEntryRow> entries;
    std::vector<proof::Digest> leaves;
};
VerifiedCheckpoint load_checkpoint(Store& store, const proof::Key& key, uint64_t seq);

}  // namespace tlog::server
