#include "tlog/play/term_model.h"

#include <vterm.h>

#include <algorithm>
#include <cstring>

#include "tlog/utf8.h"

namespace tlog::play {

namespace {

// libvterm 0.1.4 crashes on very large single writes; recordings are fed in
// pieces no larger than this.
constexpr size_t kFeedChunk = 16384;

void discard_output(const char*, size_t, void*) {}

void append_color(std::string& s, const VTermColor& c, bool fg) {
    if (fg ? VTERM_COLOR_IS_DEFAULT_FG(&c) : VTERM_COLOR_IS_DEFAULT_BG(&c)) return;
    if (VTERM_COLOR_IS_INDEXED(&c)) {
        unsigned idx = c.indexed.idx;
        if (idx < 8) s += ";" + std::to_string((fg ? 30 : 40) + idx);
        else if (idx < 16) s += ";" + std::to_string((fg ? 90 : 100) + idx - 8);
        else s += std::string(fg ? ";38;5;" : ";48;5;") + std::to_string(idx);
    } else {
        s += std::string(fg ? ";38;2;" : ";48;2;") + std::to_string(c.rgb.red) + ";" + std::to_string(c.rgb.green) +
             ";" + std::to_string(c.rgb.blue);
    }
}

struct Pen {
    bool bold = false, italic = false, blink = false, reverse = false, strike = false;
    int underline = 0;
    VTermColor fg{}, bg{};

    static bool same_color(const VTermColor& a, const VTermColor& b) {
        if (a.type != b.type) return false;
        if (VTERM_COLOR_IS_INDEXED(&a)) return a.indexed.idx == b.indexed.idx;
        return a.rgb.red == b.rgb.red && a.rgb.green == b.rgb.green && a.rgb.blue == b.rgb.blue;
    }
    bool operator==(const Pen& o) const {
        return bold == o.bold && italic == o.italic && blink == o.blink && reverse == o.reverse && strike == o.strike &&
               underline == o.underline && same_color(fg, o.fg) && same_color(bg, o.bg);
    }
    static Pen of(const VTermScreenCell& c) {
        Pen p;
        p.bold = c.attrs.bold;
        p.italic = c.attrs.italic;
        p.blink = c.attrs.blink;
        p.reverse = c.attrs.reverse;
        p.strike = c.attrs.strike;
        p.underline = c.attrs.underline;
        p.fg = c.fg;
        p.bg = c.bg;
        return p;
    }
    bool default_bg() const { return VTERM_COLOR_IS_DEFAULT_BG(&bg) && !reverse; }
    std::string sgr() const {
        std::string s = "\x1b[0";
        if (bold) s += ";1";
        if (italic) s += ";3";
        if (underline) s += ";4";
        if (blink) s += ";5";
        if (reverse) s += ";7";
        if (strike) s += ";9";
        append_color(s, fg, true);
        append_color(s, bg, false);
        s += "m";
        return s;
    }
};

std::string cup(int row, int col) { return "\x1b[" + std::to_string(row + 1) + ";" + std::to_string(col + 1) + "H"; }

// A code point safe to hand to a real terminal: never a control character.
uint32_t printable(uint32_t cp) {
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return '?';
    return cp;
}

} // namespace

struct ModelCallbacks {
    static int settermprop(VTermProp prop, VTermValue* val, void* user) {
        auto* m = static_cast<TermModel*>(user);
        if (prop == VTERM_PROP_CURSORVISIBLE) m->cursor_visible_ = val->boolean;
        else if (prop == VTERM_PROP_ALTSCREEN) {
            m->alt_ = val->boolean;
            if (!m->alt_) m->primary_.clear();
        }
        return 1;
    }
    static int damage(VTermRect r, void* user) {
        static_cast<TermModel*>(user)->mark_dirty(r.start_row, r.end_row);
        return 1;
    }
    static int moverect(VTermRect dest, VTermRect, void* user) {
        static_cast<TermModel*>(user)->mark_dirty(dest.start_row, dest.end_row);
        return 1;
    }
    static const VTermScreenCallbacks plain;
    static const VTermScreenCallbacks tracking;
};

const VTermScreenCallbacks ModelCallbacks::plain = {nullptr, nullptr, nullptr, &ModelCallbacks::settermprop,
                                                    nullptr, nullptr, nullptr, nullptr};
const VTermScreenCallbacks ModelCallbacks::tracking = {&ModelCallbacks::damage, &ModelCallbacks::moverect, nullptr,
                                                       &ModelCallbacks::settermprop, nullptr, nullptr, nullptr, nullptr};

void TermModel::VTermFree::operator()(VTerm* vt) const { vterm_free(vt); }

// libvterm 0.1.4 writes out of bounds for a wide character on a screen one
// column wide: the model is never narrower than two.
constexpr uint16_t kMinCols = 2;

TermModel::TermModel(uint16_t rows, uint16_t cols)
    : rows_(rows ? rows : 1), cols_(std::max(cols, kMinCols)) {
    setup();
}
TermModel::~TermModel() = default;

void TermModel::setup() {
    vt_.reset(vterm_new(rows_, cols_));
    if (!vt_) throw std::bad_alloc();
    vterm_set_utf8(vt_.get(), 1);
    // Answers to the recording's queries (DSR, DA, DECRQSS) go nowhere.
    vterm_output_set_callback(vt_.get(), &discard_output, nullptr);
    VTermScreen* screen = vterm_obtain_screen(vt_.get());
    vterm_screen_set_callbacks(screen, tracking_ ? &ModelCallbacks::tracking : &ModelCallbacks::plain, this);
    vterm_screen_enable_altscreen(screen, 1);
    vterm_screen_reset(screen, 1);
    // libvterm 0.1.4 loops forever on REP ("CSI b") before any character
    // was printed: print one blank and erase it, leaving no trace.
    feed_vterm(" \x1b[H\x1b[K");
    tracker_.reset();
    c1_carry_ = false;
    cursor_visible_ = true;
    alt_ = false;
    primary_.clear();
    dirty_.assign(rows_, true);
    any_dirty_ = true;
}

void TermModel::reset(uint16_t rows, uint16_t cols) {
    rows_ = rows ? rows : 1;
    cols_ = std::max(cols, kMinCols);
    setup();
}

void TermModel::resize(uint16_t rows, uint16_t cols) {
    // tlog-rec without a terminal size records "=0x0": keep the current size.
    if (!rows || !cols) return;
    cols = std::max(cols, kMinCols);
    if (rows == rows_ && cols == cols_) return;
    // libvterm 0.1.4's own resize leaves state that insert mode later
    // writes past (heap corruption from a hostile recording: see
    // doc/terminal-model.md). So a resize builds a new libvterm of the new
    // size and redraws the screen into it from the cells: the top rows are
    // kept, or the bottom ones when the cursor would fall off.
    int offset = 0;
    int cur_row = cursor_row(), cur_col = cursor_col();
    if (cur_row >= rows) offset = cur_row - rows + 1;
    Snapshot s = snapshot();
    std::string cells = "\x1b[0m";
    for (int r = offset; r < rows_ && r - offset < rows; r++) {
        std::string row = draw_cells(true, cols, r);
        if (row.empty()) continue;
        cells += cup(r - offset, 0);
        cells += row;
    }
    s.cells = std::move(cells);
    s.rows = rows;
    s.cols = cols;
    s.cur_row = static_cast<uint16_t>(std::min(cur_row - offset, rows - 1));
    s.cur_col = static_cast<uint16_t>(std::min(cur_col, cols - 1));
    // As xterm does on a resize: the scroll region is the whole screen again.
    s.modes.top = s.modes.bottom = 0;
    s.modes.origin = false;
    if (s.alt) {
        s.primary_row = static_cast<uint16_t>(std::min<int>(s.primary_row, rows - 1));
        s.primary_col = static_cast<uint16_t>(std::min<int>(s.primary_col, cols - 1));
    }
    uint64_t fed = fed_;
    restore(s);
    fed_ = fed;
}

void TermModel::feed_vterm(std::string_view bytes) {
    while (!bytes.empty()) {
        size_t n = std::min(bytes.size(), kFeedChunk);
        vterm_input_write(vt_.get(), bytes.data(), n);
        bytes.remove_prefix(n);
    }
}

// C1 controls written as UTF-8 (U+0080..U+009F, bytes C2 80..C2 9F) reach
// libvterm 0.1.4 as glyphs of width -1, and in insert mode that crashes it
// (a hostile recording could kill the player). A terminal that honours C1
// in UTF-8 reads them as controls: rewrite each as its 7-bit form, ESC and
// the byte less 0x40 (U+009B becomes "ESC ["), before anything sees them.
std::string_view TermModel::sanitize(std::string_view bytes) {
    if (!c1_carry_ && std::memchr(bytes.data(), 0xc2, bytes.size()) == nullptr) return bytes;
    clean_.clear();
    size_t i = 0;
    if (c1_carry_) {
        c1_carry_ = false;
        if (!bytes.empty() && static_cast<unsigned char>(bytes[0]) >= 0x80 && static_cast<unsigned char>(bytes[0]) < 0xa0) {
            clean_ += '\x1b';
            clean_ += static_cast<char>(static_cast<unsigned char>(bytes[0]) - 0x40);
            i = 1;
        } else {
            clean_ += '\xc2';
        }
    }
    for (; i < bytes.size(); i++) {
        unsigned char c = static_cast<unsigned char>(bytes[i]);
        if (c != 0xc2) {
            clean_ += static_cast<char>(c);
            continue;
        }
        if (i + 1 == bytes.size()) {
            c1_carry_ = true;  // the rest of the character comes with the next write
            break;
        }
        unsigned char n = static_cast<unsigned char>(bytes[i + 1]);
        if (n >= 0x80 && n < 0xa0) {
            clean_ += '\x1b';
            clean_ += static_cast<char>(n - 0x40);
            i++;
        } else {
            clean_ += '\xc2';
        }
    }
    return clean_;
}

void TermModel::feed(std::string_view raw) {
    fed_ += raw.size();
    std::string_view bytes = sanitize(raw);
    while (!bytes.empty()) {
        VtTracker::Mark mark;
        size_t n = tracker_.scan(bytes, mark);
        if (mark == VtTracker::Mark::AltScreenEnter && !alt_) {
            // Save the primary screen just before the final byte switches
            // buffers: libvterm keeps it but offers no way to read it.
            feed_vterm(bytes.substr(0, n - 1));
            primary_ = all_cells();
            primary_row_ = static_cast<uint16_t>(cursor_row());
            primary_col_ = static_cast<uint16_t>(cursor_col());
            feed_vterm(bytes.substr(n - 1, 1));
        } else if (mark == VtTracker::Mark::Rep) {
            // End the pending CSI with a final libvterm ignores, then repeat
            // the character left of the cursor ourselves.
            feed_vterm(bytes.substr(0, n - 1));
            feed_vterm("y");
            repeat_last(tracker_.rep_count());
        } else if (mark == VtTracker::Mark::Decaln) {
            // libvterm has "ESC #" pending: end it with a final it ignores.
            feed_vterm(bytes.substr(0, n - 1));
            feed_vterm("0");
        } else {
            feed_vterm(bytes.substr(0, n));
        }
        bytes.remove_prefix(n);
    }
}

int TermModel::cursor_row() const {
    VTermPos p;
    vterm_state_get_cursorpos(vterm_obtain_state(vt_.get()), &p);
    return p.row;
}

int TermModel::cursor_col() const {
    VTermPos p;
    vterm_state_get_cursorpos(vterm_obtain_state(vt_.get()), &p);
    return p.col;
}

void TermModel::repeat_last(uint32_t count) {
    VTermScreen* screen = vterm_obtain_screen(vt_.get());
    int row = cursor_row(), col = cursor_col();
    VTermScreenCell cell;
    int c = col - 1;
    if (c >= 0 && vterm_screen_get_cell(screen, VTermPos{row, c}, &cell) && cell.chars[0] == static_cast<uint32_t>(-1))
        c--;
    if (c < 0 || !vterm_screen_get_cell(screen, VTermPos{row, c}, &cell) || cell.chars[0] == 0 ||
        cell.chars[0] == static_cast<uint32_t>(-1))
        return;
    std::string glyph;
    for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && cell.chars[i]; i++) utf8::append(glyph, printable(cell.chars[i]));
    // REP does not wrap past the line; a count beyond it fills the line.
    uint32_t room = static_cast<uint32_t>(cols_ - col);
    std::string run;
    for (uint32_t i = 0; i < std::min(count, room); i++) run += glyph;
    feed_vterm(run);
}

std::string TermModel::draw_cells(bool, int max_cols, int row) const {
    VTermScreen* screen = vterm_obtain_screen(vt_.get());
    std::string out;
    int limit = std::min<int>(max_cols, cols_);
    // Blank cells on the default background at the end of the row need not
    // be drawn: a reset screen has them, and the view erases the rest of
    // the line.
    int last = limit;
    VTermScreenCell cell;
    {
        while (last > 0) {
            vterm_screen_get_cell(screen, VTermPos{row, last - 1}, &cell);
            if (cell.chars[0] != 0 || !Pen::of(cell).default_bg()) break;
            last--;
        }
    }
    Pen cur;
    bool have_pen = false;
    for (int col = 0; col < last; col++) {
        vterm_screen_get_cell(screen, VTermPos{row, col}, &cell);
        if (cell.chars[0] == static_cast<uint32_t>(-1)) continue;  // right half of a wide character
        if (cell.width == 2 && col + 1 >= limit) {
            out += ' ';  // a wide character cut by the edge
            continue;
        }
        Pen p = Pen::of(cell);
        if (!have_pen || !(p == cur)) {
            out += p.sgr();
            cur = p;
            have_pen = true;
        }
        if (cell.chars[0] == 0) {
            out += ' ';
            continue;
        }
        for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && cell.chars[i]; i++)
            utf8::append(out, printable(cell.chars[i]));
    }
    if (have_pen) out += "\x1b[0m";
    return out;
}

std::string TermModel::all_cells() const {
    std::string s = "\x1b[0m";
    for (int r = 0; r < rows_; r++) {
        std::string row = draw_cells(true, cols_, r);
        if (row.empty()) continue;
        s += cup(r, 0);
        s += row;
    }
    return s;
}

std::string TermModel::draw_row(int row, int max_cols) const {
    if (row < 0 || row >= rows_) return {};
    return draw_cells(false, max_cols, row);
}

std::string TermModel::row_text(int row) const {
    std::string out;
    if (row < 0 || row >= rows_) return out;
    VTermScreen* screen = vterm_obtain_screen(vt_.get());
    VTermScreenCell cell;
    size_t keep = 0;
    for (int col = 0; col < cols_; col++) {
        vterm_screen_get_cell(screen, VTermPos{row, col}, &cell);
        if (cell.chars[0] == static_cast<uint32_t>(-1)) continue;
        if (cell.chars[0] == 0) {
            out += ' ';
            continue;
        }
        for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && cell.chars[i]; i++) utf8::append(out, printable(cell.chars[i]));
        keep = out.size();
    }
    out.resize(keep);
    // Blanks a program printed are blanks too.
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

std::string TermModel::text() const {
    std::string s;
    for (int r = 0; r < rows_; r++) {
        if (r) s += '\n';
        s += row_text(r);
    }
    return s;
}

Snapshot TermModel::snapshot() const {
    Snapshot s;
    s.rows = rows_;
    s.cols = cols_;
    s.modes = tracker_.modes();
    s.cells = all_cells();
    s.alt = alt_;
    if (alt_) {
        s.primary = primary_;
        s.primary_row = primary_row_;
        s.primary_col = primary_col_;
    }
    s.cur_row = static_cast<uint16_t>(cursor_row());
    s.cur_col = static_cast<uint16_t>(cursor_col());
    s.cur_visible = cursor_visible_;
    VTermState* st = vterm_obtain_state(vt_.get());
    VTermValue v;
    Pen p;
    vterm_state_get_penattr(st, VTERM_ATTR_BOLD, &v);
    p.bold = v.boolean;
    vterm_state_get_penattr(st, VTERM_ATTR_ITALIC, &v);
    p.italic = v.boolean;
    vterm_state_get_penattr(st, VTERM_ATTR_BLINK, &v);
    p.blink = v.boolean;
    vterm_state_get_penattr(st, VTERM_ATTR_REVERSE, &v);
    p.reverse = v.boolean;
    vterm_state_get_penattr(st, VTERM_ATTR_STRIKE, &v);
    p.strike = v.boolean;
    vterm_state_get_penattr(st, VTERM_ATTR_UNDERLINE, &v);
    p.underline = v.number;
    vterm_state_get_penattr(st, VTERM_ATTR_FOREGROUND, &v);
    p.fg = v.color;
    vterm_state_get_penattr(st, VTERM_ATTR_BACKGROUND, &v);
    p.bg = v.color;
    s.pen = p.sgr();
    return s;
}

void TermModel::restore(const Snapshot& s) {
    reset(s.rows, s.cols);
    feed_vterm(s.restore_stream());
    tracker_.set_modes(s.modes);
    alt_ = s.alt;
    if (alt_) {
        primary_ = s.primary;
        primary_row_ = s.primary_row;
        primary_col_ = s.primary_col;
    }
    cursor_visible_ = s.cur_visible;
    dirty_.assign(rows_, true);
    any_dirty_ = true;
}

void TermModel::track_dirty(bool on) {
    if (on == tracking_) return;
    tracking_ = on;
    vterm_screen_set_callbacks(vterm_obtain_screen(vt_.get()), on ? &ModelCallbacks::tracking : &ModelCallbacks::plain,
                               this);
}

void TermModel::mark_dirty(int start_row, int end_row) {
    start_row = std::max(start_row, 0);
    end_row = std::min<int>(end_row, rows_);
    for (int r = start_row; r < end_row; r++) dirty_[r] = true;
    if (start_row < end_row) any_dirty_ = true;
}

void TermModel::clear_dirty() {
    std::fill(dirty_.begin(), dirty_.end(), false);
    any_dirty_ = false;
}

} // namespace tlog::play
