// Integrity verification on demand (doc/server.md, "Integrity"): each
// stored recording's messages read back through the Store and checked by
// librec's decoder, with the integrity keys, as the indexer checks them on
// ingest; for `tlog-server verify` and GET /api/v1/sessions/REC/verify.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tlog/json.h"
#include "tlog/proof/proof.h"
#include "tlog/server/retention.h"
#include "tlog/server/store.h"

namespace tlog::server {

// What was found of one recording.
struct RecordingCheck {
    std::string host, rec;
    uint64_t messages = 0;  // messages read
    // The decoder's verdict (intact, incomplete, broken, unverifiable,
    // unprotected), its label, and the first message that failed (0: none).
    std::string verdict, label;
    uint64_t first_bad_id = 0;
    // Why it is not intact, each naming the message: the decoder's
    // problems and gaps, a stored message naming another recording; the
    // first few only (`more_problems` counts the rest).
    std::vector<std::string> problems;
    uint64_t more_problems = 0;
    // The latest checkpoint entry it was checked against (GET .../verify).
    std::optional<CheckpointEntryRow> entry;
    // Gone, and a tombstone signed by the checkpoint key says a retention
    // run purged it (verdict "purged", label "purged by retention
    // (tombstone N, WHO, TIME)"): its id, 0 otherwise.
    uint64_t tombstone = 0;
    bool intact() const { return verdict == "intact" && problems.empty(); }
    bool purged() const { return verdict == "purged" && problems.empty(); }
};

// Which recordings `tlog-server verify` checks: those whose time overlaps
// [since_ms, until_ms] (inclusive; absent: open), of a host, or one rec.
struct VerifyRange {
    std::optional<uint64_t> since_ms, until_ms;
    std::string host, rec;  // empty: any
};

// The stored checkpoints as checked (verify_checkpoints): problems with
// the chain, and each recording's entry in the latest checkpoint naming
// it, among those that verified.
struct CheckpointReport {
    uint64_t checkpoints = 0;
    std::optional<CheckpointRow> last;
    std::vector<std::string> problems;
    std::map<std::pair<std::string, std::string>, CheckpointEntryRow> latest;  // (host, rec)
    // Every stored tombstone by (host, rec), each with why its signature
    // is not the checkpoint key's ("": it is).
    struct SignedTombstone {
        Tombstone t;
        std::string problem;
    };
    std::map<std::pair<std::string, std::string>, std::vector<SignedTombstone>> tombstones;
};
// The chain: sequence numbers from 1 without a hole, each one's prev the
// previous one's hash, its key the one given and its signature, its
// entries giving its root. `expect`: a checkpoint known from outside the
// database (the server's log): (seq, hash hex).
CheckpointReport verify_checkpoints(Store& store, const proof::Key& key,
                                    const std::optional<std::pair<uint64_t, std::string>>& expect);
// A recording an entry covers and the store no longer has: purged (its
// verdict "purged", no problem) when a tombstone of it is signed by the
// checkpoint key and its count is at least the entry's `covered`;
// otherwise the deletion (check_entry) and each tombstone of it that does
// not excuse it (unsigned, altered, too short) are problems.
void check_gone(Store& store, const CheckpointReport& checkpoints, const CheckpointEntryRow& e, RecordingCheck& c);
// The recording's stored messages with id up to the entry's last_id
// against the entry: problems added to `c` naming what changed.
void check_entry(Store& store, const CheckpointEntryRow& e, RecordingCheck& c);

class Verifier {
public:
    // Loads the key files (tlog-play --key's); throws InputError for one
    // that does not load.
    explicit Verifier(const std::vector<std::string>& key_files);
    ~Verifier();
    Verifier(const Verifier&) = delete;
    Verifier& operator=(const Verifier&) = delete;
    Verifier(Verifier&&) = delete;
    Verifier& operator=(Verifier&&) = delete;

    // One recording, its messages read in id order `page` at a time. A
    // recording with no stored message is none (nullopt).
    std::optional<RecordingCheck> check(Store& store, const std::string& host, const std::string& rec,
                                        size_t page = 2000) const;
    // Every recording in `range`, in order of start (then host, rec);
    // `each` is called with each one's result as it is found.
    // With `checkpoints`, each recording is also checked against its
    // latest entry, and the recordings an entry names and the store no
    // longer has are reported too (verdict "deleted", or "purged":
    // check_gone).
    void check_range(Store& store, const VerifyRange& range, const CheckpointReport* checkpoints,
                     const std::function<void(const RecordingCheck&)>& each) const;

private:
    struct Keys;
    std::unique_ptr<Keys> keys_;
};

// GET /api/v1/sessions/REC/verify: the verifier and the database it
// opens a connection to for each request (a long recording is read without
// holding the routes' shared connection from ingest).
// With `key` (checkpoints on), the recording is also checked against its
// latest entry, that entry's checkpoint checked alone.
struct VerifyService {
    std::string database;
    const Verifier* verifier = nullptr;
    const proof::Key* key = nullptr;
};
struct VerifyReply {
    int status = 200;
    std::string body;  // JSON: check_json's object, or {"error": ...} for a 404
};
// `host` empty: the recording's host (the first, if several).
VerifyReply verify_route(const VerifyService& svc, const std::string& rec, const std::string& host);

// {"host", "rec", "messages", "verdict", "label", "first_bad_id" (null
// when none), "intact", "problems": [...], "more_problems"}, "tombstone": N
// when purged, and when it
// was checked against one "checkpoint": {"seq", "covered", "last_id"}
// (null: no checkpoint covers it yet).
json::Value check_json(const RecordingCheck& c);
// "HOST/REC: VERDICT LABEL, N messages[: problem; problem]"; a purged
// one "HOST/REC: purged by retention (tombstone N, WHO, TIME), 0 messages".
std::string check_line(const RecordingCheck& c);

}  // namespace tlog::server
