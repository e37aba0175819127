// tlog-server's index of stored recordings (doc/server.md, "Index"): each
// session's integrity verdict (librec's decoder, with the keys of
// tlog-play --verify), keyframes of the player's terminal model for
// seeking, and the rows of text its screen showed, for search. A thread of
// its own, on a database connection of its own, follows ingest.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tlog/server/store.h"

namespace tlog::server {

struct IndexConfig {
    std::vector<std::string> key_files;  // integrity keys (tlog-play --key's files)
    // The player's keyframe policy (recording_index.cc): after this much
    // output or recording time. The server's own time: a seek answers the
    // keyframe and the messages after it, so what bounds its cost is the
    // output replayed (every_bytes); keyframes every 30 s of a quiet
    // session were most of the index's size and made seeks no faster
    // (bench/README.md "server", "Index: chunks of rows").
    uint64_t every_bytes = uint64_t{1} << 20U;
    uint64_t every_ms = 600000;
    // A pass this often even without a wake-up (another instance's ingest
    // on a shared PostgreSQL database).
    uint64_t period_ms = 5000;
    // Messages read at once, and indexed before the state is saved: each
    // save is a transaction, and SQLite's full-text index (FTS5) merges
    // what each one wrote (2,000 rather than 500: 6 % less CPU).
    size_t batch = 2000;
};

class Indexer {
public:
    // `store`: a connection of the indexer's own. Throws InputError for a
    // key file that does not load.
    Indexer(std::unique_ptr<Store> store, IndexConfig cfg);
    ~Indexer();
    Indexer(const Indexer&) = delete;
    Indexer& operator=(const Indexer&) = delete;
    Indexer(Indexer&&) = delete;
    Indexer& operator=(Indexer&&) = delete;

    // The background thread: passes after wake() and every period_ms.
    void start();
    void stop();
    // New messages were committed (in this process).
    void wake();

    // One pass in the calling thread, until no session has messages to
    // index; returns the messages indexed (tests, benchmarks).
    uint64_t run_once();
    // Forgets what is kept in memory, as a restart does (tests).
    void forget();

private:
    struct Work;
    struct Keys;
    void index_session(const IndexWork& t, uint64_t& fed);
    Work& resume(const std::string& host, const std::string& rec, uint64_t& redo_from);
    void loop();
    // stop() was called: a pass ends within 256 messages, saving what it
    // indexed (SIGTERM must not wait for a whole recording to be indexed).
    bool stopping();

    std::unique_ptr<Store> store_;
    IndexConfig cfg_;
    std::unique_ptr<Keys> keys_;
    std::vector<std::unique_ptr<Work>> work_;  // sessions in memory, most recently used last

    std::mutex mu_;
    std::condition_variable cv_;
    bool woken_ = false, stopping_ = false;
    std::thread thread_;
};

// GET /api/v1/sessions/REC/at: the keyframe at or before `pos_ms` as the
// sequences that repaint its screen, then the messages after it up to
// `pos_ms` (at most `limit`). Empty when the recording has no keyframe.
struct SeekResult {
    StoredKeyframe keyframe;
    uint16_t rows = 0, cols = 0;
    std::string repaint;  // escape sequences (tlog::play::repaint)
    std::string text;     // the keyframe's screen as text, rows joined by '\n'
    std::vector<std::string> messages;
    bool more = false;  // `limit` cut the messages short
};
std::optional<SeekResult> seek(Store& store, const std::string& host, const std::string& rec, uint64_t pos_ms,
                               size_t limit);

// A top-level unsigned integer field of a stored message ("id", "pos"),
// found without parsing the line: inside a JSON string every '"' is
// escaped, so `"id":` is the key itself (as librec's peek_rec). The
// decoder checks the message in full afterwards.
std::optional<uint64_t> peek_uint(std::string_view line, std::string_view key);

// The sessions filters integrity= (throws InputError for a verdict that
// does not exist) and text= (a substring of a row of screen text), as
// conditions of the sessions search (session_search.cc).
SqlCondition integrity_condition(const std::string& v);
SqlCondition text_condition(const std::string& text);

}  // namespace tlog::server
