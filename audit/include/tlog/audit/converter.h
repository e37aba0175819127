// The audit trail as JSON: audit events (as auditd logs them, RAW or
// ENRICHED) in, one JSON object per event out, with the keys that join each
// event to a terminal recording (host, audit session, time, rec). Schema and
// join: doc/audit-json.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlog::audit {

// One session of one host: what --session HOST:SES names.
struct SessionKey {
    std::string host;
    uint32_t ses = 0;
    auto operator<=>(const SessionKey&) const = default;
};

struct Options {
    // Events longer than this (bytes of JSON) are trimmed (doc/audit-json.md).
    size_t max_event_size = 64 * 1024;
    // "host" of events whose records carry no node= (logs written with
    // name_format = none).
    std::string default_host;
    // Failed authentications this long (seconds) before a recorded
    // session's start, for the same account and remote host, are joined to it.
    uint32_t failure_window = 600;
    // Known processes kept for the parent chains; older ones are forgotten.
    size_t max_processes = 32768;
    // Parent chain length limit.
    size_t max_parents = 16;
    // Events assembled and split by libauparse instead of tlog-audit's own
    // reader (src/raw_reader.cc): the reference the differential test
    // compares the reader with. Slower; the output is the same.
    bool libauparse_events = false;
    // The recording joined() answers for (tlog-audit --rec). Only its joins
    // are kept: kept for every recording, they would grow for as long as a
    // plugin runs.
    std::string joins_of_rec;
};

// What the converter remembers across events: the recording of each audit
// session, the processes seen executing, recent failed authentications.
// Bounded (Options::max_processes, failure_window).
class Converter {
public:
    // `json` is valid during the call only.
    using Output = std::function<void(std::string_view json, const SessionKey& key, std::string_view rec,
                                      uint64_t sort_time_ms, uint64_t serial)>;
    Converter(Options opts, Output out);
    ~Converter();
    Converter(const Converter&) = delete;
    Converter& operator=(const Converter&) = delete;

    // Feeds log text: whole lines or any pieces of them.
    void feed(std::string_view text);
    // Emits the events complete by age (a record with no end-of-event
    // marker waits for the next event or auditd's end_of_event_timeout).
    void age();
    // End of input: events still incomplete are emitted.
    void finish();

    uint64_t events() const;
    // What the input so far joined to Options::joins_of_rec: the audit sessions
    // whose pam_tlog start record named it, and the failed authentications
    // joined to them as (host, serial).
    struct Joined {
        std::vector<SessionKey> sessions;
        std::vector<std::pair<std::string, uint64_t>> failures;
    };
    Joined joined() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

// Hex-decodes an audit value ("2F746D70" -> "/tmp"); nullopt if it is not hex.
std::optional<std::string> unhex(std::string_view s);
// The value of a field as auditd encodes strings: "quoted", hex, or as is.
std::string decode_value(std::string_view raw);
// `s` with every invalid UTF-8 sequence replaced by U+FFFD; *changed tells
// whether anything was replaced.
std::string valid_utf8(std::string_view s, bool* changed = nullptr);
// `name` resolved against `cwd` ("." and ".." folded lexically; links are
// not followed: the file system at the time of the event is gone).
std::string resolve_path(std::string_view cwd, std::string_view name);

}  // namespace tlog::audit
