#include "background_index.h"

namespace tlog::play::cli {

BackgroundIndex::BackgroundIndex(const std::string& path, CacheOptions co) : co_(std::move(co)) {
    try {
        size_ = identify(path).size;
    } catch (const std::exception&) {}
    co_.index.progress = [this](uint64_t off) { offset_.store(off, std::memory_order_relaxed); };
    co_.index.cancelled = [this] { return cancel_.load(std::memory_order_relaxed); };
    thread_ = std::thread([this, path] {
        try {
            result_ = open_index(path, co_);
        } catch (...) {
            error_ = std::current_exception();
        }
        done_.store(true, std::memory_order_release);
    });
}

BackgroundIndex::~BackgroundIndex() {
    cancel_.store(true);
    if (thread_.joinable()) thread_.join();
}

RecordingIndex BackgroundIndex::take() {
    thread_.join();
    if (error_) std::rethrow_exception(error_);
    return std::move(result_);
}

}  // namespace tlog::play::cli
