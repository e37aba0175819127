// What a recording id (a message's "rec") may look like where it becomes a
// key beyond its own recording: tlog-audit copies it onto every event of an
// audit session, tlog-server stores and serves audit events by it. tlog's
// ids (MACHINE-SESSION-PID in hex) and ours (with a sequence suffix) fit;
// anything longer, or with a character JSON or a shell treats specially,
// is not a recording id. Header-only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace tlog {

inline constexpr size_t kMaxRecIdBytes = 128;

constexpr bool is_recording_id(std::string_view id) {
    return !id.empty() && id.size() <= kMaxRecIdBytes && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_' ||
               c == '.' || c == ':';
    });
}

}  // namespace tlog
