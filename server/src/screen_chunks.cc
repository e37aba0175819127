#include "screen_chunks.h"

#include <cstdint>
#include <functional>
#include <stdexcept>

#include "store_backend.h"

namespace tlog::server {

namespace {

[[noreturn]] void damaged(const std::string& where) {
    throw std::runtime_error(where + ": a stored chunk of screen text is damaged");
}

uint64_t read_varint(std::string_view s, size_t& i, const std::string& where) {
    uint64_t n = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (i >= s.size() || shift > 63) damaged(where);
        auto b = static_cast<unsigned char>(s[i++]);
        n |= static_cast<uint64_t>(b & 0x7fU) << shift;
        if ((b & 0x80U) == 0) return n;
    }
}

// Positions go forward in a recording, but a hostile one may step back:
// the step is signed (zigzag).
uint64_t zigzag(uint64_t from, uint64_t to) { return to >= from ? (to - from) << 1U : (((from - to) - 1) << 1U) | 1U; }
uint64_t unzigzag(uint64_t from, uint64_t z) { return (z & 1U) != 0 ? from - (z >> 1U) - 1 : from + (z >> 1U); }

}  // namespace

void TextChunk::append(const ScreenTextRow& r) {
    if (rows == 0) {
        first_id = r.msg_id;
        last_pos_ = 0;
    } else {
        text += '\n';
    }
    last_id = r.msg_id;
    append_size(meta, r.msg_id - first_id);
    append_size(meta, zigzag(last_pos_, r.pos_ms));
    append_size(meta, static_cast<uint64_t>(r.row));
    append_size(meta, r.text.size());
    last_pos_ = r.pos_ms;
    text += r.text;
    ++rows;
}

void TextChunk::each(
    const std::string& where,
    const std::function<bool(uint64_t msg_id, uint64_t pos_ms, int row, std::string_view text)>& fn) const {
    size_t i = 0, at = 0;
    uint64_t pos = 0;
    while (i < meta.size()) {
        uint64_t id = first_id + read_varint(meta, i, where);
        pos = unzigzag(pos, read_varint(meta, i, where));
        uint64_t row = read_varint(meta, i, where);
        uint64_t len = read_varint(meta, i, where);
        if (row > INT32_MAX || len > text.size() - at) damaged(where);
        if (!fn(id, pos, static_cast<int>(row), std::string_view(text).substr(at, len))) return;
        at += len;
        if (at < text.size()) {
            if (text[at] != '\n') damaged(where);
            ++at;
        }
    }
    if (at != text.size()) damaged(where);
}

std::vector<ScreenTextRow> TextChunk::decode(const std::string& where) const {
    std::vector<ScreenTextRow> out;
    each(where, [&](uint64_t id, uint64_t pos, int row, std::string_view t) {
        out.push_back({id, pos, row, std::string(t)});
        return true;
    });
    return out;
}

void TextChunk::truncate_before(uint64_t id, const std::string& where) {
    auto all = decode(where);
    TextChunk kept;
    for (const auto& r : all) {
        if (r.msg_id >= id) break;
        kept.append(r);
    }
    *this = std::move(kept);
}

void TextChunk::reopen(const std::string& where) { truncate_before(UINT64_MAX, where); }

std::vector<TextChunk> fill_chunks(TextChunk open, const std::vector<ScreenTextRow>& rows) {
    std::vector<TextChunk> out;
    out.push_back(std::move(open));
    for (const auto& r : rows) {
        if (out.back().full()) out.emplace_back();
        out.back().append(r);
    }
    return out;
}

void chunk_hits(const TextChunk& c, std::string_view needle, size_t limit, std::vector<ScreenTextRow>& out,
                const std::string& where) {
    if (out.size() >= limit || !chunk_text_has(c.text, needle)) return;
    c.each(where, [&](uint64_t id, uint64_t pos, int row, std::string_view t) {
        if (t.find(needle) != std::string_view::npos) out.push_back({id, pos, row, std::string(t)});
        return out.size() < limit;
    });
}

std::string pack_chunk(const TextChunk& c, uint64_t& packed_size) {
    std::string raw;
    append_size(raw, c.meta.size());
    raw += c.meta;
    raw += c.text;
    packed_size = raw.size();
    return std::string(zstd_pack(raw, chunk_level));
}

namespace {

// The decompressed form and where its text starts (after the meta's size and the meta).
std::string unpack_raw(const void* data, size_t size, uint64_t packed_size, const std::string& where, size_t& meta_at,
                       size_t& text_at) {
    std::string raw = zstd_unpack(data, size, packed_size, where);
    size_t i = 0;
    uint64_t n = read_varint(raw, i, where);
    if (n > raw.size() - i) damaged(where);
    meta_at = i;
    text_at = i + n;
    return raw;
}

}  // namespace

TextChunk unpack_chunk(const void* data, size_t size, uint64_t packed_size, uint64_t first_id, uint64_t last_id,
                       const std::string& where) {
    size_t meta_at = 0, text_at = 0;
    std::string raw = unpack_raw(data, size, packed_size, where, meta_at, text_at);
    TextChunk c;
    c.first_id = first_id;
    c.last_id = last_id;
    c.meta = raw.substr(meta_at, text_at - meta_at);
    c.text = raw.substr(text_at);
    return c;
}

std::string unpack_chunk_text(const void* data, size_t size, uint64_t packed_size, const std::string& where) {
    size_t meta_at = 0, text_at = 0;
    std::string raw = unpack_raw(data, size, packed_size, where, meta_at, text_at);
    return raw.substr(text_at);
}

}  // namespace tlog::server
