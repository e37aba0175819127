// tlog-server's storage: recordings' messages in SQLite (WAL), keyed by
// (host, rec, id) so a resent message is stored once, with the original
// JSON kept byte for byte (zstd-compressed), and a sessions table kept up
// to date on every insert.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace tlog::server {

// The fields of one message the server indexes, read by librec's decoder.
struct MessageMeta {
    std::string host, rec, user, term;
    uint64_t session = 0, id = 0, pos = 0;
    std::optional<uint64_t> time_ms;  // the message's wall clock, if it has one
};

struct Session {
    std::string host, rec, user, term;
    uint64_t session = 0;
    uint64_t first_id = 0, last_id = 0;
    uint64_t start_ms = 0, end_ms = 0;  // wall clock of the first position and of the last message
    uint64_t messages = 0, bytes = 0;
    uint64_t gaps = 0;  // ids below last_id not received
};

struct SessionQuery {
    std::string user, host;                      // empty: any
    std::optional<uint64_t> since_ms, until_ms;  // sessions overlapping [since, until]
    size_t limit = 100;
    // Keyset paging: sessions after this (start, host, rec), exclusive.
    std::optional<std::tuple<uint64_t, std::string, std::string>> after;
};

enum class AddResult { Created, Duplicate };

class Store {
public:
    // Opens (creating if needed) the database and brings its schema to the
    // current version. Throws std::runtime_error naming the file.
    explicit Store(const std::string& path);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    static int current_schema_version();
    int schema_version();

    // Batches of adds run in one transaction (one fsync per request).
    void begin();
    void commit();
    void rollback();

    // Stores a validated message; `received_ms` stands in for the time of
    // messages without one.
    AddResult add(const MessageMeta& meta, std::string_view json, uint64_t received_ms);

    std::vector<Session> sessions(const SessionQuery& q);
    // Original JSON of a recording's messages with id > after_id, in id
    // order (then host, for the rare rec shared by two hosts); host empty: any.
    std::vector<std::string> messages(const std::string& rec, const std::string& host, uint64_t after_id, size_t limit);
    // The same by position in id order, as Elasticsearch's from/size page.
    std::vector<std::string> messages_page(const std::string& rec, uint64_t from, size_t size);
    uint64_t message_count(const std::string& rec);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tlog::server
