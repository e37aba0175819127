// The decoder: tlog JSON messages in, the exact terminal byte streams,
// window sizes and times out, with an integrity verdict. Strict mode stops at
// the first problem and names the line and field; lax mode reports problems
// and plays through them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/api.h"
#include "tlog/error.h"
#include "tlog/integrity.h"

namespace tlog {

struct TLOG_API Event {
    enum class Type : uint8_t { Input, Output, Window };
    Type type;
    uint64_t pos_ms;                 // from the start of the recording
    std::string_view data;           // Input/Output bytes; valid during the call only
    uint16_t width = 0, height = 0;  // Window
};

// One message's fields as read (views valid during the callbacks only).
struct TLOG_API MessageHeader {
    uint64_t line = 0;
    std::string_view ver, host, rec, user, term, end;
    uint64_t session = 0, id = 0, pos = 0;
    uint64_t time_ms = 0;
    bool has_time = false;
    // Fields the format does not define (the recorder's "dropped",
    // "transfer", ...): name and raw JSON value.
    std::vector<std::pair<std::string_view, std::string_view>> extra;
};

struct TLOG_API Problem {
    Location where;
    std::string what;
    std::string str() const;
};

class TLOG_API EventSink {
public:
    virtual ~EventSink() = default;
    virtual void event(const Event& ev) = 0;
    virtual void message(const MessageHeader&) {}
    // Lax mode only: messages `first`..`last` are missing (or unreadable).
    virtual void gap(uint64_t /*first*/, uint64_t /*last*/) {}
    virtual void problem(const Problem&) {}
};

struct TLOG_API IntegrityReport {
    enum class Verdict {
        Unprotected,   // no chain fields: an old writer, nothing to check
        Intact,        // every MAC verified and the recording ended cleanly
        Incomplete,    // every MAC verified but no end marker (still live, or cut)
        Broken,        // a MAC, the order or the id sequence is wrong
        Unverifiable,  // keyed chain and no key for it
    };
    Verdict verdict = Verdict::Unprotected;
    uint64_t first_bad_id = 0;  // Broken: the first message that failed
    uint64_t first_bad_line = 0;
    std::string reason;  // Broken, or Unverifiable with wrong_key: why
    std::string end;     // the end marker's reason, if any
    uint64_t messages = 0;
    uint64_t duration_ms = 0;  // position of the last event or delay record
    std::string alg;           // the chain's "mac_alg", "" when unprotected
    std::string key_id;        // its "mac_key" (keyed chains)
    // Unverifiable because the key of that id verified no message: the key
    // file is blamed, not the recording (a damaged recording still verifies
    // its other messages).
    bool wrong_key = false;
    static const char* name(Verdict v);
    // The verdict with what it rests on: "intact (keyed, key K)", "intact
    // (unkeyed: anyone could have rewritten it)", "unverifiable (wrong key K)".
    std::string label() const;
    std::string str() const;  // label() and the details
};

struct TLOG_API DecodeOptions {
    bool lax = false;
    const integrity::Keyring* keys = nullptr;
    std::string source = "<input>";  // file name for error messages
    // Id of the first message expected (0 counts as 1). A decoder started
    // in the middle of a recording (playback from a keyframe) passes what
    // next_id() said there, so the messages before it are not reported
    // missing. The integrity chain then starts from that first message's
    // MAC, which cannot be checked without its predecessor: the verdict
    // covers the messages after it.
    uint64_t first_id = 1;
    // Each message is checked alone, as a server that receives a recording's
    // messages in any order and from several senders does: its own id is
    // the one expected (first_id is ignored), nothing is carried from one
    // message to the next (the first message's fields, the position, the
    // window size, the end), and the integrity chain, which needs each
    // message's predecessor, is not checked (integrity() stays
    // Unprotected). Everything else is checked as always: every field, the
    // timing against the text. One decoder then checks any number of
    // messages without being made anew for each.
    bool each_alone = false;
};

// Decodes the messages of ONE recording, in order.
class TLOG_API Decoder {
public:
    explicit Decoder(DecodeOptions opts);
    ~Decoder();
    Decoder(const Decoder&) = delete;
    Decoder& operator=(const Decoder&) = delete;

    // One message (the line without its newline). Strict mode throws
    // InputError; lax mode reports to sink.problem() and goes on.
    void feed(std::string_view line, uint64_t line_no, EventSink& sink);
    // No more messages: settles the integrity verdict.
    const IntegrityReport& finish();
    const IntegrityReport& integrity() const;
    uint64_t messages() const;
    // The id the next message must have: after the last accepted one (or
    // first_id). A decoder given it as first_id goes on exactly as this
    // one would, gaps after that point included.
    uint64_t next_id() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The value of the "rec" field of a message line, found without parsing the
// whole line (used to pick one recording out of an interleaved file).
// Returns false when the line has no plain "rec" string.
TLOG_API bool peek_rec(std::string_view line, std::string& rec);

struct TLOG_API ReadOptions {
    DecodeOptions decode;
    std::string rec;  // recording to read; empty: the first one in the input
};

// Reads a file (or "-" for stdin) holding one or several interleaved
// recordings and decodes the selected one. Lines of other recordings are
// skipped. Returns the integrity report.
TLOG_API IntegrityReport decode_file(const std::string& path, const ReadOptions& opts, EventSink& sink);

// Calls `fn(line, line_no)` for each line of a file descriptor, reading in
// large blocks. A last line without a newline is passed too.
template <class Fn>
void for_each_line(int fd, Fn&& fn);

}  // namespace tlog

#include "tlog/detail/line_reader.h"
