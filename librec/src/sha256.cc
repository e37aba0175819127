#include "tlog/sha256.h"

#include "tlog/hex.h"

#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace tlog {

namespace {

constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

constexpr uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

uint32_t load_be32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

void blocks_portable(uint32_t* h, const uint8_t* p, size_t n) {
    for (; n; n--, p += 64) {
        uint32_t w[64];
        for (int i = 0; i < 16; i++) w[i] = load_be32(p + 4 * i);
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[i] + w[i];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
        h[5] += f;
        h[6] += g;
        h[7] += hh;
    }
}

#if defined(__x86_64__) && !defined(TLOG_SHA256_PORTABLE_ONLY)
// The SHA extensions hold the state as ABEF and CDGH and do two rounds per
// instruction; message words are expanded four at a time with msg1/msg2.
__attribute__((target("sha,sse4.1,ssse3"))) void blocks_shani(uint32_t* h, const uint8_t* p, size_t n) {
    const __m128i kShuffle = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h));
    __m128i state1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + 4));
    tmp = _mm_shuffle_epi32(tmp, 0xb1);                // CDAB
    state1 = _mm_shuffle_epi32(state1, 0x1b);          // EFGH
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);  // ABEF
    state1 = _mm_blend_epi16(state1, tmp, 0xf0);       // CDGH
    for (; n; n--, p += 64) {
        const __m128i save0 = state0, save1 = state1;
        __m128i w[4];
        // Fully unrolled, the indices below are constants and w[] lives in registers.
#pragma GCC unroll 16
        for (int g = 0; g < 16; g++) {
            if (g < 4) w[g] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * g)), kShuffle);
            __m128i msg = _mm_add_epi32(w[g % 4], _mm_loadu_si128(reinterpret_cast<const __m128i*>(kK + 4 * g)));
            state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
            if (g >= 3 && g <= 14) {
                __m128i& next = w[(g + 1) % 4];
                next = _mm_add_epi32(next, _mm_alignr_epi8(w[g % 4], w[(g + 3) % 4], 4));
                next = _mm_sha256msg2_epu32(next, w[g % 4]);
            }
            msg = _mm_shuffle_epi32(msg, 0x0e);
            state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
            if (g >= 1 && g <= 12) w[(g + 3) % 4] = _mm_sha256msg1_epu32(w[(g + 3) % 4], w[g % 4]);
        }
        state0 = _mm_add_epi32(state0, save0);
        state1 = _mm_add_epi32(state1, save1);
    }
    tmp = _mm_shuffle_epi32(state0, 0x1b);        // FEBA
    state1 = _mm_shuffle_epi32(state1, 0xb1);     // DCHG
    state0 = _mm_blend_epi16(tmp, state1, 0xf0);  // DCBA
    state1 = _mm_alignr_epi8(state1, tmp, 8);     // HGFE
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h), state0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h + 4), state1);
}

bool have_shani() {
    // CPUID directly: clang's __builtin_cpu_supports does not know "sha".
    static const bool have = [] {
        unsigned a, b, c, d;
        if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3)) return false;
        if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
        return (b & bit_SHA) != 0;
    }();
    return have;
}
#endif

void blocks(uint32_t* h, const uint8_t* p, size_t n) {
#if defined(__x86_64__) && !defined(TLOG_SHA256_PORTABLE_ONLY)
    if (have_shani()) return blocks_shani(h, p, n);
#endif
    blocks_portable(h, p, n);
}

}  // namespace

Sha256::Sha256()
    : h_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}, buf_{} {}

void Sha256::update(const void* data, size_t len) {
    if (!len) return;  // an empty view may carry a null pointer
    auto p = static_cast<const uint8_t*>(data);
    total_ += len;
    if (buf_len_) {
        size_t take = std::min(len, sizeof buf_ - buf_len_);
        std::memcpy(buf_ + buf_len_, p, take);
        buf_len_ += take;
        p += take;
        len -= take;
        if (buf_len_ < sizeof buf_) return;
        blocks(h_, buf_, 1);
        buf_len_ = 0;
    }
    if (len >= 64) {
        blocks(h_, p, len / 64);
        p += len / 64 * 64;
        len %= 64;
    }
    std::memcpy(buf_, p, len);
    buf_len_ = len;
}

Sha256::Digest Sha256::finish() {
    uint64_t bits = total_ * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (buf_len_ < 56 ? 56 : 120) - buf_len_;
    for (int i = 0; i < 8; i++) pad[padlen + i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
    update(pad, padlen + 8);
    Digest d;
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 4; k++) d[4 * i + k] = static_cast<uint8_t>(h_[i] >> (24 - 8 * k));
    return d;
}

Sha256::Digest Sha256::of(std::string_view s) {
    Sha256 h;
    h.update(s);
    return h.finish();
}

std::string Sha256::hex(const Digest& d) { return hex::encode(d.data(), d.size()); }

HmacSha256::HmacSha256(std::string_view key) {
    uint8_t block[64] = {};
    if (key.size() > sizeof block) {
        Sha256::Digest d = Sha256::of(key);
        std::memcpy(block, d.data(), d.size());
    } else {
        std::memcpy(block, key.data(), key.size());
    }
    uint8_t ipad[64], opad[64];
    for (int i = 0; i < 64; i++) {
        ipad[i] = block[i] ^ 0x36;
        opad[i] = block[i] ^ 0x5c;
    }
    inner_.update(ipad, 64);
    outer_.update(opad, 64);
    // Key material is not left on the stack.
    volatile uint8_t* v = block;
    for (size_t i = 0; i < sizeof block; i++) v[i] = 0;
    v = ipad;
    for (size_t i = 0; i < sizeof ipad; i++) v[i] = 0;
    v = opad;
    for (size_t i = 0; i < sizeof opad; i++) v[i] = 0;
}

Sha256::Digest HmacSha256::finish(Sha256& inner) const {
    Sha256::Digest d = inner.finish();
    Sha256 outer = outer_;
    outer.update(d.data(), d.size());
    return outer.finish();
}

}  // namespace tlog
