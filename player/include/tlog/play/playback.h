// Playback of one indexed recording through the terminal model: seek to any
// time (the nearest keyframe before it, then a short replay), advance to a
// time, step event by event. The interactive player, search and export all
// drive the model through this one class.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "tlog/decoder.h"
#include "tlog/play/line_source.h"
#include "tlog/play/recording_index.h"
#include "tlog/play/term_model.h"
#include "tlog/recording_select.h"
#include "tlog/withheld.h"

namespace tlog::play {

// Data the recorder saw but did not store (tlog/withheld.h): input hidden
// while a program read a password, output replaced by a redaction pattern.
struct WithheldNotice {
    bool input = true;
    withheld::Span span;
};

struct PlayEvent {
    Event::Type type = Event::Type::Output;
    uint64_t pos_ms = 0;
    std::string data;
    uint16_t width = 0, height = 0;
};

class Playback {
public:
    // `index` must outlive the playback. With `follow`, the end of the file
    // is not the end of the recording: next_time() finds new messages as
    // they are written.
    Playback(const std::string& path, const RecordingIndex& index, bool follow = false);
    ~Playback();

    TermModel& model() { return model_; }
    const TermModel& model() const { return model_; }
    uint64_t position() const { return pos_; }
    const RecordingIndex& index() const { return *index_; }
    // A fuller index of the same recording (one built in the background
    // while playback ran on a start-only index). Takes effect at the next
    // seek; the screen and position are kept.
    void set_index(const RecordingIndex& index) { index_ = &index; }

    // Shows the recording as it was at `ms`: every event at or before it
    // applied, none after.
    void seek(uint64_t ms);
    // Back to the very start: nothing applied, not even events at 0 ms.
    void rewind() { restart(index_->keyframes.front()); }
    // Applies the events up to and including `ms`; position becomes `ms`.
    void advance_to(uint64_t ms);
    // The time of the next event; nullopt at the end (follow: for now).
    std::optional<uint64_t> next_time();
    // Applies every event of the next time; false at the end.
    bool step();
    // Bytes of the file read so far (follow mode: how far the writer got).
    uint64_t file_offset() const { return src_.offset(); }
    // The recording's last message (with its end marker) has been read.
    bool ended() const { return ended_; }

    // Observers, called as events are applied (export) and when lax
    // decoding finds messages missing.
    std::function<void(const PlayEvent&)> on_event;
    std::function<void(const Gap&)> on_gap;
    // Called when playback reaches a span of withheld data (only the count
    // and the reason: the bytes are not in the recording).
    std::function<void(const WithheldNotice&)> on_withheld;

private:
    class Sink;
    bool fill();
    void apply(const PlayEvent& ev);
    void restart(const Keyframe& k);

    const RecordingIndex* index_;
    bool follow_;
    TermModel model_;
    LineSource src_;
    std::unique_ptr<Decoder> dec_;
    std::unique_ptr<Sink> sink_;
    std::deque<PlayEvent> queue_;
    std::deque<WithheldNotice> notices_;  // by time, not yet reported
    void report_withheld(uint64_t ms);
    uint64_t pos_ = 0;
    bool ended_ = false;
    RecordingSelector select_;  // the index's recording, exactly
};

}  // namespace tlog::play
