// TermModel: the public face of the emulator (emulator.h), its rendering
// to text and to drawing sequences, and its snapshots.
#include "tlog/play/term_model.h"

#include <algorithm>
#include <stdexcept>

#include "emulator.h"
#include "snapshot_codec.h"
#include "tlog/utf8.h"

namespace tlog::play {

using vt::Cell;

namespace {

// Never narrower than this: a wide character must fit somewhere.
constexpr uint16_t kMinCols = 2;

int clamp_rows(uint16_t rows) { return std::clamp<int>(rows, 1, vt::kMaxRows); }
int clamp_cols(uint16_t cols) { return std::clamp<int>(cols, kMinCols, vt::kMaxCols); }

// A code point safe to hand to a real terminal: never a control character.
uint32_t printable(uint32_t cp) {
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return '?';
    return cp;
}

void append_cell(std::string& out, const vt::ScreenState& s, const Cell& c) {
    if (c.attrs & vt::kCombined) {
        for (char32_t cp : s.graphemes[c.cp]) utf8::append(out, printable(cp));
    } else if (c.cp == 0) {
        out += ' ';
    } else if (c.cp < 0x80) {
        out += static_cast<char>(printable(c.cp));
    } else {
        utf8::append(out, printable(c.cp));
    }
}

void append_color(std::string& s, uint32_t c, bool fg) {
    if (c == 0) return;
    uint32_t v = c & 0xffffff;
    if ((c & 0xff000000) == vt::kIndexed) {
        if (v < 8)
            s += ";" + std::to_string((fg ? 30 : 40) + v);
        else if (v < 16)
            s += ";" + std::to_string((fg ? 90 : 100) + v - 8);
        else
            s += std::string(fg ? ";38;5;" : ";48;5;") + std::to_string(v);
    } else {
        s += std::string(fg ? ";38;2;" : ";48;2;") + std::to_string(v >> 16) + ";" + std::to_string((v >> 8) & 0xff) +
             ";" + std::to_string(v & 0xff);
    }
}

std::string sgr(const vt::Pen& p) {
    static constexpr struct {
        uint16_t attr;
        const char* code;
    } kCodes[] = {{vt::kBold, ";1"},
                  {vt::kDim, ";2"},
                  {vt::kItalic, ";3"},
                  {vt::kUnderline, ";4"},
                  {vt::kDoubleUnderline, ";21"},
                  {vt::kBlink, ";5"},
                  {vt::kReverse, ";7"},
                  {vt::kInvisible, ";8"},
                  {vt::kStrike, ";9"},
                  {vt::kOverline, ";53"}};
    std::string s = "\x1b[0";
    for (const auto& c : kCodes)
        if (p.attrs & c.attr) s += c.code;
    append_color(s, p.fg, true);
    append_color(s, p.bg, false);
    s += "m";
    return s;
}

// Cells a real terminal shows without being drawn: the view erases the
// rest of a row, so trailing ones on the default background are left out.
bool invisible_blank(const Cell& c) {
    return (c.cp == 0 || c.cp == ' ') &&
           !(c.attrs &
             (vt::kCombined | vt::kReverse | vt::kUnderline | vt::kDoubleUnderline | vt::kStrike | vt::kOverline)) &&
           c.bg == 0;
}

}  // namespace

TermModel::TermModel(uint16_t rows, uint16_t cols)
    : emu_(std::make_unique<vt::Emulator>(clamp_rows(rows), clamp_cols(cols))) {}
TermModel::~TermModel() = default;

void TermModel::feed(std::string_view bytes) {
    fed_ += bytes.size();
    emu_->feed(bytes);
}

void TermModel::resize(uint16_t rows, uint16_t cols) {
    if (!rows || !cols) return;
    emu_->resize(clamp_rows(rows), clamp_cols(cols));
}

void TermModel::reset(uint16_t rows, uint16_t cols) { emu_->reset(clamp_rows(rows), clamp_cols(cols)); }

uint16_t TermModel::rows() const { return static_cast<uint16_t>(emu_->state().rows); }
uint16_t TermModel::cols() const { return static_cast<uint16_t>(emu_->state().cols); }
int TermModel::cursor_row() const { return emu_->state().cur_row; }
int TermModel::cursor_col() const { return emu_->state().cur_col; }
bool TermModel::cursor_visible() const { return emu_->state().cursor_visible; }
bool TermModel::alt_screen() const { return emu_->state().alt; }
bool TermModel::wrap_pending() const { return emu_->state().pending_wrap; }
bool TermModel::at_ground() const { return emu_->at_ground(); }

Snapshot TermModel::snapshot() const { return Snapshot{vt::encode_state(emu_->state())}; }

void TermModel::restore(const Snapshot& snap) {
    if (!vt::decode_state(snap.state, emu_->state())) throw std::runtime_error("damaged terminal snapshot");
    emu_->state_replaced();
}

std::string TermModel::row_text(int row) const {
    std::string out;
    row_text(row, out);
    return out;
}

void TermModel::row_text(int row, std::string& out) const {
    const vt::ScreenState& s = emu_->state();
    out.clear();
    if (row < 0 || row >= s.rows) return;
    // Trailing blanks are dropped before they are rendered: most rows are
    // short, and the search and the server's indexer ask for every row
    // that changed.
    const std::vector<Cell>& cells = s.grid().line(row).cells;
    size_t end = cells.size();
    while (end > 0 && !(cells[end - 1].attrs & vt::kCombined) && (cells[end - 1].cp == 0 || cells[end - 1].cp == ' '))
        end--;
    // Most rows are ASCII: one byte a cell, written in place (the
    // indexer renders every row written at every rendering).
    out.resize(end);
    size_t n = 0;
    size_t i = 0;
    for (; i < end; i++) {
        const Cell& c = cells[i];
        if (c.width != 1 || (c.attrs & vt::kCombined) || c.cp >= 0x7f) break;
        out[n++] = c.cp == 0 ? ' ' : c.cp < 0x20 ? '?' : static_cast<char>(c.cp);
    }
    out.resize(n);
    for (; i < end; i++)
        if (cells[i].width) append_cell(out, s, cells[i]);
    while (!out.empty() && out.back() == ' ') out.pop_back();
}

std::string TermModel::text() const {
    std::string s;
    for (int r = 0; r < emu_->state().rows; r++) {
        if (r) s += '\n';
        s += row_text(r);
    }
    return s;
}

std::string TermModel::draw_row(int row, int max_cols, int first_col) const {
    const vt::ScreenState& s = emu_->state();
    std::string out;
    if (row < 0 || row >= s.rows || first_col < 0 || first_col >= s.cols) return out;
    const std::vector<Cell>& cells = s.grid().line(row).cells;
    int limit = first_col + std::min(max_cols, s.cols - first_col);
    int last = limit;
    while (last > first_col && invisible_blank(cells[static_cast<size_t>(last - 1)]) && !s.reverse_screen) last--;
    vt::Pen cur;
    bool have_pen = false;
    for (int col = first_col; col < last; col++) {
        const Cell& c = cells[static_cast<size_t>(col)];
        if (c.width == 0 && col > first_col) continue;  // right half of a wide character
        if (c.width == 0) {
            // The view starts on the right half of a wide character: a
            // blank holds its column.
            out += "\x1b[0m ";
            have_pen = false;
            continue;
        }
        vt::Pen p = c.pen();
        if (s.reverse_screen) p.attrs ^= vt::kReverse;
        if (!have_pen || !(p == cur)) {
            out += sgr(p);
            cur = p;
            have_pen = true;
        }
        if (c.width == 2 && col + 1 >= limit) {
            out += ' ';  // a wide character cut by the edge: never half of it
            continue;
        }
        append_cell(out, s, c);
    }
    if (have_pen) out += "\x1b[0m";
    return out;
}

namespace {

static_assert(StyledRun::Bold == vt::kBold && StyledRun::Dim == vt::kDim && StyledRun::Italic == vt::kItalic &&
              StyledRun::Underline == vt::kUnderline && StyledRun::DoubleUnderline == vt::kDoubleUnderline &&
              StyledRun::Blink == vt::kBlink && StyledRun::Inverse == vt::kReverse &&
              StyledRun::Invisible == vt::kInvisible && StyledRun::Strike == vt::kStrike &&
              StyledRun::Overline == vt::kOverline);

RunColor run_color(uint32_t c) {
    if (c == 0) return {};
    if ((c & 0xff000000) == vt::kIndexed) return {RunColor::Kind::Palette, c & 0xff};
    return {RunColor::Kind::Rgb, c & 0xffffff};
}

}  // namespace

std::vector<StyledRun> TermModel::row_runs(int row) const {
    const vt::ScreenState& s = emu_->state();
    std::vector<StyledRun> runs;
    if (row < 0 || row >= s.rows) return runs;
    const std::vector<Cell>& cells = s.grid().line(row).cells;
    int last = s.cols;
    while (last > 0 && invisible_blank(cells[static_cast<size_t>(last - 1)]) && !s.reverse_screen) last--;
    vt::Pen cur;
    for (int col = 0; col < last; col++) {
        const Cell& c = cells[static_cast<size_t>(col)];
        if (c.width == 0 && col > 0) continue;  // right half of a wide character
        vt::Pen p = c.pen();
        if (s.reverse_screen) p.attrs ^= vt::kReverse;
        if (runs.empty() || !(p == cur)) {
            StyledRun r;
            r.fg = run_color(p.fg);
            r.bg = run_color(p.bg);
            r.attrs = p.attrs;
            runs.push_back(std::move(r));
            cur = p;
        }
        StyledRun& r = runs.back();
        if (c.width != 1 && (c.width == 0 || col + 1 >= s.cols)) {
            // A lone right half, or a wide character cut by the edge:
            // never half of one.
            r.text += ' ';
            r.width += 1;
            continue;
        }
        append_cell(r.text, s, c);
        r.width += c.width;
    }
    return runs;
}

const std::vector<bool>& TermModel::dirty() const { return emu_->dirty_rows(); }
const std::vector<bool>& TermModel::written() const { return emu_->written_rows(); }
bool TermModel::any_dirty() const { return emu_->any_dirty; }
void TermModel::clear_dirty() { emu_->clear_dirty(); }
uint64_t TermModel::line_id(int row) const { return emu_->line_id(row); }

}  // namespace tlog::play
