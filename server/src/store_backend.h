// What the storage backends share and how store.cc opens them; private to
// server/src.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "tlog/server/store.h"

namespace tlog::server {

// Schema versions: both backends have this many migrations, version N
// meaning the same tables and indexes in each.
inline constexpr int schema_versions = 4;

// Throws unless `found` is a version this tlog-server can migrate from.
void check_schema_version(int found, const std::string& name);

// The stored form of a message's JSON, and back; unpacking checks the size
// stored beside it, and throws naming the database if they disagree. The
// packed bytes are valid until the thread's next zstd_pack.
std::string_view zstd_pack(std::string_view json);
std::string zstd_unpack(const void* data, size_t size, uint64_t json_size, const std::string& name);

// The start of a recording: the wall clock of its position 0.
inline uint64_t recording_start(uint64_t at_ms, uint64_t pos_ms) { return at_ms >= pos_ms ? at_ms - pos_ms : 0; }

std::unique_ptr<Store> open_sqlite(const std::string& path);
std::unique_ptr<Store> open_postgres(const std::string& conninfo);

}  // namespace tlog::server
