#include "tlog/play/index_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>
#include <system_error>

#include "serial.h"
#include "tlog/sha256.h"

namespace tlog::play {

namespace {

constexpr std::string_view kMagic = "TLPCACHE1";
constexpr size_t kEdge = 64 * 1024;

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

std::string sha256_hex(std::string_view data) { return Sha256::hex(Sha256::of(data)); }

bool read_all(int fd, std::string& out) {
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (n == 0) return true;
        out.append(buf, static_cast<size_t>(n));
    }
}

bool write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

bool make_dirs(const std::string& dir) {
    if (dir.empty()) return false;
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
    size_t slash = dir.find_last_of('/');
    if (slash != std::string::npos && slash > 0) make_dirs(dir.substr(0, slash));
    // Private: the cache holds screens of recorded sessions.
    return ::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST;
}

std::string identity_bytes(const FileIdentity& id) {
    std::string s;
    serial::put_str(s, id.path);
    serial::put_u64(s, id.size);
    serial::put_u64(s, id.mtime_ns);
    serial::put_u64(s, id.ino);
    serial::put_u64(s, id.dev);
    serial::put_str(s, id.head_tail_digest);
    return s;
}

}  // namespace

std::string default_cache_dir() {
    if (const char* d = std::getenv("TLOG_PLAY_CACHE_DIR"); d && *d) return d;
    if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d == '/') return std::string(d) + "/tlog-play";
    if (const char* h = std::getenv("HOME"); h && *h == '/') return std::string(h) + "/.cache/tlog-play";
    return {};
}

uint64_t parse_cache_size(const std::string& s, const std::string& what) {
    size_t i = 0;
    uint64_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (v > (UINT64_MAX - 9) / 10) throw std::invalid_argument(what + ": size too large: " + s);
        v = v * 10 + static_cast<uint64_t>(s[i++] - '0');
    }
    if (i == 0) throw std::invalid_argument(what + ": bad size '" + s + "' (a number with K, M or G)");
    unsigned shift = 0;
    if (i < s.size()) {
        switch (s[i]) {
            case 'k':
            case 'K': shift = 10; break;
            case 'm':
            case 'M': shift = 20; break;
            case 'g':
            case 'G': shift = 30; break;
            default: throw std::invalid_argument(what + ": bad size '" + s + "' (a number with K, M or G)");
        }
        i++;
        if (i < s.size() && (s[i] == 'i' || s[i] == 'I')) i++;  // KiB, MiB, GiB
        if (i < s.size() && (s[i] == 'b' || s[i] == 'B')) i++;
        if (i != s.size()) throw std::invalid_argument(what + ": bad size '" + s + "' (a number with K, M or G)");
    }
    if (shift && v > (UINT64_MAX >> shift)) throw std::invalid_argument(what + ": size too large: " + s);
    return v << shift;
}

uint64_t default_cache_max() {
    if (const char* m = std::getenv("TLOG_PLAY_CACHE_MAX"); m && *m) return parse_cache_size(m, "TLOG_PLAY_CACHE_MAX");
    return kDefaultCacheMax;
}

namespace {

bool is_cache_name(const char* n) {
    size_t i = 0;
    for (; i < 40; i++) {
        char c = n[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return std::string_view(n + i) == ".idx";
}

}  // namespace

uint64_t evict_cache(const std::string& dir, uint64_t max_bytes, const std::string& keep) {
    if (dir.empty() || max_bytes == 0) return 0;
    Fd d;
    d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d.fd < 0) return 0;
    int list_fd = ::dup(d.fd);  // fdopendir owns this one
    if (list_fd < 0) return 0;
    std::unique_ptr<DIR, int (*)(DIR*)> listing(::fdopendir(list_fd), ::closedir);
    if (!listing) {
        ::close(list_fd);
        return 0;
    }
    struct Entry {
        std::string name;
        uint64_t size;
        struct timespec mtime;
    };
    std::vector<Entry> entries;
    uint64_t total = 0;
    while (struct dirent* e = ::readdir(listing.get())) {
        if (!is_cache_name(e->d_name)) continue;
        struct stat st;
        // lstat: a symbolic link named like a cache file is not ours to follow or remove.
        if (::fstatat(d.fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) continue;
        entries.push_back({e->d_name, static_cast<uint64_t>(st.st_size), st.st_mtim});
        total += static_cast<uint64_t>(st.st_size);
    }
    if (total <= max_bytes) return 0;
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        if (a.mtime.tv_sec != b.mtime.tv_sec) return a.mtime.tv_sec < b.mtime.tv_sec;
        if (a.mtime.tv_nsec != b.mtime.tv_nsec) return a.mtime.tv_nsec < b.mtime.tv_nsec;
        return a.name < b.name;
    });
    uint64_t removed = 0;
    for (const Entry& e : entries) {
        if (total <= max_bytes) break;
        if (e.name == keep) continue;
        // unlinkat removes the name itself: a file swapped for a link since
        // the listing loses only that link.
        if (::unlinkat(d.fd, e.name.c_str(), 0) == 0) {
            total -= e.size;
            removed++;
        }
    }
    return removed;
}

const char* cache_result_name(CacheResult r) {
    switch (r) {
        case CacheResult::Hit: return "hit";
        case CacheResult::Missing: return "missing";
        case CacheResult::Stale: return "stale";
        case CacheResult::Unusable: return "unusable";
        case CacheResult::Disabled: return "disabled";
    }
    return "?";
}

FileIdentity identify(const std::string& path) {
    Fd f;
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f.fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
    struct stat st;
    if (::fstat(f.fd, &st) != 0) throw std::system_error(errno, std::generic_category(), "stat " + path);
    FileIdentity id;
    char real[PATH_MAX];
    id.path = ::realpath(path.c_str(), real) ? real : path;
    id.size = static_cast<uint64_t>(st.st_size);
    id.mtime_ns = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000000ull + static_cast<uint64_t>(st.st_mtim.tv_nsec);
    id.ino = st.st_ino;
    id.dev = st.st_dev;
    // The contents at both ends: a file rewritten with its old size and
    // mtime restored is still caught in the common cases.
    std::string edges(std::min<uint64_t>(id.size, 2 * kEdge), '\0');
    size_t head = std::min<uint64_t>(id.size, kEdge);
    size_t tail = edges.size() - head;
    ssize_t n1 = ::pread(f.fd, edges.data(), head, 0);
    ssize_t n2 = tail ? ::pread(f.fd, edges.data() + head, tail, static_cast<off_t>(id.size - tail)) : 0;
    if (n1 < 0 || n2 < 0) throw std::system_error(errno, std::generic_category(), "read " + path);
    id.head_tail_digest = sha256_hex(edges);
    return id;
}

std::string cache_file(const std::string& dir, const FileIdentity& id, const IndexOptions& opts) {
    // The verdict depends on the mode and on whether keys were given.
    bool keyed = opts.keys && !opts.keys->empty();
    std::string key = id.path + '\0' + opts.rec + '\0' + (opts.lax ? "lax" : "strict") + (keyed ? "+keys" : "");
    return dir + "/" + sha256_hex(key).substr(0, 40) + ".idx";
}

namespace {

RecordingIndex store_index(const std::string& file, const FileIdentity& id, const CacheOptions& opts,
                           RecordingIndex idx) {
    if (file.empty() || !make_dirs(opts.dir)) return idx;
    std::string data(kMagic);
    serial::put_str(data, identity_bytes(id));
    serial::put_u64(data, opts.index.every_bytes);
    serial::put_u64(data, opts.index.every_ms);
    serial::put_str(data, idx.serialize());
    data += sha256_hex(data);
    std::string tmp = file + ".tmp." + std::to_string(::getpid());
    Fd f;
    f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (f.fd >= 0) {
        bool ok = write_all(f.fd, data);
        ::close(f.fd);
        f.fd = -1;
        if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0)
            ::unlink(tmp.c_str());
        else
            evict_cache(opts.dir, opts.max_bytes, file.substr(file.find_last_of('/') + 1));
    }
    return idx;
}

std::optional<RecordingIndex> lookup(const std::string& path, const CacheOptions& opts, const FileIdentity& id,
                                     std::string& file, CacheResult& res) {
    res = CacheResult::Disabled;
    if (opts.dir.empty()) return std::nullopt;
    file = cache_file(opts.dir, id, opts.index);
    res = CacheResult::Missing;
    Fd f;
    f.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f.fd < 0) return std::nullopt;
    // Only a cache file we wrote ourselves is trusted: a planted one could
    // show the auditor screens the recording never had.
    struct stat cst;
    bool ours = ::fstat(f.fd, &cst) == 0 && S_ISREG(cst.st_mode) && cst.st_uid == ::geteuid() && !(cst.st_mode & 022);
    res = CacheResult::Unusable;
    std::string data;
    if (!ours || !read_all(f.fd, data)) return std::nullopt;
    // Layout: magic, identity, keyframe settings, index, digest of all before it.
    if (data.size() <= kMagic.size() + 64 || data.substr(0, kMagic.size()) != kMagic) return std::nullopt;
    std::string_view body(data.data(), data.size() - 64);
    if (sha256_hex(body) != std::string_view(data).substr(data.size() - 64)) return std::nullopt;
    serial::Reader r{body.substr(kMagic.size())};
    std::string ident = r.str();
    uint64_t every_bytes = r.u64(), every_ms = r.u64();
    std::string index = r.str();
    if (!r.ok) return std::nullopt;
    if (ident != identity_bytes(id)) {
        res = CacheResult::Stale;
        return std::nullopt;
    }
    RecordingIndex idx;
    if (every_bytes != opts.index.every_bytes || every_ms != opts.index.every_ms ||
        !RecordingIndex::deserialize(index, idx))
        return std::nullopt;
    (void)path;
    // Recently used: eviction goes by mtime, oldest first.
    ::futimens(f.fd, nullptr);
    res = CacheResult::Hit;
    return idx;
}

}  // namespace

std::optional<RecordingIndex> load_cached_index(const std::string& path, const CacheOptions& opts,
                                                CacheResult* result) {
    FileIdentity id = identify(path);
    std::string file;
    CacheResult res;
    auto idx = lookup(path, opts, id, file, res);
    if (result) *result = res;
    return idx;
}

RecordingIndex open_index(const std::string& path, const CacheOptions& opts, CacheResult* result) {
    FileIdentity id = identify(path);
    std::string file;
    CacheResult res;
    if (auto idx = lookup(path, opts, id, file, res)) {
        if (result) *result = res;
        return std::move(*idx);
    }
    if (result) *result = res;
    return store_index(file, id, opts, build_index(path, opts.index));
}

}  // namespace tlog::play
