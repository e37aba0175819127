// What compressing stored messages costs and saves, on the generated
// recordings (bench/README.md, "server"): a standalone experiment, not the
// server's code. For each way, the compressed size per byte of JSON,
// compression and decompression MB/s of JSON (thread CPU time, best of
// REPEAT), and whether every message came back byte for byte:
//   message Lk        each message alone, ZSTD_compress at level k (a new
//                     context each call: what the store does today);
//   message Lk ctx    the same with one context kept (ZSTD_compressCCtx);
//   dict Lk           each message alone against a dictionary trained
//                     (ZDICT_trainFromBuffer) on the first tenth of the
//                     recordings, measured on the others;
//   batch N Lk        N consecutive messages of a recording in one frame
//                     (one row), as a request's messages would be stored.
//
//   bench-server-zstd REPEAT FILE...
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <zdict.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "read_file.h"

namespace {

double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct CCtxFree {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
    void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};
struct CDictFree {
    void operator()(ZSTD_CDict* c) const { ZSTD_freeCDict(c); }
};
struct DDictFree {
    void operator()(ZSTD_DDict* c) const { ZSTD_freeDDict(c); }
};

void check(size_t rc, const char* what) {
    if (ZSTD_isError(rc) != 0U) {
        std::fprintf(stderr, "%s: %s\n", what, ZSTD_getErrorName(rc));
        std::exit(1);
    }
}

// One unit stored: a message, or a batch of messages (newline-joined).
using Units = std::vector<std::string>;
using Compress = std::function<size_t(const std::string& in, std::string& out)>;
using Decompress = std::function<void(const std::string& in, std::string& out)>;

void measure(const char* name, const Units& units, int repeat, const Compress& comp, const Decompress& decomp) {
    uint64_t json = 0, packed = 0;
    for (const auto& u : units) json += u.size();
    std::vector<std::string> out(units.size());
    double best_c = 1e300, best_d = 1e300;
    bool same = true;
    for (int r = 0; r < repeat; ++r) {
        packed = 0;
        double t0 = cpu_now();
        for (size_t i = 0; i < units.size(); ++i) packed += comp(units[i], out[i]);
        double t1 = cpu_now();
        std::string back;
        for (size_t i = 0; i < units.size(); ++i) {
            back.assign(units[i].size(), '\0');
            decomp(out[i], back);
            same = same && back == units[i];
        }
        double t2 = cpu_now();
        best_c = std::min(best_c, t1 - t0);
        best_d = std::min(best_d, t2 - t1);
    }
    std::printf("%-16s ratio %.3f  compress %7.1f MB/s  decompress %7.1f MB/s  units %zu%s\n", name,
                static_cast<double>(packed) / static_cast<double>(json), static_cast<double>(json) / 1e6 / best_c,
                static_cast<double>(json) / 1e6 / best_d, units.size(), same ? "" : "  MISMATCH");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s REPEAT FILE...\n", argv[0]);
        return 2;
    }
    int repeat = std::atoi(argv[1]);
    std::vector<std::vector<std::string>> recs;
    for (int i = 2; i < argc; ++i) {
        std::string text = bench::read_file(argv[i]);
        auto& lines = recs.emplace_back();
        for (size_t at = 0; at < text.size();) {
            size_t nl = text.find('\n', at);
            if (nl == std::string::npos) nl = text.size();
            lines.emplace_back(text, at, nl - at);
            at = nl + 1;
        }
    }
    // The first tenth trains the dictionary; every way is measured on the rest.
    size_t train_recs = std::max<size_t>(1, recs.size() / 10);
    Units messages;
    std::string samples;
    std::vector<size_t> sample_sizes;
    for (size_t r = 0; r < recs.size(); ++r) {
        for (const auto& l : recs[r]) {
            if (r < train_recs) {
                samples += l;
                sample_sizes.push_back(l.size());
            } else {
                messages.push_back(l);
            }
        }
    }
    std::printf("%zu recordings: %zu train the dictionary, %zu messages measured\n", recs.size(), train_recs,
                messages.size());

    std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
    std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
    auto plain_decomp = [&](const std::string& in, std::string& out) {
        check(ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), in.data(), in.size()), "decompress");
    };
    for (int level : {1, 3, 6}) {
        std::string name = "message L" + std::to_string(level);
        measure(
            name.c_str(), messages, repeat,
            [&](const std::string& in, std::string& out) {
                out.resize(ZSTD_compressBound(in.size()));
                size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
                check(n, "compress");
                out.resize(n);
                return n;
            },
            plain_decomp);
        name += " ctx";
        measure(
            name.c_str(), messages, repeat,
            [&](const std::string& in, std::string& out) {
                out.resize(ZSTD_compressBound(in.size()));
                size_t n = ZSTD_compressCCtx(cctx.get(), out.data(), out.size(), in.data(), in.size(), level);
                check(n, "compress");
                out.resize(n);
                return n;
            },
            plain_decomp);
    }
    for (size_t dict_size : {size_t(32) << 10U, size_t(112) << 10U}) {
        std::string dict(dict_size, '\0');
        size_t n = ZDICT_trainFromBuffer(dict.data(), dict.size(), samples.data(), sample_sizes.data(),
                                         static_cast<unsigned>(sample_sizes.size()));
        if (ZDICT_isError(n) != 0U) {
            std::fprintf(stderr, "dictionary: %s\n", ZDICT_getErrorName(n));
            return 1;
        }
        dict.resize(n);
        for (int level : {1, 3}) {
            std::unique_ptr<ZSTD_CDict, CDictFree> cdict(ZSTD_createCDict(dict.data(), dict.size(), level));
            std::unique_ptr<ZSTD_DDict, DDictFree> ddict(ZSTD_createDDict(dict.data(), dict.size()));
            std::string name = "dict " + std::to_string(dict.size() >> 10U) + "K L" + std::to_string(level);
            measure(
                name.c_str(), messages, repeat,
                [&](const std::string& in, std::string& out) {
                    out.resize(ZSTD_compressBound(in.size()));
                    size_t m =
                        ZSTD_compress_usingCDict(cctx.get(), out.data(), out.size(), in.data(), in.size(), cdict.get());
                    check(m, "compress");
                    out.resize(m);
                    return m;
                },
                [&](const std::string& in, std::string& out) {
                    check(ZSTD_decompress_usingDDict(dctx.get(), out.data(), out.size(), in.data(), in.size(),
                                                     ddict.get()),
                          "decompress");
                });
        }
    }
    for (size_t batch : {8, 32, 128}) {
        Units units;
        for (size_t r = train_recs; r < recs.size(); ++r) {
            for (size_t i = 0; i < recs[r].size(); i += batch) {
                std::string u;
                for (size_t j = i; j < std::min(i + batch, recs[r].size()); ++j) {
                    u += recs[r][j];
                    u += '\n';
                }
                units.push_back(std::move(u));
            }
        }
        for (int level : {1, 3}) {
            std::string name = "batch " + std::to_string(batch) + " L" + std::to_string(level);
            measure(
                name.c_str(), units, repeat,
                [&](const std::string& in, std::string& out) {
                    out.resize(ZSTD_compressBound(in.size()));
                    size_t n = ZSTD_compressCCtx(cctx.get(), out.data(), out.size(), in.data(), in.size(), level);
                    check(n, "compress");
                    out.resize(n);
                    return n;
                },
                plain_decomp);
        }
    }
    return 0;
}
