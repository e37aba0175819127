// Little-endian binary fields for libplay's cache files and snapshots
// (private to libplay): one writer and one bounds-checked reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tlog::play::serial {

template <class T>
void put_le(std::string& s, T v) {
    for (size_t i = 0; i < sizeof(T); i++) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_u64(std::string& s, uint64_t v) { put_le<uint64_t>(s, v); }
inline void put_u32(std::string& s, uint32_t v) { put_le<uint32_t>(s, v); }
// A string with its length first, as a 64-bit or (snapshots) 32-bit field.
inline void put_str(std::string& s, std::string_view v) {
    put_u64(s, v.size());
    s.append(v);
}
inline void put_str32(std::string& s, std::string_view v) {
    put_u32(s, static_cast<uint32_t>(v.size()));
    s.append(v);
}

// Reads what the functions above wrote; on running out, `ok` turns false
// and every later read returns zero or empty.
struct Reader {
    std::string_view s;
    bool ok = true;

    template <class T>
    T get() {
        if (s.size() < sizeof(T)) {
            ok = false;
            return 0;
        }
        T v = 0;
        for (size_t i = 0; i < sizeof(T); i++) v |= static_cast<T>(static_cast<unsigned char>(s[i])) << (8 * i);
        s.remove_prefix(sizeof(T));
        return v;
    }
    uint64_t u64() { return get<uint64_t>(); }
    uint32_t u32() { return get<uint32_t>(); }
    std::string str() { return bytes(u64()); }
    std::string str32() { return bytes(u32()); }

private:
    std::string bytes(uint64_t n) {
        if (!ok || s.size() < n) {
            ok = false;
            return {};
        }
        std::string v(s.substr(0, n));
        s.remove_prefix(n);
        return v;
    }
};

}  // namespace tlog::play::serial
