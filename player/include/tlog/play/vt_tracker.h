// Follows the escape-sequence structure of a terminal output stream beside
// the terminal model, for the state libvterm keeps but does not let a caller
// read back: the scroll region, origin/wrap/insert modes, character sets, and
// whether the stream is between sequences (a safe place for a keyframe).
// Also reports where the alternate screen is entered, so the model can save
// the primary screen first (libvterm hides the inactive buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tlog::play {

// The part of terminal state a snapshot must carry besides the cells.
struct VtModes {
    uint16_t top = 0, bottom = 0;   // scroll region, 1-based; 0 = whole screen
    bool origin = false;            // DECOM
    bool autowrap = true;           // DECAWM
    bool insert = false;            // IRM
    char g0 = 'B', g1 = 'B';        // designated character sets
    bool shift_out = false;         // SO: G1 in GL
    bool operator==(const VtModes&) const = default;

    std::string serialize() const;
    static bool deserialize(std::string_view s, VtModes& out);
    // Escape sequences that establish these modes on a terminal that was
    // just reset (the scroll region and origin mode move the cursor: emit
    // this before positioning it).
    std::string sequences() const;
};

class VtTracker {
public:
    // Decaln: ESC # 8 (screen alignment test), which with insert mode and
    // resizes corrupts libvterm 0.1.4's memory: the model never passes it on.
    // Rep: CSI Ps b (repeat the last character), on which libvterm 0.1.4
    // loops forever when that character has no width: the model does it.
    enum class Mark { None, AltScreenEnter, AltScreenLeave, Decaln, Rep };

    // Scans bytes from `data`; stops after the final byte of a sequence that
    // enters or leaves the alternate screen and returns how many bytes were
    // consumed, with `mark` set. Otherwise consumes everything.
    size_t scan(std::string_view data, Mark& mark);

    bool at_ground() const { return state_ == State::Ground; }
    // After Mark::Rep: how many times (at least 1).
    uint32_t rep_count() const { return rep_count_; }
    const VtModes& modes() const { return modes_; }
    void set_modes(const VtModes& m) {
        modes_ = m;
        state_ = State::Ground;
    }
    void reset() {
        modes_ = VtModes{};
        state_ = State::Ground;
    }

private:
    enum class State : uint8_t { Ground, Esc, EscInter, Csi, String, StringEsc };
    Mark csi_final(char final);
    Mark esc_final(char final);

    State state_ = State::Ground;
    char leader_ = 0;          // CSI private marker ('?', '>', ...)
    char inter_ = 0;           // first intermediate byte
    bool bad_ = false;         // too many parameters: ignored, as terminals do
    static constexpr int kMaxParams = 16;
    uint32_t params_[kMaxParams] = {};
    int nparams_ = 0;
    bool have_digit_ = false;
    uint32_t rep_count_ = 1;
    VtModes modes_;
};

} // namespace tlog::play
