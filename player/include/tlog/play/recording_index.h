// The keyframe index of one recording: built once by decoding the whole
// recording through the terminal model, then used to seek anywhere with one
// snapshot restore and a short replay. Also carries the recording's summary
// (who, where, when, how long, integrity verdict, gaps) for --list and
// --verify, so a cached index answers those without reading the file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tlog/decoder.h"
#include "tlog/play/snapshot.h"

namespace tlog::play {

struct Keyframe {
    uint64_t time_ms = 0;    // recording position the snapshot shows
    uint64_t offset = 0;     // file offset of the next message line to replay
    uint64_t line = 0;       // line number before that line (LineSource::seek)
    uint64_t msg_id = 0;     // id the decoder expected there (Decoder::next_id(): after a gap, not count + 1)
    uint64_t out_bytes = 0;  // output bytes played before it
    Snapshot snap;
};

struct Gap {
    uint64_t first_id = 0, last_id = 0;  // missing messages
    uint64_t pos_ms = 0;                 // where in the recording
};

struct RecordingSummary {
    std::string rec, user, host, term;
    uint64_t session = 0;
    uint64_t start_ms = 0;     // wall clock of the first message (ms since the epoch), 0 if unknown
    uint64_t duration_ms = 0;  // position of the last event
    uint64_t messages = 0;
    uint64_t out_bytes = 0, in_bytes = 0;
    uint64_t log_bytes = 0;  // bytes of message lines of this recording
    uint16_t first_cols = 0, first_rows = 0;
    IntegrityReport::Verdict verdict = IntegrityReport::Verdict::Unprotected;
    std::string integrity;        // IntegrityReport::str()
    std::string integrity_label;  // IntegrityReport::label(): --list's column
    uint64_t first_bad_id = 0, first_bad_line = 0;
    std::vector<Gap> gaps;
    std::vector<std::string> problems;  // lax mode: the first ones, for the auditor
};

// Builds a RecordingSummary from the lines of one recording and what the
// decoder reports about them: the one place that says what a summary counts
// (the index build and --list both use it).
class SummarySink : public EventSink {
public:
    explicit SummarySink(RecordingSummary& s) : s_(s) {}
    // A message line of this recording was read (its size without the newline).
    void line(uint64_t size) { s_.log_bytes += size + 1; }
    void event(const Event& ev) override;
    void message(const MessageHeader& h) override;
    void gap(uint64_t first, uint64_t last) override;
    void problem(const Problem& p) override;
    // After the last line: duration and integrity verdict; `selected` is the
    // recording's id when no decoded message named it.
    void finish(const IntegrityReport& r, const std::string& selected);
    // The recording position reached (last event or message).
    uint64_t last_pos() const { return last_pos_; }

private:
    RecordingSummary& s_;
    uint64_t last_pos_ = 0;
};

struct IndexOptions {
    std::string rec;  // empty: the first recording in the file
    bool lax = false;
    const integrity::Keyring* keys = nullptr;
    uint64_t every_bytes = 1 << 20;  // keyframe after this much output...
    uint64_t every_ms = 30000;       // ...or this much recording time
    // Called now and then with the file offset reached (progress display).
    std::function<void(uint64_t offset)> progress;
    // Checked between messages: true stops the build (IndexCancelled).
    std::function<bool()> cancelled;
    // Decoder and terminal model in two threads (same result, faster);
    // false runs both in the calling thread.
    bool pipelined = true;
    // Non-zero: stop at the first keyframe at or after this time. The
    // index then covers the start of the recording up to there (its
    // summary says only what was read): enough for a first look at
    // until_ms while the full index is built, at the cost of the build up
    // to that point, never of the whole recording.
    uint64_t until_ms = 0;
};

struct IndexCancelled : std::exception {
    const char* what() const noexcept override { return "index build cancelled"; }
};

class RecordingIndex {
public:
    RecordingSummary summary;
    std::vector<Keyframe> keyframes;  // by time; the first is the start
    uint64_t every_bytes = 0, every_ms = 0;

    // The last keyframe at or before `ms` (the first one if none).
    const Keyframe& at_or_before(uint64_t ms) const;

    std::string serialize() const;
    static bool deserialize(std::string_view s, RecordingIndex& out);
};

// Decodes the recording in `path` once. Strict mode throws InputError at
// the first problem; lax mode records problems and gaps in the summary.
RecordingIndex build_index(const std::string& path, const IndexOptions& opts);

// An index with only the start of the recording (one keyframe, summary
// holding the recording id): enough to play from the beginning at once
// while the full index is built. Reads only up to the first message.
RecordingIndex start_index(const std::string& path, const IndexOptions& opts);

}  // namespace tlog::play
