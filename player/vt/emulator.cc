#include "emulator.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>

#include "char_width.h"
#include "tlog/detail/swar.h"

namespace tlog::play::vt {

namespace {

constexpr uint32_t kReplacement = 0xfffd;

// DEC Special Graphics (ESC ( 0) for 0x5f..0x7e: the line-drawing set.
constexpr char16_t kDecGraphics[32] = {
    0x00a0, 0x25c6, 0x2592, 0x2409, 0x240c, 0x240d, 0x240a, 0x00b0, 0x00b1, 0x2424, 0x240b,
    0x2518, 0x2510, 0x250c, 0x2514, 0x253c, 0x23ba, 0x23bb, 0x2500, 0x23bc, 0x23bd, 0x251c,
    0x2524, 0x2534, 0x252c, 0x2502, 0x2264, 0x2265, 0x03c0, 0x2260, 0x00a3, 0x00b7,
};

constexpr uint32_t clamp_param(uint64_t v) { return v > 65535 ? 65535 : static_cast<uint32_t>(v); }

// Length of the printable ASCII run at the start of p[0, n).
size_t printable_run(const char* p, size_t n) {
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        if (uint64_t m = swar::nonprintable_mask(swar::load8(p + j))) return j + swar::first_marked(m);
    while (j < n && static_cast<unsigned char>(p[j] - 0x20) < 0x5f) j++;
    return j;
}

// Writes k narrow cells of one pen. The cell's second half (background,
// attributes, width) is the same for the whole run: two 8-byte stores a
// cell instead of one per field.
void store_cells(Cell* cells, const char* p, size_t k, const Pen& pen) {
    static_assert(sizeof(Cell) == 16 && offsetof(Cell, fg) == 4 && offsetof(Cell, bg) == 8);
    static_assert(std::endian::native == std::endian::little, "cp must be the low half of the first word");
    Cell tmpl{0, pen.fg, pen.bg, pen.attrs, 1, 0};
    uint64_t lo, hi;
    std::memcpy(&lo, &tmpl, 8);
    std::memcpy(&hi, reinterpret_cast<const char*>(&tmpl) + 8, 8);
    auto* out = reinterpret_cast<char*>(cells);
    for (size_t i = 0; i < k; i++) {
        uint64_t w = lo | static_cast<unsigned char>(p[i]);  // cp is the low half of `lo` (little-endian)
        std::memcpy(out + 16 * i, &w, 8);
        std::memcpy(out + 16 * i + 8, &hi, 8);
    }
}

}  // namespace

Emulator::Emulator(int rows, int cols) { reset(rows, cols); }

void Emulator::reset(int rows, int cols) {
    s_.reset(rows, cols);
    state_ = State::Ground;
    utf8_need_ = 0;
    utf8_lo_ = 0x80;
    utf8_hi_ = 0xbf;
    dirty_.assign(static_cast<size_t>(rows), false);
    written_.assign(static_cast<size_t>(rows), false);
    line_ids_.clear();
    fresh_ids(0);
    mark_all();
}

void Emulator::state_replaced() {
    state_ = State::Ground;
    utf8_need_ = 0;
    utf8_lo_ = 0x80;
    utf8_hi_ = 0xbf;
    dirty_.assign(static_cast<size_t>(s_.rows), false);
    written_.assign(static_cast<size_t>(s_.rows), false);
    line_ids_.clear();
    fresh_ids(0);
    mark_all();
}

void Emulator::fresh_ids(int from) {
    line_ids_.resize(static_cast<size_t>(s_.rows));
    for (size_t r = static_cast<size_t>(from); r < line_ids_.size(); r++) line_ids_[r] = next_line_id_++;
}

void Emulator::scroll_ids(int top, int bottom, int n) {
    int height = bottom - top;
    if (n == 0 || height <= 0) return;
    int count = std::min(n > 0 ? n : -n, height);
    auto at = [&](int r) -> uint64_t& { return line_ids_[static_cast<size_t>(r)]; };
    // all_written_ stands for every row, before and after the move.
    auto w = [&](int r) { return written_[static_cast<size_t>(r)]; };
    auto set_w = [&](int r, bool v) {
        if (!all_written_) written_[static_cast<size_t>(r)] = v;
    };
    // A line that enters is blank and new: written, so its text is taken
    // rather than assumed.
    if (n > 0) {
        for (int r = top; r + count < bottom; r++) {
            at(r) = at(r + count);
            set_w(r, w(r + count));
        }
        for (int r = bottom - count; r < bottom; r++) {
            at(r) = next_line_id_++;
            set_w(r, true);
        }
    } else {
        for (int r = bottom - 1; r - count >= top; r--) {
            at(r) = at(r - count);
            set_w(r, w(r - count));
        }
        for (int r = top; r < top + count; r++) {
            at(r) = next_line_id_++;
            set_w(r, true);
        }
    }
}

const std::vector<bool>& Emulator::dirty_rows() {
    if (all_dirty_) {
        std::fill(dirty_.begin(), dirty_.end(), true);
        all_dirty_ = false;
    }
    return dirty_;
}

const std::vector<bool>& Emulator::written_rows() {
    if (all_written_) {
        std::fill(written_.begin(), written_.end(), true);
        all_written_ = false;
    }
    return written_;
}

void Emulator::clear_dirty() {
    std::fill(dirty_.begin(), dirty_.end(), false);
    std::fill(written_.begin(), written_.end(), false);
    all_dirty_ = all_written_ = any_dirty = false;
}

void Emulator::feed(std::string_view bytes) {
    const char* p = bytes.data();
    size_t n = bytes.size(), i = 0;
    while (i < n) {
        if (state_ == State::Ground && utf8_need_ == 0) {
            // The common case: a run of printable ASCII goes straight to the cells.
            if (size_t run = printable_run(p + i, n - i)) {
                print_ascii(p + i, run);
                i += run;
                continue;
            }
        }
        auto b = static_cast<unsigned char>(p[i]);
        if (b == 0x1b && state_ == State::Ground && utf8_need_ == 0) {
            if (size_t used = csi_at_once(p + i, n - i)) {
                i += used;
                continue;
            }
        }
        if (state_ == State::Ground && utf8_need_ == 0 && b >= 0xc2 && b <= 0xef && i + 2 < n) {
            // A whole two- or three-byte character (no C1, no surrogate):
            // decoded here, without the byte-at-a-time state.
            auto b1 = static_cast<unsigned char>(p[i + 1]), b2 = static_cast<unsigned char>(p[i + 2]);
            if (b < 0xe0) {
                if ((b1 & 0xc0) == 0x80 && (b > 0xc2 || b1 >= 0xa0)) {
                    print(((b & 0x1fu) << 6) | (b1 & 0x3fu));
                    i += 2;
                    continue;
                }
            } else if ((b1 & 0xc0) == 0x80 && (b2 & 0xc0) == 0x80 && (b != 0xe0 || b1 >= 0xa0) &&
                       (b != 0xed || b1 < 0xa0)) {
                print(((b & 0x0fu) << 12) | ((b1 & 0x3fu) << 6) | (b2 & 0x3fu));
                i += 3;
                continue;
            }
        }
        i++;
        if (utf8_need_) {
            if (b >= utf8_lo_ && b <= utf8_hi_) {
                utf8_cp_ = (utf8_cp_ << 6) | (b & 0x3f);
                utf8_lo_ = 0x80;
                utf8_hi_ = 0xbf;
                if (--utf8_need_ == 0) put(utf8_cp_);
                continue;
            }
            // A cut or invalid sequence: one U+FFFD for its maximal valid
            // prefix, then this byte starts afresh.
            utf8_need_ = 0;
            utf8_lo_ = 0x80;
            utf8_hi_ = 0xbf;
            put(kReplacement);
            i--;
            continue;
        }
        if (b < 0x80) {
            put(b);
        } else if (b >= 0xc2 && b <= 0xdf) {
            utf8_cp_ = b & 0x1f;
            utf8_need_ = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
            utf8_cp_ = b & 0x0f;
            utf8_need_ = 2;
            if (b == 0xe0) utf8_lo_ = 0xa0;
            if (b == 0xed) utf8_hi_ = 0x9f;
        } else if (b >= 0xf0 && b <= 0xf4) {
            utf8_cp_ = b & 0x07;
            utf8_need_ = 3;
            if (b == 0xf0) utf8_lo_ = 0x90;
            if (b == 0xf4) utf8_hi_ = 0x8f;
        } else {
            put(kReplacement);  // a raw C1 byte or any other invalid one is a character, never a control
        }
    }
}

// The usual control sequence (ESC [, digits and semicolons, a final byte)
// parsed in one go when it is whole in the buffer: the same result as the
// state machine, which takes everything else. Returns the bytes used, 0 if
// the sequence is not of this kind or not complete here.
size_t Emulator::csi_at_once(const char* p, size_t n) {
    if (n < 3 || p[1] != '[') return 0;
    size_t count = 0;
    uint32_t v = 0;
    bool digits = false;
    for (size_t i = 2; i < n; i++) {
        auto c = static_cast<unsigned char>(p[i]);
        if (c >= '0' && c <= '9') {
            v = clamp_param(uint64_t(v) * 10 + (c - '0'));
            digits = true;
        } else if (c == ';') {
            if (count + 1 >= kMaxParams) return 0;
            sub_[count] = false;
            params_[count++] = v;
            v = 0;
            digits = true;  // "CSI ; 5 H": the empty first parameter counts
        } else if (c >= 0x40 && c < 0x7f) {
            if (digits) {
                sub_[count] = false;
                params_[count++] = v;
            }
            nparams_ = count;
            prefix_ = inter_ = 0;
            overflow_ = false;
            csi_dispatch(c);
            return i + 1;
        } else {
            return 0;
        }
    }
    return 0;
}

void Emulator::put(uint32_t c) {
    // Anywhere: CAN and SUB abort a sequence, ESC starts one (or ends a string).
    if (c == 0x18 || c == 0x1a) {
        state_ = State::Ground;
        return;
    }
    if (c == 0x7f) return;
    bool in_string = state_ == State::Osc || state_ == State::String;
    if (c == 0x1b) {
        if (in_string) {
            state_ = State::StringEsc;
            return;
        }
        state_ = State::Escape;
        nparams_ = 0;
        prefix_ = inter_ = 0;
        overflow_ = false;
        return;
    }
    // C1 controls (U+0080..U+009F, only ever from valid UTF-8): as their
    // 7-bit forms, as terminals that honour C1 do.
    if (c >= 0x80 && c < 0xa0) {
        if (in_string || state_ == State::StringEsc) {
            if (c == 0x9c) state_ = State::Ground;  // ST
            return;
        }
        state_ = State::Escape;
        nparams_ = 0;
        prefix_ = inter_ = 0;
        overflow_ = false;
        put(c - 0x40);
        return;
    }
    switch (state_) {
        case State::Ground:
            if (c < 0x20)
                execute(c);
            else
                print(c);
            return;
        case State::Escape:
            if (c < 0x20) {
                execute(c);
            } else if (c < 0x30) {
                inter_ = c;
                state_ = State::EscapeInter;
            } else if (c == '[') {
                params_[0] = 0;
                sub_[0] = false;
                state_ = State::CsiEntry;
            } else if (c == ']') {
                osc_ = true;
                state_ = State::Osc;
            } else if (c == 'P' || c == 'X' || c == '^' || c == '_') {
                osc_ = false;
                state_ = State::String;
            } else if (c < 0x7f) {
                state_ = State::Ground;
                esc_dispatch(c);
            } else {
                state_ = State::Ground;
            }
            return;
        case State::EscapeInter:
            if (c < 0x20) {
                execute(c);
            } else if (c < 0x30) {
                if (inter_ > 0xff) overflow_ = true;
                inter_ = (inter_ << 8) | c;
            } else {
                state_ = State::Ground;
                if (c < 0x7f && !overflow_) esc_dispatch(c);
            }
            return;
        case State::CsiEntry:
        case State::CsiParam:
            if (c < 0x20) {
                execute(c);
            } else if (c >= '0' && c <= '9') {
                if (nparams_ == 0) nparams_ = 1;
                if (nparams_ <= kMaxParams) {
                    uint32_t& v = params_[nparams_ - 1];
                    v = clamp_param(uint64_t(v) * 10 + (c - '0'));
                }
                state_ = State::CsiParam;
            } else if (c == ';' || c == ':') {
                if (nparams_ == 0) {
                    nparams_ = 1;
                    params_[0] = 0;
                    sub_[0] = false;
                }
                if (nparams_ < kMaxParams) {
                    params_[nparams_] = 0;
                    sub_[nparams_] = c == ':';
                    nparams_++;
                } else {
                    overflow_ = true;
                }
                state_ = State::CsiParam;
            } else if (c >= 0x3c && c <= 0x3f) {
                if (state_ == State::CsiEntry)
                    prefix_ = c;
                else
                    state_ = State::CsiIgnore;
            } else if (c < 0x30) {
                inter_ = c;
                state_ = State::CsiInter;
            } else if (c < 0x7f) {
                state_ = State::Ground;
                if (!overflow_) csi_dispatch(c);
            } else {
                state_ = State::CsiIgnore;
            }
            return;
        case State::CsiInter:
            if (c < 0x20) {
                execute(c);
            } else if (c < 0x30) {
                if (inter_ > 0xff) overflow_ = true;
                inter_ = (inter_ << 8) | c;
            } else if (c < 0x40) {
                state_ = State::CsiIgnore;
            } else {
                state_ = State::Ground;
                if (c < 0x7f && !overflow_) csi_dispatch(c);
            }
            return;
        case State::CsiIgnore:
            if (c < 0x20)
                execute(c);
            else if (c >= 0x40 && c < 0x7f)
                state_ = State::Ground;
            return;
        case State::Osc:
        case State::String:
            // The contents (titles, clipboard, DCS requests) are never used.
            if (c == 0x07 && osc_) state_ = State::Ground;
            return;
        case State::StringEsc:
            if (c == '\\') {
                state_ = State::Ground;
            } else {
                // ESC not followed by '\': the string is over, a new sequence begins.
                state_ = State::Escape;
                nparams_ = 0;
                prefix_ = inter_ = 0;
                overflow_ = false;
                put(c);
            }
            return;
    }
}

void Emulator::execute(uint32_t c) {
    switch (c) {
        case 0x08:  // BS
            if (s_.pending_wrap) s_.pending_wrap = false;
            if (s_.cur_col > 0) s_.cur_col--;
            break;
        case 0x09: tab(1); break;
        case 0x0a:
        case 0x0b:
        case 0x0c:
            linefeed();
            if (s_.newline_mode) carriage_return();
            break;
        case 0x0d: carriage_return(); break;
        case 0x0e: s_.gl = 1; break;  // SO
        case 0x0f: s_.gl = 0; break;  // SI
        default: break;               // BEL and the rest: nothing to draw
    }
}

void Emulator::esc_dispatch(uint32_t f) {
    if (inter_ == 0) {
        switch (f) {
            case '7': save_cursor(); break;
            case '8': restore_cursor(); break;
            case 'D': linefeed(); break;
            case 'E':
                linefeed();
                carriage_return();
                break;
            case 'H': s_.tabs[static_cast<size_t>(s_.cur_col)] = 1; break;
            case 'M': reverse_index(); break;
            case 'c': reset(s_.rows, s_.cols); break;
            case 'n': s_.gl = 2; break;
            case 'o': s_.gl = 3; break;
            default: break;  // keypad modes, single shifts, ST: nothing on screen
        }
        return;
    }
    if (inter_ == '#') {
        LineSize size;
        switch (f) {
            case '3': size = LineSize::DoubleTop; break;
            case '4': size = LineSize::DoubleBottom; break;
            case '5': size = LineSize::Single; break;
            case '6': size = LineSize::DoubleWidth; break;
            case '8': alignment_test(); return;
            default: return;
        }
        cur_line().size = size;
        if (size != LineSize::Single) {
            // The right half of the line is gone.
            int half = s_.cols / 2;
            erase_cells(s_.cur_row, half, s_.cols);
            s_.cur_col = std::min(s_.cur_col, std::max(half - 1, 0));
        }
        mark(s_.cur_row);
        return;
    }
    if (inter_ >= '(' && inter_ <= '+') {
        // Designate G0..G3: DEC graphics, UK, otherwise ASCII.
        s_.charsets[inter_ - '('] = (f == '0' || f == 'A') ? static_cast<uint8_t>(f) : 'B';
    }
}

void Emulator::csi_dispatch(uint32_t f) {
    if (prefix_ == '?') {
        if (inter_ == 0 && (f == 'h' || f == 'l'))
            set_mode(true, f == 'h');
        else if (inter_ == 0 && f == 'J')
            erase_display(static_cast<int>(param(0, 0)));
        else if (inter_ == 0 && f == 'K')
            erase_line(static_cast<int>(param(0, 0)));
        return;
    }
    if (prefix_) return;  // '>' '=' '<': queries and settings with nothing to draw
    if (inter_ == '!' && f == 'p') {
        soft_reset();
        return;
    }
    if (inter_) return;
    int n = static_cast<int>(param(0, 1));
    switch (f) {
        case '@': insert_chars(n); break;
        case 'A': cursor_up(n); break;
        case 'B':
        case 'e': cursor_down(n); break;
        case 'C':
        case 'a': move_to(s_.cur_row, s_.cur_col + n); break;
        case 'D': move_to(s_.cur_row, s_.cur_col - n); break;
        case 'E':
            cursor_down(n);
            carriage_return();
            break;
        case 'F':
            cursor_up(n);
            carriage_return();
            break;
        case 'G':
        case '`': move_to(s_.cur_row, n - 1); break;
        case 'H':
        case 'f': cup(static_cast<int>(param(0, 1)) - 1, static_cast<int>(param(1, 1)) - 1); break;
        case 'I': tab(n); break;
        case 'J': erase_display(static_cast<int>(param(0, 0))); break;
        case 'K': erase_line(static_cast<int>(param(0, 0))); break;
        case 'L': insert_lines(n); break;
        case 'M': delete_lines(n); break;
        case 'P': delete_chars(n); break;
        case 'S': scroll_region(n); break;
        case 'T':
            if (nparams_ <= 1) scroll_region(-n);  // with more, it is a mouse tracking request
            break;
        case 'X': erase_cells(s_.cur_row, s_.cur_col, std::min(s_.cur_col + n, s_.cols)); break;
        case 'Z': tab(-n); break;
        case 'b': repeat(n); break;
        case 'd': cup(n - 1, s_.cur_col); break;
        case 'g':
            if (param(0, 0) == 0)
                s_.tabs[static_cast<size_t>(s_.cur_col)] = 0;
            else if (param(0, 0) == 3)
                std::fill(s_.tabs.begin(), s_.tabs.end(), 0);
            break;
        case 'h':
        case 'l': set_mode(false, f == 'h'); break;
        case 'm': sgr(); break;
        case 'r':
            set_region(static_cast<int>(param(0, 1)), static_cast<int>(param(1, static_cast<uint32_t>(s_.rows))));
            break;
        case 's': save_cursor(); break;
        case 'u': restore_cursor(); break;
        default: break;  // reports (n, c, t, x), cursor style, ...: nothing to draw, nothing answered
    }
}

void Emulator::set_mode(bool priv, bool on) {
    for (size_t i = 0; i < std::max<size_t>(nparams_, 1); i++) {
        uint32_t m = i < nparams_ ? params_[i] : 0;
        if (!priv) {
            if (m == 4)
                s_.insert = on;
            else if (m == 20)
                s_.newline_mode = on;
            continue;
        }
        switch (m) {
            case 5:
                if (s_.reverse_screen != on) mark_all();
                s_.reverse_screen = on;
                break;
            case 6:
                s_.origin = on;
                cup(0, 0);
                break;
            case 7:
                s_.autowrap = on;
                if (!on) s_.pending_wrap = false;
                break;
            case 25: s_.cursor_visible = on; break;
            case 47: switch_screen(on); break;
            case 1047:
                if (!on && s_.alt) s_.grids[1].reset(s_.rows, s_.cols, s_.pen);
                switch_screen(on);
                break;
            case 1048:
                if (on)
                    save_cursor();
                else
                    restore_cursor();
                break;
            case 1049:
                // As xterm: the cursor is saved and restored even when the
                // screen does not change (each screen keeps its own).
                if (on) {
                    save_cursor();
                    switch_screen(true);
                    s_.grids[1].reset(s_.rows, s_.cols, s_.pen);
                    mark_all();
                } else {
                    switch_screen(false);
                    restore_cursor();
                }
                break;
            default: break;  // keyboard, mouse, paste and reporting modes: nothing on screen
        }
    }
}

void Emulator::sgr() {
    Pen& p = s_.pen;
    if (nparams_ == 0) {
        p = Pen{};
        return;
    }
    for (size_t i = 0; i < nparams_; i++) {
        uint32_t v = params_[i];
        // Sub-parameters belong to the parameter before them; skip the ones
        // that are not understood there.
        if (sub_[i]) continue;
        bool has_sub = i + 1 < nparams_ && sub_[i + 1];
        switch (v) {
            case 0: p = Pen{}; break;
            case 1: p.attrs |= kBold; break;
            case 2: p.attrs |= kDim; break;
            case 3: p.attrs |= kItalic; break;
            case 4:
                p.attrs &= static_cast<uint16_t>(~(kUnderline | kDoubleUnderline));
                if (has_sub && params_[i + 1] == 2)
                    p.attrs |= kDoubleUnderline;
                else if (!has_sub || params_[i + 1] != 0)
                    p.attrs |= kUnderline;  // single; curly, dotted, dashed drawn as single
                break;
            case 5:
            case 6: p.attrs |= kBlink; break;
            case 7: p.attrs |= kReverse; break;
            case 8: p.attrs |= kInvisible; break;
            case 9: p.attrs |= kStrike; break;
            case 21: p.attrs = static_cast<uint16_t>((p.attrs & ~kUnderline) | kDoubleUnderline); break;
            case 22: p.attrs &= static_cast<uint16_t>(~(kBold | kDim)); break;
            case 23: p.attrs &= static_cast<uint16_t>(~kItalic); break;
            case 24: p.attrs &= static_cast<uint16_t>(~(kUnderline | kDoubleUnderline)); break;
            case 25: p.attrs &= static_cast<uint16_t>(~kBlink); break;
            case 27: p.attrs &= static_cast<uint16_t>(~kReverse); break;
            case 28: p.attrs &= static_cast<uint16_t>(~kInvisible); break;
            case 29: p.attrs &= static_cast<uint16_t>(~kStrike); break;
            case 38: sgr_color(i, p.fg); break;
            case 39: p.fg = 0; break;
            case 48: sgr_color(i, p.bg); break;
            case 49: p.bg = 0; break;
            case 53: p.attrs |= kOverline; break;
            case 55: p.attrs &= static_cast<uint16_t>(~kOverline); break;
            case 58: {  // underline colour: not kept, but its parameters are consumed
                uint32_t ignored = 0;
                sgr_color(i, ignored);
                break;
            }
            default:
                if (v >= 30 && v <= 37)
                    p.fg = kIndexed | (v - 30);
                else if (v >= 40 && v <= 47)
                    p.bg = kIndexed | (v - 40);
                else if (v >= 90 && v <= 97)
                    p.fg = kIndexed | (v - 90 + 8);
                else if (v >= 100 && v <= 107)
                    p.bg = kIndexed | (v - 100 + 8);
                break;
        }
    }
}

// 38/48 in both forms: "38;5;N" / "38;2;R;G;B" and "38:5:N" / "38:2:[CS]:R:G:B".
void Emulator::sgr_color(size_t& i, uint32_t& color) {
    if (i + 1 >= nparams_) return;
    bool colon = sub_[i + 1];
    uint32_t kind = params_[i + 1];
    if (colon) {
        size_t end = i + 1;
        while (end + 1 < nparams_ && sub_[end + 1]) end++;
        size_t n = end - (i + 1);  // values after the kind
        if (kind == 5 && n >= 1)
            color = kIndexed | std::min<uint32_t>(params_[i + 2], 255);
        else if (kind == 2 && n >= 3) {
            size_t first = n >= 4 ? i + 3 : i + 2;  // with or without the colour space id
            color = kRgb | (std::min<uint32_t>(params_[first], 255) << 16) |
                    (std::min<uint32_t>(params_[first + 1], 255) << 8) | std::min<uint32_t>(params_[first + 2], 255);
        }
        i = end;
        return;
    }
    if (kind == 5 && i + 2 < nparams_) {
        color = kIndexed | std::min<uint32_t>(params_[i + 2], 255);
        i += 2;
    } else if (kind == 2 && i + 4 < nparams_) {
        color = kRgb | (std::min<uint32_t>(params_[i + 2], 255) << 16) |
                (std::min<uint32_t>(params_[i + 3], 255) << 8) | std::min<uint32_t>(params_[i + 4], 255);
        i += 4;
    } else {
        i = nparams_;  // malformed: the rest of the sequence is not trusted
    }
}

void Emulator::print(uint32_t cp) {
    if (cp < 0x80) {
        uint8_t set = s_.charsets[s_.gl & 3];
        if (set == '0' && cp >= 0x5f && cp <= 0x7e)
            cp = kDecGraphics[cp - 0x5f];
        else if (set == 'A' && cp == '#')
            cp = 0xa3;
    }
    int width = cp < 0x300 ? 1 : char_width(cp);
    if (width == 0) {
        combine(cp);
        return;
    }
    if (s_.pending_wrap) wrap();
    int limit = line_cols(s_.cur_row);
    if (width == 2 && s_.cur_col + 1 >= limit) {
        if (s_.autowrap && limit >= 2) {
            wrap();
            limit = line_cols(s_.cur_row);
        } else {
            s_.cur_col = std::max(limit - 2, 0);
        }
        if (limit < 2) return;  // no room for it at all
    }
    if (s_.insert) insert_chars(width);
    Line& l = cur_line();
    int col = s_.cur_col;
    fix_wide(l, col);
    if (width == 2) fix_wide(l, col + 1);
    Cell& c = l.cells[static_cast<size_t>(col)];
    c = Cell{cp, s_.pen.fg, s_.pen.bg, s_.pen.attrs, static_cast<uint8_t>(width), 0};
    if (width == 2) l.cells[static_cast<size_t>(col) + 1] = Cell{0, s_.pen.fg, s_.pen.bg, s_.pen.attrs, 0, 0};
    s_.last_char = cp;
    mark(s_.cur_row);
    if (col + width >= limit) {
        s_.cur_col = limit - 1;
        s_.pending_wrap = s_.autowrap;
    } else {
        s_.cur_col = col + width;
    }
}

void Emulator::print_ascii(const char* p, size_t n) {
    if (s_.charsets[s_.gl & 3] != 'B' || s_.insert || !s_.autowrap) {
        for (size_t i = 0; i < n; i++) print(static_cast<unsigned char>(p[i]));
        return;
    }
    const Pen pen = s_.pen;
    while (n) {
        if (s_.pending_wrap) wrap();
        Line& l = cur_line();
        int limit = line_cols(s_.cur_row);
        if (s_.cur_col >= limit) s_.cur_col = limit - 1;
        int col = s_.cur_col;
        size_t k = std::min(n, static_cast<size_t>(limit - col));
        fix_wide(l, col);
        fix_wide(l, col + static_cast<int>(k) - 1);
        store_cells(l.cells.data() + col, p, k, pen);
        s_.last_char = static_cast<unsigned char>(p[k - 1]);
        mark(s_.cur_row);
        col += static_cast<int>(k);
        if (col >= limit) {
            s_.cur_col = limit - 1;
            s_.pending_wrap = true;
        } else {
            s_.cur_col = col;
        }
        p += k;
        n -= k;
    }
}

// A zero-width character joins the character before the cursor.
void Emulator::combine(uint32_t mark_cp) {
    // The character before the cursor; the cursor's own when it could not
    // advance (a wrap pending, or the last column without autowrap).
    const Cell& here = cur_line().cells[static_cast<size_t>(s_.cur_col)];
    bool stuck = !s_.autowrap && s_.cur_col == line_cols(s_.cur_row) - 1 && (here.cp || (here.attrs & kCombined));
    int col = s_.pending_wrap || stuck ? s_.cur_col : s_.cur_col - 1;
    if (col < 0) return;  // nothing to join: dropped, as xterm does
    Line& l = cur_line();
    Cell* c = &l.cells[static_cast<size_t>(col)];
    if (c->width == 0 && col > 0) c = &l.cells[static_cast<size_t>(col - 1)];
    if (c->cp == 0 && !(c->attrs & kCombined)) return;
    std::u32string g;
    if (c->attrs & kCombined)
        g = s_.graphemes[c->cp];
    else
        g.push_back(c->cp);
    if (g.size() > kMaxMarks) return;
    g.push_back(mark_cp);
    uint32_t id = s_.intern(g);
    if (id == UINT32_MAX) return;  // pool full: the mark is dropped, the base stays
    c->cp = id;
    c->attrs |= kCombined;
    mark(s_.cur_row);
}

void Emulator::repeat(int n) {
    if (!s_.last_char) return;
    // Bounded: a hostile count cannot make one sequence cost more than a screenful.
    n = std::min(n, s_.rows * s_.cols);
    for (int i = 0; i < n; i++) print(s_.last_char);
}

}  // namespace tlog::play::vt
