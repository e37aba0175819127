#include "tlog/play/snapshot.h"

#include "snapshot_codec.h"

namespace tlog::play {

namespace {
// Version 2: the model's own state (version 1 held libvterm redraw sequences).
constexpr std::string_view kMagic = "SNAP2";
}  // namespace

std::string Snapshot::serialize() const {
    std::string s(kMagic);
    s += state;
    return s;
}

bool Snapshot::deserialize(std::string_view s, Snapshot& out) {
    if (s.substr(0, kMagic.size()) != kMagic) return false;
    s.remove_prefix(kMagic.size());
    vt::ScreenState check;
    if (!vt::decode_state(s, check)) return false;
    out.state.assign(s);
    return true;
}

}  // namespace tlog::play
