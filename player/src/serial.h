// Little-endian binary fields for the cache files (private to libplay).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tlog::play::serial {

inline void put_u64(std::string& s, uint64_t v) {
    for (int i = 0; i < 8; i++) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_str(std::string& s, std::string_view v) {
    put_u64(s, v.size());
    s.append(v);
}

struct Reader {
    std::string_view s;
    bool ok = true;
    uint64_t u64() {
        if (s.size() < 8) {
            ok = false;
            return 0;
        }
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) v |= static_cast<uint64_t>(static_cast<unsigned char>(s[i])) << (8 * i);
        s.remove_prefix(8);
        return v;
    }
    std::string str() {
        uint64_t n = u64();
        if (!ok || s.size() < n) {
            ok = false;
            return {};
        }
        std::string v(s.substr(0, n));
        s.remove_prefix(n);
        return v;
    }
};

} // namespace tlog::play::serial
