#include "keys.h"

#include <algorithm>
#include <array>

namespace tlog::play::cli {

namespace {

// Length of the escape sequence at the start of `s` (s[0] == ESC), 0 if it
// is not complete yet.
size_t sequence_length(std::string_view s) {
    if (s.size() < 2) return 0;
    char c = s[1];
    if (c == '[') {
        for (size_t i = 2; i < s.size(); i++) {
            unsigned char b = static_cast<unsigned char>(s[i]);
            if (b >= 0x40 && b <= 0x7e) return i + 1;
            if (b < 0x20 || b > 0x7e) return i;  // broken: drop what came so far
        }
        return 0;
    }
    if (c == ']' || c == 'P' || c == '_' || c == '^' || c == 'X') {
        // A string (OSC, DCS: what terminals answer with): up to BEL or ST.
        for (size_t i = 2; i < s.size(); i++) {
            if (s[i] == '\x07') return i + 1;
            if (s[i] == '\x1b' && i + 1 < s.size()) return s[i + 1] == '\\' ? i + 2 : i;
        }
        return 0;
    }
    if (c == 'O') return s.size() >= 3 ? 3 : 0;
    return 2;  // Alt+key: ignored
}

bool csi_key(std::string_view seq, Key& k) {
    // seq is ESC [ params final, or ESC O final.
    char final = seq.back();
    std::string_view params = seq.substr(2, seq.size() - 3);
    bool shift = params == "1;2", ctrl = params == "1;5";
    using T = Key::Type;
    if (params.empty() || shift || ctrl) {
        switch (final) {
            case 'A': k.type = shift ? T::ShiftUp : ctrl ? T::CtrlUp : T::Up; return true;
            case 'B': k.type = shift ? T::ShiftDown : ctrl ? T::CtrlDown : T::Down; return true;
            case 'C': k.type = shift ? T::ShiftRight : ctrl ? T::CtrlRight : T::Right; return true;
            case 'D': k.type = shift ? T::ShiftLeft : ctrl ? T::CtrlLeft : T::Left; return true;
            case 'H': k.type = T::Home; return true;
            case 'F': k.type = T::End; return true;
            case 'P': k.type = T::F1; return params.empty() && seq[1] == 'O';
            default: return false;
        }
    }
    if (final == '~' && seq[1] == '[') {
        if (params == "11")
            k.type = T::F1;
        else if (params == "5")
            k.type = T::PageUp;
        else if (params == "6")
            k.type = T::PageDown;
        else if (params == "1" || params == "7")
            k.type = T::Home;
        else if (params == "4" || params == "8")
            k.type = T::End;
        else
            return false;
        return true;
    }
    return false;
}

using T = Key::Type;
using W = Binding::Where;
using C = Command;

constexpr Binding ch(char c, C cmd, W w = W::Player) { return Binding{w, T::Char, c, c, cmd}; }
constexpr Binding key(T t, C cmd, W w = W::Player) { return Binding{w, t, 0, 0, cmd}; }

constexpr std::array kBindings = {
    ch(' ', C::Pause),
    ch('p', C::Pause),
    ch('}', C::Faster),
    ch('{', C::Slower),
    key(T::Backspace, C::NormalSpeed),
    ch('.', C::Step),
    key(T::Home, C::Start),
    key(T::End, C::GoEnd),
    ch('G', C::GoEnd),
    Binding{W::Player, T::Char, '0', '9', C::Percent},
    ch(':', C::TimeSep),
    key(T::Left, C::Back5s),
    key(T::Right, C::Forward5s),
    key(T::ShiftLeft, C::Back1min),
    key(T::Down, C::Back1min),
    key(T::ShiftDown, C::Back1min),
    key(T::PageDown, C::Back1min),
    key(T::ShiftRight, C::Forward1min),
    key(T::Up, C::Forward1min),
    key(T::ShiftUp, C::Forward1min),
    key(T::PageUp, C::Forward1min),
    ch('/', C::SearchForward),
    ch('?', C::SearchBackward),
    ch('n', C::NextHit),
    ch('N', C::PreviousHit),
    key(T::Escape, C::StopSearch),
    ch('s', C::Status),
    ch('i', C::Input),
    key(T::CtrlLeft, C::PanLeft),
    ch('H', C::PanLeft),
    key(T::CtrlRight, C::PanRight),
    ch('L', C::PanRight),
    key(T::CtrlUp, C::PanUp),
    ch('K', C::PanUp),
    key(T::CtrlDown, C::PanDown),
    ch('J', C::PanDown),
    ch('h', C::Help),
    key(T::F1, C::Help),
    ch('q', C::Quit),
    ch(3, C::Quit),
    key(T::Enter, C::PromptEnter, W::Prompt),
    key(T::Escape, C::PromptCancel, W::Prompt),
    ch(3, C::PromptCancel, W::Prompt),
    ch(7, C::PromptCancel, W::Prompt),
    key(T::Backspace, C::PromptErase, W::Prompt),
    ch(9, C::PromptIgnoreCase, W::Prompt),
    ch(6, C::PromptFixed, W::Prompt),
};

// Commands described together in the help (a key and its opposite): the
// first one of a group leads it.
C leader(C c) {
    switch (c) {
        case C::Step: return C::Pause;
        case C::Slower:
        case C::NormalSpeed: return C::Faster;
        case C::GoEnd: return C::Start;
        case C::TimeSep: return C::Percent;
        case C::Forward5s: return C::Back5s;
        case C::Forward1min: return C::Back1min;
        case C::SearchBackward: return C::SearchForward;
        case C::PreviousHit: return C::NextHit;
        case C::PanRight:
        case C::PanUp:
        case C::PanDown: return C::PanLeft;
        case C::PromptCancel: return C::PromptEnter;
        case C::PromptFixed: return C::PromptIgnoreCase;
        default: return c;
    }
}

// What a group does, its commands in the order of the table.
const char* what(C c) {
    switch (c) {
        case C::Pause: return "pause or play / paused: play the next event";
        case C::Faster: return "speed x2 / /2 / x1 (from x1/16 to x16)";
        case C::Start: return "start / end (or a time typed before G: 1:15G)";
        case C::Percent: return "0% ... 90% / with digits, a time: [[HH:]MM:]SS[.sss]G";
        case C::Back5s: return "back / forward 5 s";
        case C::Back1min: return "back / forward 1 min";
        case C::SearchForward: return "search the screen forward / backward";
        case C::NextHit: return "next / previous hit";
        case C::StopSearch: return "stop a running search (so do q and ^C)";
        case C::Status: return "status line on/off (--status)";
        case C::Input: return "keystrokes on/off (off by default: may be passwords)";
        case C::PanLeft: return "pan left / right / up / down a larger recording";
        case C::Help: return "this help (any key closes it)";
        case C::Quit: return "quit (not with --persist)";
        case C::PromptEnter: return "search / cancel";
        case C::PromptErase: return "erase a character";
        case C::PromptIgnoreCase: return "ignore case (-I) / fixed string (-F) on/off";
        default: return "";
    }
}

std::string key_name(const Binding& b) {
    switch (b.type) {
        case T::Char:
            if (b.lo != b.hi) return std::string(1, b.lo) + "-" + std::string(1, b.hi);
            if (b.lo == ' ') return "SPACE";
            if (b.lo == 9) return "TAB (^I)";
            if (b.lo >= 0 && b.lo < 0x20) return std::string("^") + static_cast<char>(b.lo + '@');
            return std::string(1, b.lo);
        case T::Left: return "Left";
        case T::Right: return "Right";
        case T::Up: return "Up";
        case T::Down: return "Down";
        case T::ShiftLeft: return "Shift+Left";
        case T::ShiftRight: return "Shift+Right";
        case T::ShiftUp: return "Shift+Up";
        case T::ShiftDown: return "Shift+Down";
        case T::CtrlLeft: return "Ctrl+Left";
        case T::CtrlRight: return "Ctrl+Right";
        case T::CtrlUp: return "Ctrl+Up";
        case T::CtrlDown: return "Ctrl+Down";
        case T::F1: return "F1";
        case T::PageUp: return "PgUp";
        case T::PageDown: return "PgDn";
        case T::Home: return "Home";
        case T::End: return "End";
        case T::Enter: return "Enter";
        case T::Backspace: return "BACKSPACE";
        case T::Escape: return "ESC";
    }
    return "?";
}

}  // namespace

std::span<const Binding> bindings() { return kBindings; }

std::optional<Command> command_for(const Key& k, Binding::Where where) {
    for (const Binding& b : kBindings) {
        if (b.where != where || b.type != k.type) continue;
        if (k.type != T::Char || (k.ch >= b.lo && k.ch <= b.hi)) return b.cmd;
    }
    return std::nullopt;
}

std::vector<std::string> help_lines() {
    constexpr size_t kKeysWidth = 24;
    std::vector<std::string> out;
    for (W w : {W::Player, W::Prompt}) {
        out.emplace_back(w == W::Player ? "Keys:" : "In the search prompt (/ or ?):");
        std::vector<C> groups;
        for (const Binding& b : kBindings) {
            C g = leader(b.cmd);
            if (b.where != w || std::find(groups.begin(), groups.end(), g) != groups.end()) continue;
            groups.push_back(g);
            // The group's commands in table order, each with its keys.
            std::vector<C> cmds;
            for (const Binding& o : kBindings)
                if (o.where == w && leader(o.cmd) == g && std::find(cmds.begin(), cmds.end(), o.cmd) == cmds.end())
                    cmds.push_back(o.cmd);
            std::string keys;
            for (C c : cmds) {
                if (!keys.empty()) keys += " / ";
                bool first = true;
                for (const Binding& o : kBindings) {
                    if (o.where != w || o.cmd != c) continue;
                    keys += (first ? "" : ", ") + key_name(o);
                    first = false;
                }
            }
            if (keys.size() > kKeysWidth) {
                out.push_back("  " + keys);
                keys.clear();
            }
            keys.resize(kKeysWidth, ' ');
            out.push_back("  " + keys + " " + what(g));
        }
    }
    return out;
}

void KeyParser::feed(std::string_view bytes, std::vector<Key>& out) {
    buf_.append(bytes);
    size_t i = 0;
    while (i < buf_.size()) {
        unsigned char b = static_cast<unsigned char>(buf_[i]);
        if (b == 0x1b) {
            size_t n = sequence_length(std::string_view(buf_).substr(i));
            if (n == 0) break;  // wait for the rest
            Key k;
            std::string_view seq = std::string_view(buf_).substr(i, n);
            if ((seq.size() >= 3 && (seq[1] == '[' || seq[1] == 'O')) && csi_key(seq, k)) out.push_back(k);
            i += n;
            continue;
        }
        i++;
        Key k;
        if (b == '\r' || b == '\n')
            k.type = Key::Type::Enter;
        else if (b == 0x7f || b == 0x08)
            k.type = Key::Type::Backspace;
        else if (b < 0x80)
            k.ch = static_cast<char>(b);
        else
            continue;  // non-ASCII: no command uses it
        out.push_back(k);
    }
    buf_.erase(0, i);
    // An unterminated string longer than any answer is noise: drop it.
    if (buf_.size() > 4096) buf_.clear();
}

void KeyParser::timeout(std::vector<Key>& out) {
    // Only a lone ESC becomes a key. An unfinished sequence stays pending:
    // what follows it is swallowed until it ends rather than risk reading
    // the tail of a terminal answer as commands.
    if (buf_ == "\x1b") {
        out.push_back(Key{Key::Type::Escape, 0});
        buf_.clear();
    }
}

}  // namespace tlog::play::cli
