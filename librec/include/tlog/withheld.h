// Records of data the recorder saw but did not store: input typed while the
// recorded terminal read a secret ("in_hidden") and output replaced by a
// redaction pattern ("out_redacted"). Each is an extension field holding an
// array of spans (doc/recorder-fields.md), covered by the integrity chain.
// The recorder builds the value and the player reads it here, so both sides
// agree on one shape:
//
//   "in_hidden": [{"pos": 5120, "bytes": 9, "reason": "echo off"}, ...]
//
// `pos` is milliseconds from the recording start, like a message's `pos`:
// the player places the span in time without looking at the timing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/api.h"

namespace tlog::withheld {

constexpr const char* kInputField = "in_hidden";
constexpr const char* kOutputField = "out_redacted";
constexpr const char* kEchoOff = "echo off";  // the reason for hidden input

struct TLOG_API Span {
    uint64_t pos_ms = 0;
    uint64_t bytes = 0;
    std::string reason;
};

// The field's value as compact JSON.
TLOG_API std::string to_json(const std::vector<Span>& spans);

// Parses a field's value. Throws InputError naming `source` when the value
// is not an array of such objects (a reader reports it and goes on). The
// reason comes back printable ASCII only (others become '?'), at most 64
// characters: it is shown on the auditor's terminal.
TLOG_API std::vector<Span> parse(std::string_view json, const std::string& source);

// What the player and the exports show in place of the bytes,
// e.g. "[input hidden: 9 bytes]" or "[output redacted: 12 bytes]".
TLOG_API std::string describe(bool input, const Span& s);

}  // namespace tlog::withheld
