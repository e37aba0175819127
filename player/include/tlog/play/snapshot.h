// A keyframe: the terminal model's whole state (both screens' cells, the
// cursor, pen, modes, margins, tab stops, character sets and saved
// cursors) at a point of a recording, so the model can continue from there
// without replaying what came before. Stored in the index cache, so its
// encoding is compact, versioned and checked when read
// (doc/terminal-model.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tlog::play {

struct Snapshot {
    std::string state;  // the model's encoding (player/vt/snapshot_codec.h)

    std::string serialize() const;
    // False when `s` is not a snapshot this version wrote, or is damaged.
    static bool deserialize(std::string_view s, Snapshot& out);
};

}  // namespace tlog::play
