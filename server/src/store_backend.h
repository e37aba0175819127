// What the storage backends share and how store.cc opens them; private to
// server/src.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/server/store.h"

namespace tlog::server {

// Schema versions: both backends have this many migrations, version N
// meaning the same tables and indexes in each.
inline constexpr int schema_versions = 13;

// A text search's query for rows holding `text` (index_http.cc's filter,
// the backends' text_hits): SQLite FTS5's phrase, "" when its trigram
// index cannot answer (under three characters: the rows are scanned);
// PostgreSQL's LIKE pattern, the text's wildcards taken literally (the
// recorded user chose the text). Every row found is checked exactly.
std::string fts_phrase(const std::string& text);
std::string like_pattern(const std::string& text);

// A glob ('*' any run, '?' one character, everything else itself) as
// SQLite's GLOB or PostgreSQL's LIKE pattern (session_search.cc).
std::string glob_pattern(const std::string& glob, bool postgres);

// Throws unless `found` is a version this tlog-server can migrate from.
void check_schema_version(int found, const std::string& name);

// A batch of messages closes at this many messages or bytes of JSON,
// whichever comes first, or at the end of the transaction: reading one
// message decompresses its batch (64 KiB at about 1 GB/s: 60 us).
// bench/README.md "server" has the measurements behind these and the level.
inline constexpr uint32_t batch_messages = 256;
inline constexpr size_t batch_bytes = 64 * 1024;
inline constexpr int batch_level = 1;
// A recording's last batch stays open for its next request while it holds
// less JSON than this: each request that joins it compresses and stores it
// again (and on PostgreSQL leaves the former version as a dead row until
// VACUUM), so the batches of recordings sent a message at a time stay
// smaller than those of bulk requests.
inline constexpr size_t open_batch_bytes = 16 * 1024;

// The stored form of JSON (a batch of messages, an audit event), and back;
// unpacking checks the size stored beside it, and throws naming the
// database if they disagree. The packed bytes are valid until the thread's
// next zstd_pack.
std::string_view zstd_pack(std::string_view json, int level);
// The level of the index's keyframes (snapshot and baseline).
inline constexpr int keyframe_level = 3;
std::string zstd_unpack(const void* data, size_t size, uint64_t json_size, const std::string& name);
// A batch's sizes: each message's size in LEB128, in order (empty for a
// batch of one message, whose size is the batch's); batch_sizes checks
// they add up to the batch's size.
void append_size(std::string& sizes, uint64_t n);
std::vector<uint64_t> batch_sizes(std::string_view sizes, uint64_t json_size, const std::string& name);

// The start of a recording: the wall clock of its position 0.
inline uint64_t recording_start(uint64_t at_ms, uint64_t pos_ms) { return at_ms >= pos_ms ? at_ms - pos_ms : 0; }

std::unique_ptr<Store> open_sqlite(const std::string& path);
std::unique_ptr<Store> open_postgres(const std::string& conninfo);

}  // namespace tlog::server
