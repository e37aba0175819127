// Keys from the auditor's terminal. Whole escape sequences are consumed and
// only the few the player knows become keys: anything a terminal sends on
// its own (reports, answers to queries) is dropped, never read as
// commands.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
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
        CtrlLeft,
        CtrlRight,
        CtrlUp,
        CtrlDown,
        F1,
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

// What a key does. The table of bindings below is the one place that says
// which key does what: the player's handler looks keys up in it and the
// help overlay and --help print it.
enum class Command {
    Pause,
    Faster,
    Slower,
    NormalSpeed,
    Step,
    GoEnd,  // G: the end, or the time typed before it
    Back5s,
    Forward5s,
    Back1min,
    Forward1min,
    Start,
    Percent,  // 0-9: that tenth of the recording (digits also type a time)
    TimeSep,  // ':' of a typed time
    SearchForward,
    SearchBackward,
    NextHit,
    PreviousHit,
    StopSearch,  // ESC: a running search (q and ^C too: Quit stops a search first)
    Status,
    Help,
    Input,
    PanLeft,
    PanRight,
    PanUp,
    PanDown,
    Quit,
    // In the search prompt.
    PromptIgnoreCase,
    PromptFixed,
    PromptEnter,
    PromptCancel,
    PromptErase,
};

struct Binding {
    enum class Where { Player, Prompt };
    Where where;
    Key::Type type;
    char lo, hi;  // Char keys: the bytes lo..hi
    Command cmd;
};

// Every binding, in the order the help lists them.
std::span<const Binding> bindings();
// The command `k` gives in the player or in the search prompt; nullopt:
// the key does nothing there (in the prompt, printable keys are typed).
std::optional<Command> command_for(const Key& k, Binding::Where where);
// One line per command: its keys and what it does (help overlay, --help).
std::vector<std::string> help_lines();

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
