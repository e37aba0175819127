// The web player's frames (GET /api/v1/sessions/REC/frames, doc/server.md
// "Frames"): a recording replayed through the terminal model on the
// server from the keyframe before a position, its screen sent as styled
// runs of text (TermModel::row_runs), then the rows that changed, at most
// one frame an interval. The browser never sees the recording's bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tlog/play/term_model.h"
#include "tlog/server/store.h"

namespace tlog::server {

struct FramesRequest {
    uint64_t from = 0;       // ms from the recording's start
    uint64_t until = 60000;  // frames with from < t <= until
    uint64_t interval = 40;  // ms of recording time between frames
    // The work of one request: output replayed after `from`, frames sent.
    uint64_t max_bytes = 1 << 20;
    size_t max_frames = 2000;
};

// The request's parameters checked (absent: the defaults); throws
// InputError naming the field out of range.
FramesRequest frames_request(std::optional<uint64_t> from, std::optional<uint64_t> until,
                             std::optional<uint64_t> interval);

// What the first line says of the recording as a whole.
struct FramesInfo {
    std::optional<uint64_t> start_ms;  // the wall clock of position 0 (the session's start_ms)
    std::optional<uint64_t> end_ms;    // the last position stored
    bool ended = false;                // its end marker is stored
};
FramesInfo frames_info(Store& store, const std::string& host, const std::string& rec);

// The stored messages of the recording with id > after_id, up to `limit`,
// in id order (Store::messages, taken under the caller's lock).
using MessagePages = std::function<std::vector<std::string>(uint64_t after_id, size_t limit)>;

// The NDJSON answer: the screen at `from` from keyframe `kf` (the last at
// or before `from`) and the messages after it, the frames, and where the
// next request starts.
std::string frames_ndjson(const StoredKeyframe& kf, const MessagePages& pages, const FramesRequest& req,
                          const std::string& host, const std::string& rec, const FramesInfo& info);

// A row's runs as the frames write them: [{"t":TEXT,"w":WIDTH,...}], the
// colours and attributes only when not the default.
std::string runs_json(const std::vector<play::StyledRun>& runs);

}  // namespace tlog::server
