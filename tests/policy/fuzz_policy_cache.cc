// Fuzz target: the cache reader nss_tlog runs in every process. The checksum
// is recomputed first so the fuzzer reaches the structural checks; any input
// the reader accepts is then queried (AddressSanitizer catches out-of-bounds reads).
#include <cstdint>
#include <cstring>
#include <vector>

#include "tlog/policy/cache_reader.h"

namespace cache = tlog::policy::cache;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<uint64_t> words(size / 8 + 1);
    auto* bytes = reinterpret_cast<unsigned char*>(words.data());
    if (size) std::memcpy(bytes, data, size);
    if (size >= sizeof(cache::Header)) {
        auto* h = reinterpret_cast<cache::Header*>(bytes);
        h->checksum = cache::file_checksum(bytes, size);
    }
    cache::View v;
    if (cache::View::open(bytes, size, &v) != nullptr) return 0;
    uint32_t best[cache::kMaxClasses];
    for (const char* name : {"root", "alice", "bob", "", "zzzz"})
        for (uint32_t id : {0u, 1u, 1000u, 65534u, 0xfffffffeu}) {
            (void)v.recorded(name, id, id);
            v.decide(name, id, 0, best);
        }
    (void)std::strlen(v.recorder());
    for (uint32_t i = 0; i < v.rule_count(); ++i) (void)std::strlen(v.str(v.rule(i).settings));
    return 0;
}
