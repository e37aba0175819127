// The full index of a large recording, built on a thread of its own while
// playback runs on a start-only index (its own decoder, model and file
// reader: nothing is shared with playback but the fields below).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <string>
#include <thread>

#include "tlog/play/index_cache.h"
#include "tlog/play/recording_index.h"

namespace tlog::play::cli {

class BackgroundIndex {
public:
    BackgroundIndex(const std::string& path, CacheOptions co);
    // Stops a build still running (the cancel flag is checked between
    // messages) and waits for the thread.
    ~BackgroundIndex();
    BackgroundIndex(const BackgroundIndex&) = delete;
    BackgroundIndex& operator=(const BackgroundIndex&) = delete;
    bool done() const { return done_.load(std::memory_order_acquire); }
    unsigned percent() const {
        return size_ ? static_cast<unsigned>(offset_.load(std::memory_order_relaxed) * 100 / size_) : 0;
    }
    // After done(): the index, or the build's exception rethrown.
    RecordingIndex take();

private:
    CacheOptions co_;
    uint64_t size_ = 0;
    std::atomic<uint64_t> offset_{0};
    std::atomic<bool> cancel_{false}, done_{false};
    RecordingIndex result_;
    std::exception_ptr error_;
    std::thread thread_;
};

}  // namespace tlog::play::cli
