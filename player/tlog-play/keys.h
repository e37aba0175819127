// Keys from the auditor's terminal. Whole escape sequences are consumed and
// only the few the player knows become keys: anything a terminal sends on
// its own (reports, answers to queries) is dropped, never read as
// commands.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tlog::play::cli {

struct Key {
    enum class Type {
        Char,
        Left,
        Right,
        Up,
        Down,
        ShiftLeft,
        ShiftRight,
        ShiftUp,
        ShiftDown,
        PageUp,
        PageDown,
        Home,
        End,
        Enter,
        Backspace,
        Escape
    };
    Type type = Type::Char;
    char ch = 0;  // Char: the byte (ASCII only; other bytes are dropped)
};

class KeyParser {
public:
    // Adds bytes; complete keys are appended to `out`.
    void feed(std::string_view bytes, std::vector<Key>& out);
    // No more bytes came for a while: a lone ESC is the Escape key.
    void timeout(std::vector<Key>& out);
    bool pending() const { return !buf_.empty(); }

private:
    std::string buf_;
};

}  // namespace tlog::play::cli
