// The streaming encoder: terminal input, output and window sizes with their
// times in, tlog JSON messages (format 2.3, doc/format.md) out.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tlog/api.h"
#include "tlog/integrity.h"

namespace tlog {

// Default payload of the library: large enough that the message header costs
// under 5% of a message of text (doc/format.md, "Payload"). The recorders keep
// tlog's 2048 unless configured (kSyslogPayload).
constexpr size_t kDefaultPayload = 8192;
constexpr size_t kSyslogPayload = 2048;  // tlog's default, fits rsyslog's 8 KiB lines
constexpr size_t kMinPayload = 64;

// What identifies a recording; the same in every message.
struct TLOG_API RecordingInfo {
    std::string host;
    std::string rec;  // unique recording id
    std::string user;
    std::string term;
    uint32_t session = 0;  // audit session id; tlog writes 4294967295 when unset
};

struct TLOG_API EncoderOptions {
    size_t payload = kDefaultPayload;  // bound on timing + text + binary bytes per message
    bool log_input = false;
    bool log_output = true;
    bool log_window = true;
    bool chain = true;                    // write the integrity chain fields
    const integrity::Key* key = nullptr;  // HMAC key; unkeyed SHA-256 chain when null
};

struct TLOG_API EncodedMessage {
    std::string_view line;  // one JSON object and the newline
    uint64_t id;
    bool last;  // carries the "end" marker
};

// Receives complete messages. A writer that fails throws; the encoder's state
// is then unchanged for the message (it is not counted as written).
class TLOG_API MessageSink {
public:
    virtual ~MessageSink() = default;
    virtual void write(const EncodedMessage& msg) = 0;
};

class TLOG_API Encoder {
public:
    // Times are CLOCK_MONOTONIC nanoseconds; `start_real_ns` is the wall
    // clock (CLOCK_REALTIME, ns since the epoch) at `start_mono_ns`.
    Encoder(RecordingInfo info, EncoderOptions opts, MessageSink& sink, int64_t start_mono_ns, int64_t start_real_ns);
    ~Encoder();
    Encoder(const Encoder&) = delete;
    Encoder& operator=(const Encoder&) = delete;

    void window(int64_t mono_ns, uint16_t width, uint16_t height);
    void input(int64_t mono_ns, std::string_view bytes);
    void output(int64_t mono_ns, std::string_view bytes);

    // Writes what is buffered as a message (the latency timer calls this).
    // A multi-byte character still incomplete stays buffered.
    void flush();
    // Ends the recording: incomplete characters are written as invalid bytes,
    // then the last message, which carries "end": `reason` (a word such as
    // "exit", "hangup", "signal"). Nothing may be written after it.
    void finish(int64_t mono_ns, std::string_view reason);
    // Writes the current message now, even an empty one (a position, and the
    // window size when known): the recorder proves its writer works before
    // the recorded program may run.
    void write_now(int64_t mono_ns);

    // True when data waits for the next message; `pending_since_ns` is the
    // monotonic time the oldest of it arrived (for the latency timer).
    // Extension fields (doc/format.md, "Extension fields"): added to the
    // next message written, covered by the integrity chain and listed in its
    // "mac_fields". `json` is the value as JSON text; names of the format's
    // own fields are refused (std::invalid_argument).
    using Annotations = std::vector<std::pair<std::string, std::string>>;
    void annotate(std::string name, std::string json);
    // Called each time a message is built, to add fields that describe what
    // happened up to it (the recorder's drop records).
    void set_annotator(std::function<void(Annotations&)> fn);

    bool pending() const;
    int64_t pending_since_ns() const;
    uint64_t next_id() const;
    const RecordingInfo& info() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tlog
