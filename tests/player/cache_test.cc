// The index cache's size cap: least recently used files go first, a hit
// counts as a use, and nothing but our own cache files is ever removed.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "test_support.h"
#include "tlog/play/index_cache.h"

#include "cmocka_cxx.h"

using namespace tlog::play;
using testsupport::kMs;

namespace {

const std::string kHexA(40, 'a'), kHexB(40, 'b'), kHexC(40, 'c'), kHexD(40, 'd');

void write_file(const std::string& path, size_t size, time_t mtime) {
    {
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f << std::string(size, 'x');
    }
    struct timespec t[2] = {{mtime, 0}, {mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path.c_str(), t, 0), 0);
}

bool exists(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
}

time_t mtime_of(const std::string& path) {
    struct stat st;
    assert_int_equal(stat(path.c_str(), &st), 0);
    return st.st_mtim.tv_sec;
}

void write_recording(const std::string& path, const std::string& rec, int lines) {
    testsupport::FileSink sink(path);
    tlog::Encoder enc(testsupport::info(rec), tlog::EncoderOptions{}, sink, 0, 0);
    enc.window(0, 40, 10);
    for (int i = 0; i < lines; i++) enc.output(i * 10 * kMs, rec + " line " + std::to_string(i) + "\r\n");
    enc.finish(lines * 10 * kMs, "exit");
}

void test_parse_size(void**) {
    assert_int_equal(parse_cache_size("0", "x"), 0);
    assert_int_equal(parse_cache_size("4096", "x"), 4096);
    assert_int_equal(parse_cache_size("3K", "x"), 3072);
    assert_int_equal(parse_cache_size("5m", "x"), 5ull << 20);
    assert_int_equal(parse_cache_size("2G", "x"), 2ull << 30);
    assert_int_equal(parse_cache_size("2GiB", "x"), 2ull << 30);
    for (const char* bad : {"", "G", "1T", "1.5G", "-1", "1GG", "99999999999999999999", "17179869184G"}) {
        try {
            parse_cache_size(bad, "--cache-max");
            fail_msg("accepted '%s'", bad);
        } catch (const std::invalid_argument& e) {
            assert_non_null(strstr(e.what(), "--cache-max"));  // the error names the option
        }
    }
    setenv("TLOG_PLAY_CACHE_MAX", "7M", 1);
    assert_int_equal(default_cache_max(), 7ull << 20);
    setenv("TLOG_PLAY_CACHE_MAX", "lots", 1);
    try {
        default_cache_max();
        fail_msg("accepted TLOG_PLAY_CACHE_MAX=lots");
    } catch (const std::invalid_argument& e) {
        assert_non_null(strstr(e.what(), "TLOG_PLAY_CACHE_MAX"));
    }
    unsetenv("TLOG_PLAY_CACHE_MAX");
    assert_int_equal(default_cache_max(), kDefaultCacheMax);
}

void test_evict_oldest_only_ours(void**) {
    testsupport::TempDir dir;
    const std::string& d = dir.path();
    write_file(d + "/" + kHexA + ".idx", 1000, 1000);  // oldest
    write_file(d + "/" + kHexB + ".idx", 1000, 2000);
    write_file(d + "/" + kHexC + ".idx", 1000, 3000);
    // Not ours: other names, an unfinished temporary, a directory and a
    // symbolic link named like a cache file (its target must survive), all older.
    write_file(d + "/notes.txt", 5000, 10);
    write_file(d + "/" + kHexD + ".idx.tmp.123", 5000, 10);
    write_file(d + "/" + std::string(40, 'A') + ".idx", 5000, 10);  // upper case: not our naming
    assert_int_equal(mkdir((d + "/" + std::string(40, 'e') + ".idx").c_str(), 0700), 0);
    write_file(d + "/target", 5000, 10);
    assert_int_equal(symlink((d + "/target").c_str(), (d + "/" + kHexD + ".idx").c_str()), 0);

    // Under the cap: nothing goes.
    assert_int_equal(evict_cache(d, 3000), 0);
    assert_true(exists(d + "/" + kHexA + ".idx"));
    // Over it: the least recently used first, down to the cap.
    assert_int_equal(evict_cache(d, 2500), 1);
    assert_false(exists(d + "/" + kHexA + ".idx"));
    assert_true(exists(d + "/" + kHexB + ".idx"));
    assert_true(exists(d + "/" + kHexC + ".idx"));
    // The file just written is kept even when it is the oldest.
    assert_int_equal(evict_cache(d, 1000, kHexB + ".idx"), 1);
    assert_true(exists(d + "/" + kHexB + ".idx"));
    assert_false(exists(d + "/" + kHexC + ".idx"));
    // ... and even when it alone is over the cap.
    assert_int_equal(evict_cache(d, 10, kHexB + ".idx"), 0);
    assert_true(exists(d + "/" + kHexB + ".idx"));
    assert_int_equal(evict_cache(d, 10), 1);
    // Everything that is not ours is untouched.
    for (const std::string& n : {std::string("notes.txt"), kHexD + ".idx.tmp.123", std::string(40, 'A') + ".idx",
                                 std::string(40, 'e') + ".idx", std::string("target"), kHexD + ".idx"})
        assert_true(exists(d + "/" + n));
    // A cap of 0 is no cap; a missing directory is no error.
    write_file(d + "/" + kHexA + ".idx", 1000, 1000);
    assert_int_equal(evict_cache(d, 0), 0);
    assert_int_equal(evict_cache(d + "/missing", 1), 0);
}

void test_open_index_evicts_lru(void**) {
    // Three recordings, a cap that holds two indexes: after the third is
    // stored, the least recently used one is gone, and a hit counts as a use.
    testsupport::TempDir dir;
    std::string logs[3];
    for (int i = 0; i < 3; i++) {
        logs[i] = dir.file("r" + std::to_string(i) + ".log");
        write_recording(logs[i], "rec-" + std::to_string(i), 200);
    }
    CacheOptions co;
    co.dir = dir.file("cache");
    co.max_bytes = 0;
    CacheResult r;
    open_index(logs[0], co, &r);
    std::string f0 = cache_file(co.dir, identify(logs[0]), co.index);
    struct stat st;
    assert_int_equal(stat(f0.c_str(), &st), 0);
    uint64_t one = static_cast<uint64_t>(st.st_size);
    co.max_bytes = one * 2 + one / 2;
    open_index(logs[1], co, &r);
    std::string f1 = cache_file(co.dir, identify(logs[1]), co.index);
    // Make index 0 the older one, then use it: it becomes the newest.
    struct timespec old_t[2] = {{1000, 0}, {1000, 0}}, older_t[2] = {{500, 0}, {500, 0}};
    utimensat(AT_FDCWD, f0.c_str(), old_t, 0);
    utimensat(AT_FDCWD, f1.c_str(), older_t, 0);
    open_index(logs[0], co, &r);
    assert_int_equal(r, CacheResult::Hit);
    assert_true(mtime_of(f0) > 1000);  // touched on use
    open_index(logs[2], co, &r);
    assert_int_equal(r, CacheResult::Missing);
    std::string f2 = cache_file(co.dir, identify(logs[2]), co.index);
    assert_true(exists(f0));
    assert_false(exists(f1));  // least recently used
    assert_true(exists(f2));
    open_index(logs[1], co, &r);
    assert_int_equal(r, CacheResult::Missing);
}

void test_symlinked_cache_file_not_followed(void**) {
    // A link planted under our cache name is neither read nor written through.
    testsupport::TempDir dir;
    std::string log = dir.file("r.log");
    write_recording(log, "rec-x", 20);
    CacheOptions co;
    co.dir = dir.file("cache");
    assert_int_equal(mkdir(co.dir.c_str(), 0700), 0);
    std::string cf = cache_file(co.dir, identify(log), co.index);
    write_file(dir.file("elsewhere"), 10, 10);
    assert_int_equal(symlink(dir.file("elsewhere").c_str(), cf.c_str()), 0);
    CacheResult r;
    open_index(log, co, &r);
    assert_int_equal(r, CacheResult::Missing);
    struct stat st;
    assert_int_equal(lstat(cf.c_str(), &st), 0);
    assert_true(S_ISREG(st.st_mode));  // replaced by our file, the target untouched
    assert_int_equal(stat(dir.file("elsewhere").c_str(), &st), 0);
    assert_int_equal(st.st_size, 10);
    open_index(log, co, &r);
    assert_int_equal(r, CacheResult::Hit);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_evict_oldest_only_ours),
        cmocka_unit_test(test_open_index_evicts_lru),
        cmocka_unit_test(test_symlinked_cache_file_not_followed),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
