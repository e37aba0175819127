#include "snapshot_codec.h"

#include <algorithm>

namespace tlog::play::vt {

namespace {

void put(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>(v | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

void put_pen(std::string& out, const Pen& p) {
    put(out, p.fg);
    put(out, p.bg);
    put(out, p.attrs);
}

enum Flags : unsigned {
    kAlt = 1,
    kInsert = 2,
    kAutowrap = 4,
    kOrigin = 8,
    kNewline = 16,
    kCursorVisible = 32,
    kReverseScreen = 64,
    kPendingWrap = 128,
};

enum CellKind : uint32_t { kNarrow = 0, kWide = 1, kTail = 2, kGrapheme = 3 };

class Reader {
public:
    explicit Reader(std::string_view s) : s_(s) {}
    bool ok() const { return ok_; }
    bool done() const { return s_.empty(); }

    uint64_t get(uint64_t max) {
        uint64_t v = 0;
        for (int shift = 0; ok_; shift += 7) {
            if (s_.empty() || shift > 63) return fail();
            auto b = static_cast<unsigned char>(s_.front());
            s_.remove_prefix(1);
            v |= uint64_t(b & 0x7f) << shift;
            if (!(b & 0x80)) break;
        }
        if (v > max) return fail();
        return v;
    }
    int get_int(int max) { return static_cast<int>(get(static_cast<uint64_t>(max))); }
    uint32_t color() {
        auto c = static_cast<uint32_t>(get(kRgb | 0xffffff));
        if (c && c < kIndexed) fail();
        if ((c & 0xff000000) == kIndexed && (c & 0xffffff) > 255) fail();
        return c;
    }
    Pen pen() {
        Pen p;
        p.fg = color();
        p.bg = color();
        p.attrs = static_cast<uint16_t>(get(kAttrMask));
        return p;
    }
    uint8_t charset() {
        auto c = static_cast<uint8_t>(get(0x7f));
        if (c != 'B' && c != '0' && c != 'A') fail();
        return c;
    }
    uint64_t fail() {
        ok_ = false;
        s_ = {};
        return 0;
    }

private:
    std::string_view s_;
    bool ok_ = true;
};

void put_saved(std::string& out, const SavedCursor& c) {
    put(out, static_cast<uint64_t>(c.row));
    put(out, static_cast<uint64_t>(c.col));
    put(out, (c.pending_wrap ? 1u : 0u) | (c.origin ? 2u : 0u) | (c.autowrap ? 4u : 0u));
    put_pen(out, c.pen);
    for (uint8_t cs : c.charsets) put(out, cs);
    put(out, c.gl);
}

void get_saved(Reader& r, const ScreenState& s, SavedCursor& c) {
    c.row = r.get_int(s.rows - 1);
    c.col = r.get_int(s.cols - 1);
    unsigned f = static_cast<unsigned>(r.get(7));
    c.pending_wrap = f & 1;
    c.origin = f & 2;
    c.autowrap = f & 4;
    c.pen = r.pen();
    for (uint8_t& cs : c.charsets) cs = r.charset();
    c.gl = static_cast<uint8_t>(r.get(3));
}

void put_line(std::string& out, const ScreenState& s, const Line& l) {
    put(out, static_cast<unsigned>(l.size) | (l.wrapped ? 4u : 0u));
    size_t n = l.cells.size();
    while (n && l.cells[n - 1] == Cell{}) n--;
    put(out, n);
    for (size_t i = 0; i < n;) {
        Pen pen = l.cells[i].pen();
        size_t j = i;
        while (j < n && l.cells[j].pen() == pen) j++;
        put(out, j - i);
        put_pen(out, pen);
        for (; i < j; i++) {
            const Cell& c = l.cells[i];
            if (c.attrs & kCombined) {
                const std::u32string& g = s.graphemes[c.cp];
                put(out, (uint64_t(g.size()) << 2) | kGrapheme);
                for (char32_t cp : g) put(out, cp);
                put(out, c.width);
            } else {
                put(out, (uint64_t(c.cp) << 2) | (c.width == 2 ? kWide : c.width == 0 ? kTail : kNarrow));
            }
        }
    }
}

bool get_line(Reader& r, ScreenState& s, Line& l) {
    unsigned f = static_cast<unsigned>(r.get(7));
    l.size = static_cast<LineSize>(f & 3);
    l.wrapped = f & 4;
    size_t n = r.get(static_cast<uint64_t>(s.cols));
    l.cells.assign(static_cast<size_t>(s.cols), Cell{});
    for (size_t i = 0; i < n && r.ok();) {
        size_t run = r.get(n - i);
        if (run == 0) return false;
        Pen pen = r.pen();
        for (size_t end = i + run; i < end && r.ok(); i++) {
            Cell& c = l.cells[i];
            c.fg = pen.fg;
            c.bg = pen.bg;
            c.attrs = pen.attrs;
            uint64_t v = r.get((uint64_t(0x10ffff) << 2) | 3);
            auto kind = static_cast<uint32_t>(v & 3);
            if (kind == kGrapheme) {
                size_t count = v >> 2;
                if (count < 2 || count > kMaxMarks + 1) return false;
                std::u32string g;
                for (size_t k = 0; k < count; k++) g.push_back(static_cast<char32_t>(r.get(0x10ffff)));
                c.width = static_cast<uint8_t>(r.get(2));
                if (c.width == 0) return false;
                uint32_t id = s.intern(g);
                if (id == UINT32_MAX) return false;
                c.cp = id;
                c.attrs |= kCombined;
            } else {
                c.cp = static_cast<uint32_t>(v >> 2);
                c.width = kind == kWide ? 2 : kind == kTail ? 0 : 1;
                if (kind == kTail && c.cp) return false;
            }
        }
    }
    // Wide characters are whole: a lead is followed by its tail, a tail
    // follows a lead (the emulator relies on it when overwriting).
    for (size_t i = 0; i < l.cells.size(); i++) {
        bool lead = l.cells[i].width == 2, tail = l.cells[i].width == 0;
        if (lead && (i + 1 >= l.cells.size() || l.cells[i + 1].width != 0)) return false;
        if (tail && (i == 0 || l.cells[i - 1].width != 2)) return false;
    }
    return r.ok();
}

}  // namespace

std::string encode_state(const ScreenState& s) {
    std::string out;
    out.reserve(2048);
    put(out, static_cast<uint64_t>(s.rows));
    put(out, static_cast<uint64_t>(s.cols));
    put(out, (s.alt ? kAlt : 0u) | (s.insert ? kInsert : 0u) | (s.autowrap ? kAutowrap : 0u) |
                 (s.origin ? kOrigin : 0u) | (s.newline_mode ? kNewline : 0u) |
                 (s.cursor_visible ? kCursorVisible : 0u) | (s.reverse_screen ? kReverseScreen : 0u) |
                 (s.pending_wrap ? kPendingWrap : 0u));
    put(out, static_cast<uint64_t>(s.cur_row));
    put(out, static_cast<uint64_t>(s.cur_col));
    put_pen(out, s.pen);
    put(out, static_cast<uint64_t>(s.top));
    put(out, static_cast<uint64_t>(s.bottom));
    for (uint8_t cs : s.charsets) put(out, cs);
    put(out, s.gl);
    std::string stops;
    size_t count = 0;
    for (size_t c = 0; c < s.tabs.size(); c++)
        if (s.tabs[c]) {
            put(stops, c);
            count++;
        }
    put(out, count);
    out += stops;
    for (const SavedCursor& c : s.saved) put_saved(out, c);
    put(out, s.last_char);
    for (const Grid& g : s.grids)
        for (int r = 0; r < s.rows; r++) put_line(out, s, g.line(r));
    return out;
}

bool decode_state(std::string_view in, ScreenState& out) {
    Reader r(in);
    int rows = r.get_int(kMaxRows), cols = r.get_int(kMaxCols);
    if (!r.ok() || rows < 1 || cols < 2) return false;
    ScreenState s;
    s.reset(rows, cols);
    unsigned f = static_cast<unsigned>(r.get(255));
    s.alt = f & kAlt;
    s.insert = f & kInsert;
    s.autowrap = f & kAutowrap;
    s.origin = f & kOrigin;
    s.newline_mode = f & kNewline;
    s.cursor_visible = f & kCursorVisible;
    s.reverse_screen = f & kReverseScreen;
    s.pending_wrap = f & kPendingWrap;
    s.cur_row = r.get_int(rows - 1);
    s.cur_col = r.get_int(cols - 1);
    s.pen = r.pen();
    s.top = r.get_int(rows - 1);
    s.bottom = r.get_int(rows);
    if (s.top >= s.bottom) return false;
    for (uint8_t& cs : s.charsets) cs = r.charset();
    s.gl = static_cast<uint8_t>(r.get(3));
    size_t stops = r.get(static_cast<uint64_t>(cols));
    std::fill(s.tabs.begin(), s.tabs.end(), 0);
    for (size_t i = 0; i < stops && r.ok(); i++) s.tabs[r.get(static_cast<uint64_t>(cols - 1))] = 1;
    for (SavedCursor& c : s.saved) get_saved(r, s, c);
    s.last_char = static_cast<uint32_t>(r.get(0x10ffff));
    for (Grid& g : s.grids)
        for (int row = 0; row < rows && r.ok(); row++)
            if (!get_line(r, s, g.line(row))) return false;
    if (!r.ok() || !r.done()) return false;
    out = std::move(s);
    return true;
}

}  // namespace tlog::play::vt
