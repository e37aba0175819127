// When to take a keyframe while replaying a recording through the terminal
// model: the player's index (recording_index.cc) and tlog-server's indexer
// take them at the same places, so a seek costs the same on both.
#pragma once

#include <cstdint>

#include "tlog/play/term_model.h"

namespace tlog::play {

class KeyframePolicy {
public:
    explicit KeyframePolicy(uint64_t every_bytes = uint64_t{1} << 20U, uint64_t every_ms = 30000)
        : every_bytes_(every_bytes), every_ms_(every_ms) {}

    // Before a message, at recording position `pos_ms` (the last event
    // played): the start, or enough output or time since the last
    // keyframe, and the model between escape sequences so a snapshot
    // continues exactly.
    bool due(const TermModel& m, uint64_t pos_ms) const {
        return first_ || ((m.fed() - last_bytes_ >= every_bytes_ || pos_ms - last_ms_ >= every_ms_) && m.at_ground());
    }
    // A keyframe was taken (or restored, to continue from it) at `pos_ms`.
    void taken(const TermModel& m, uint64_t pos_ms) {
        last_bytes_ = m.fed();
        last_ms_ = pos_ms;
        first_ = false;
    }
    bool first() const { return first_; }
    uint64_t every_bytes() const { return every_bytes_; }
    uint64_t every_ms() const { return every_ms_; }

private:
    uint64_t every_bytes_, every_ms_;
    uint64_t last_bytes_ = 0, last_ms_ = 0;
    bool first_ = true;
};

}  // namespace tlog::play
