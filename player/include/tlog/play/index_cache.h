// The index cache: one file per (recording file, recording id) in a cache
// directory, so a recording is decoded in full only once. A cache entry
// records the file's identity (path, size, mtime, inode, and digests of its
// first and last 64 KiB); any difference makes it stale and it is rebuilt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tlog/play/recording_index.h"

namespace tlog::play {

// $TLOG_PLAY_CACHE_DIR, else $XDG_CACHE_HOME/tlog-play, else
// $HOME/.cache/tlog-play; "" when none can be named.
std::string default_cache_dir();

struct FileIdentity {
    std::string path;     // absolute
    uint64_t size = 0, mtime_ns = 0, ino = 0, dev = 0;
    std::string head_tail_digest;
    bool operator==(const FileIdentity&) const = default;
};
// Throws std::system_error when the file cannot be read.
FileIdentity identify(const std::string& path);

enum class CacheResult { Hit, Missing, Stale, Unusable, Disabled };
const char* cache_result_name(CacheResult r);

struct CacheOptions {
    std::string dir;                 // empty: no cache
    IndexOptions index;
};

// Loads the cached index of `path` or builds it (and stores it, best
// effort: an unwritable cache only costs time). `result` tells which.
RecordingIndex open_index(const std::string& path, const CacheOptions& opts, CacheResult* result = nullptr);

// Only the lookup: the cached index if there is a valid one.
std::optional<RecordingIndex> load_cached_index(const std::string& path, const CacheOptions& opts,
                                                CacheResult* result = nullptr);

// The cache file for a recording (for tests and for --cache-info).
std::string cache_file(const std::string& dir, const FileIdentity& id, const IndexOptions& opts);

} // namespace tlog::play
