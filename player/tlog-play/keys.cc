#include "keys.h"

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
    bool shift = params == "1;2";
    using T = Key::Type;
    if (params.empty() || shift) {
        switch (final) {
            case 'A': k.type = shift ? T::ShiftUp : T::Up; return true;
            case 'B': k.type = shift ? T::ShiftDown : T::Down; return true;
            case 'C': k.type = shift ? T::ShiftRight : T::Right; return true;
            case 'D': k.type = shift ? T::ShiftLeft : T::Left; return true;
            case 'H': k.type = T::Home; return true;
            case 'F': k.type = T::End; return true;
            default: return false;
        }
    }
    if (final == '~' && seq[1] == '[') {
        if (params == "5")
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

}  // namespace

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
