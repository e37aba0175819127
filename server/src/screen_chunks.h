// The rows of screen text the index stores, in chunks (doc/server.md,
// "Index"): consecutive rows of one recording together, one record and one
// document of the trigram index a chunk rather than a row. Shared by both
// backends; private to server/src.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/server/store.h"

namespace tlog::server {

// A chunk closes when its text reaches this many bytes. Larger chunks make
// the trigram index smaller (a trigram's postings name a chunk once however
// many of its rows hold it) and a search's exact check of a candidate chunk
// longer (bench/README.md "server", "Index: chunks of rows").
inline constexpr size_t chunk_text_bytes = 32 * 1024;
// zstd's level for a chunk on SQLite (PostgreSQL's TOAST compresses its own).
inline constexpr int chunk_level = 3;

// A chunk: each row's message id, position, screen row and text length
// (`meta`, LEB128: id after first_id, position as a signed step from the
// row before, row, length) and the rows' texts joined by '\n' (`text`, what
// the trigram index reads). The row rendering never holds '\n' (the
// terminal model puts no control character in a cell), so a text without
// '\n' is in the chunk's text exactly when it is in one of its rows.
struct TextChunk {
    uint64_t first_id = 0, last_id = 0;  // the message ids of its first and last row
    std::string meta, text;
    size_t rows = 0;

    void append(const ScreenTextRow& r);
    bool full() const { return text.size() >= chunk_text_bytes; }
    // The rows back, in order; throws naming `where` if meta and text disagree.
    std::vector<ScreenTextRow> decode(const std::string& where) const;
    // Each row in order, without copying its text, while `fn` returns true.
    void each(const std::string& where,
              const std::function<bool(uint64_t msg_id, uint64_t pos_ms, int row, std::string_view text)>& fn) const;
    // Keeps the rows whose message id is below `id` (an index resumed from a keyframe).
    void truncate_before(uint64_t id, const std::string& where);
    // Read back from the database (meta and text set): ready to append to.
    void reopen(const std::string& where);

private:
    uint64_t last_pos_ = 0;
};

// Appends `rows` to `open` (the recording's last chunk, if it has room;
// else an empty chunk) and to new chunks as each fills: the chunks to
// store, `open` first.
std::vector<TextChunk> fill_chunks(TextChunk open, const std::vector<ScreenTextRow>& rows);

// The rows of `c` holding `needle` (bytewise), appended to `out` while it
// holds fewer than `limit`.
void chunk_hits(const TextChunk& c, std::string_view needle, size_t limit, std::vector<ScreenTextRow>& out,
                const std::string& where);

// Whether `needle` is in a row of a chunk whose joined text is `text`.
inline bool chunk_text_has(std::string_view text, std::string_view needle) {
    return needle.find('\n') == std::string_view::npos && text.find(needle) != std::string_view::npos;
}

// SQLite's stored form: zstd of the meta's size (LEB128), meta and text;
// packed_size is the size before compression.
std::string pack_chunk(const TextChunk& c, uint64_t& packed_size);
TextChunk unpack_chunk(const void* data, size_t size, uint64_t packed_size, uint64_t first_id, uint64_t last_id,
                       const std::string& where);
// The joined text only (the sessions search's exact check).
std::string unpack_chunk_text(const void* data, size_t size, uint64_t packed_size, const std::string& where);

}  // namespace tlog::server
