#include "tlog/play/vt_tracker.h"

#include <cstdio>

namespace tlog::play {

std::string VtModes::serialize() const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%u %u %d %d %d %c %c %d", top, bottom, origin, autowrap, insert, g0, g1,
                  shift_out);
    return buf;
}

bool VtModes::deserialize(std::string_view s, VtModes& out) {
    std::string t(s);
    unsigned top, bottom;
    int o, a, i, so;
    char g0, g1;
    if (std::sscanf(t.c_str(), "%u %u %d %d %d %c %c %d", &top, &bottom, &o, &a, &i, &g0, &g1, &so) != 8) return false;
    if (top > 0xffff || bottom > 0xffff) return false;
    out = VtModes{static_cast<uint16_t>(top), static_cast<uint16_t>(bottom), o != 0, a != 0, i != 0, g0, g1, so != 0};
    return true;
}

std::string VtModes::sequences() const {
    std::string s;
    if (top || bottom) s += "\x1b[" + std::to_string(top ? top : 1) + ";" + (bottom ? std::to_string(bottom) : "") + "r";
    if (origin) s += "\x1b[?6h";
    if (!autowrap) s += "\x1b[?7l";
    if (insert) s += "\x1b[4h";
    auto safe = [](char c) { return (c >= '0' && c <= '~') ? c : 'B'; };
    if (g0 != 'B') s += std::string("\x1b(") + safe(g0);
    if (g1 != 'B') s += std::string("\x1b)") + safe(g1);
    if (shift_out) s += "\x0e";
    return s;
}

size_t VtTracker::scan(std::string_view data, Mark& mark) {
    mark = Mark::None;
    const char* p = data.data();
    const char* end = p + data.size();
    while (p < end) {
        unsigned char c = static_cast<unsigned char>(*p++);
        switch (state_) {
        case State::Ground:
            // The hot path: plain text between sequences.
            if (c == 0x1b) state_ = State::Esc;
            else if (c == 0x0e) modes_.shift_out = true;
            else if (c == 0x0f) modes_.shift_out = false;
            break;
        case State::Esc:
            if (c == '[') {
                state_ = State::Csi;
                leader_ = inter_ = 0;
                bad_ = false;
                nparams_ = 0;
                have_digit_ = false;
                params_[0] = 0;
            } else if (c == ']' || c == 'P' || c == '_' || c == '^' || c == 'X') {
                state_ = State::String;
            } else if (c >= 0x20 && c <= 0x2f) {
                inter_ = static_cast<char>(c);
                state_ = State::EscInter;
            } else if (c == 0x1b) {
                // ESC ESC: the first is abandoned.
            } else if (c < 0x20) {
                if (c == 0x18 || c == 0x1a) state_ = State::Ground;
            } else {
                state_ = State::Ground;
                esc_final(static_cast<char>(c));
            }
            break;
        case State::EscInter:
            if (c >= 0x20 && c <= 0x2f) break;
            if (c == 0x1b) { state_ = State::Esc; break; }
            if (c < 0x20) {
                if (c == 0x18 || c == 0x1a) state_ = State::Ground;
                break;
            }
            state_ = State::Ground;
            if (inter_ == '(') modes_.g0 = static_cast<char>(c);
            else if (inter_ == ')') modes_.g1 = static_cast<char>(c);
            else if (inter_ == '#' && c == '8') {
                mark = Mark::Decaln;
                return static_cast<size_t>(p - data.data());
            }
            break;
        case State::Csi:
            if (c >= '0' && c <= '9') {
                if (nparams_ < kMaxParams) {
                    uint32_t& v = params_[nparams_];
                    if (v < 100000) v = v * 10 + (c - '0');
                    have_digit_ = true;
                } else {
                    bad_ = true;
                }
            } else if (c == ';' || c == ':') {
                if (nparams_ < kMaxParams - 1) params_[++nparams_] = 0;
                else bad_ = true;
            } else if (c >= 0x3c && c <= 0x3f) {
                leader_ = static_cast<char>(c);
            } else if (c >= 0x20 && c <= 0x2f) {
                inter_ = static_cast<char>(c);
            } else if (c >= 0x40 && c <= 0x7e) {
                state_ = State::Ground;
                nparams_++;
                if (!bad_) {
                    Mark m = csi_final(static_cast<char>(c));
                    if (m != Mark::None) {
                        mark = m;
                        return static_cast<size_t>(p - data.data());
                    }
                }
            } else if (c == 0x1b) {
                state_ = State::Esc;
            } else if (c == 0x18 || c == 0x1a) {
                state_ = State::Ground;
            }
            break;
        case State::String:
            if (c == 0x07) state_ = State::Ground;
            else if (c == 0x1b) state_ = State::StringEsc;
            else if (c == 0x18 || c == 0x1a) state_ = State::Ground;
            break;
        case State::StringEsc:
            // ESC \ ends the string; any other ESC sequence ends it too.
            if (c == '\\') state_ = State::Ground;
            else if (c == '[') {
                state_ = State::Csi;
                leader_ = inter_ = 0;
                bad_ = false;
                nparams_ = 0;
                params_[0] = 0;
            } else state_ = State::Ground;
            break;
        }
    }
    return data.size();
}

VtTracker::Mark VtTracker::esc_final(char f) {
    if (f == 'c') modes_ = VtModes{};  // RIS
    return Mark::None;
}

VtTracker::Mark VtTracker::csi_final(char f) {
    Mark mark = Mark::None;
    if (leader_ == 0 && inter_ == 0 && f == 'b') {
        rep_count_ = params_[0] ? params_[0] : 1;
        return Mark::Rep;
    }
    if (leader_ == 0 && inter_ == 0 && f == 'r') {
        uint32_t t = nparams_ > 0 ? params_[0] : 0, b = nparams_ > 1 ? params_[1] : 0;
        modes_.top = static_cast<uint16_t>(t > 0xffff ? 0xffff : t);
        modes_.bottom = static_cast<uint16_t>(b > 0xffff ? 0xffff : b);
        if (modes_.top <= 1 && modes_.bottom == 0) modes_.top = 0;
    } else if (inter_ == '!' && f == 'p') {  // DECSTR soft reset
        modes_.top = modes_.bottom = 0;
        modes_.origin = modes_.insert = false;
        modes_.autowrap = true;
        modes_.g0 = modes_.g1 = 'B';
        modes_.shift_out = false;
    } else if ((f == 'h' || f == 'l') && inter_ == 0) {
        bool on = f == 'h';
        for (int i = 0; i < nparams_; i++) {
            uint32_t v = params_[i];
            if (leader_ == '?') {
                if (v == 6) modes_.origin = on;
                else if (v == 7) modes_.autowrap = on;
                else if (v == 47 || v == 1047 || v == 1049) mark = on ? Mark::AltScreenEnter : Mark::AltScreenLeave;
            } else if (leader_ == 0 && v == 4) {
                modes_.insert = on;
            }
        }
    }
    return mark;
}

} // namespace tlog::play
