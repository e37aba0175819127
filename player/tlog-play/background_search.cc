#include "background_search.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "tlog/play/playback.h"

namespace tlog::play::cli {

BackgroundSearch::BackgroundSearch(const std::string& path, const RecordingIndex& index, std::unique_ptr<Regex> re,
                                   uint64_t from_ms, Direction dir, int row)
    : re_(std::move(re)), dir_(dir), from_(from_ms), row_(row), at_(from_ms) {
    thread_ = std::thread([this, path, &index] {
        // Background work: on a busy machine playback and keys come first.
        // (On Linux the nice value is per thread; raising it needs no privilege.)
        errno = 0;
        int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
        if (errno == 0) ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), std::min(nice + 5, 19));
        try {
            Playback scan(path, index);
            auto keep_going = [this](uint64_t at) {
                at_.store(at, std::memory_order_relaxed);
                return !cancel_.load(std::memory_order_relaxed);
            };
            // With a row: the scan starts just before from_ so that the
            // hits at from_ itself are seen (a scan from t reports hits
            // after t; from 0 it reports those at 0 too).
            uint64_t before = row_ >= 0 && from_ ? from_ - 1 : from_;
            if (dir_ == Direction::Forward) {
                search_screen(
                    scan, *re_, row_ >= 0 ? before : from_,
                    [this](const SearchHit& h) {
                        if (row_ >= 0 && h.pos_ms == from_ && h.row <= row_) return true;  // at or before the row
                        hit_ = h;
                        return false;
                    },
                    keep_going);
            } else {
                if (row_ >= 0)
                    search_screen(
                        scan, *re_, before,
                        [this](const SearchHit& h) {
                            if (h.pos_ms == from_ && h.row < row_) hit_ = h;
                            return true;
                        },
                        keep_going, from_);
                if (!hit_ && !cancel_.load()) hit_ = search_screen_backward(scan, *re_, from_, keep_going);
            }
            if (cancel_.load()) hit_.reset();
        } catch (...) {
            error_ = std::current_exception();
        }
        done_.store(true, std::memory_order_release);
    });
}

BackgroundSearch::~BackgroundSearch() {
    cancel_.store(true);
    if (thread_.joinable()) thread_.join();
}

std::optional<SearchHit> BackgroundSearch::take() {
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(error_);
    return std::move(hit_);
}

}  // namespace tlog::play::cli
