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
    std::string path;  // absolute
    uint64_t size = 0, mtime_ns = 0, ino = 0, dev = 0;
    std::string head_tail_digest;
    bool operator==(const FileIdentity&) const = default;
};
// Throws std::system_error when the file cannot be read.
FileIdentity identify(const std::string& path);

enum class CacheResult { Hit, Missing, Stale, Unusable, Disabled };
const char* cache_result_name(CacheResult r);

// 1 GiB: the default cap on the cache directory's size.
constexpr uint64_t kDefaultCacheMax = 1ull << 30;

// SIZE for --cache-max and TLOG_PLAY_CACHE_MAX: bytes, or a number with a
// K, M or G suffix (powers of 1024). 0 means no limit. Throws
// std::invalid_argument naming `what`.
uint64_t parse_cache_size(const std::string& s, const std::string& what);

// $TLOG_PLAY_CACHE_MAX, else kDefaultCacheMax. Throws as above.
uint64_t default_cache_max();

struct CacheOptions {
    std::string dir;                        // empty: no cache
    uint64_t max_bytes = kDefaultCacheMax;  // cap on the cache files' total size; 0: none
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

// Removes least recently used cache files (oldest mtime first: a hit
// touches its file) until the cache files in `dir` total at most
// `max_bytes`. Only regular files named like ours (40 hex digits, ".idx")
// and owned by us count and are removed; anything else in the directory,
// symbolic links included, is left alone. `keep` (a file name in `dir`,
// the one just written) is never removed, even when it alone is over the
// cap. Returns the number of files removed. Best effort: errors stop it.
uint64_t evict_cache(const std::string& dir, uint64_t max_bytes, const std::string& keep = {});

}  // namespace tlog::play
