// The interactive search, on a thread of its own (its own playback, model
// and file reader, like BackgroundIndex), so that playback and keys go on
// while it scans. It talks to the player only through the atomics below
// and the result it leaves before `done` is set.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "tlog/play/recording_index.h"
#include "tlog/play/screen_search.h"

namespace tlog::play::cli {

class BackgroundSearch {
public:
    enum class Direction { Forward, Backward };
    // Forward: the first hit after `from_ms`; backward: the last hit before
    // it. With `row` (a hit at `from_ms` the player stands on), hits at
    // `from_ms` on the rows after it (forward) or before it (backward)
    // come first: several rows can show the text at the same time.
    // `index` must outlive the search.
    BackgroundSearch(const std::string& path, const RecordingIndex& index, std::unique_ptr<Regex> re, uint64_t from_ms,
                     Direction dir, int row = -1);
    // Cancels a search still running (checked every few hundred events and
    // between keyframe intervals) and waits for the thread.
    ~BackgroundSearch();
    BackgroundSearch(const BackgroundSearch&) = delete;
    BackgroundSearch& operator=(const BackgroundSearch&) = delete;

    bool done() const { return done_.load(std::memory_order_acquire); }
    // Recording time the scan has reached (progress display).
    uint64_t at() const { return at_.load(std::memory_order_relaxed); }
    Direction direction() const { return dir_; }
    uint64_t from() const { return from_; }
    // After done(): the hit, nullopt for none, or the search's exception.
    std::optional<SearchHit> take();

private:
    std::unique_ptr<Regex> re_;
    Direction dir_;
    uint64_t from_;
    int row_;
    std::atomic<uint64_t> at_;
    std::atomic<bool> cancel_{false}, done_{false};
    std::optional<SearchHit> hit_;
    std::exception_ptr error_;
    std::thread thread_;
};

}  // namespace tlog::play::cli
