#include "tlog/play/snapshot.h"

#include <cstring>

#include "serial.h"

namespace tlog::play {

namespace {

constexpr std::string_view kMagic = "SNAP1";

using serial::put_u32;
using serial::Reader;

void put_str(std::string& s, std::string_view v) { serial::put_str32(s, v); }

std::string cup(int row, int col) { return "\x1b[" + std::to_string(row + 1) + ";" + std::to_string(col + 1) + "H"; }

} // namespace

std::string Snapshot::serialize() const {
    std::string s(kMagic);
    put_u32(s, rows);
    put_u32(s, cols);
    put_str(s, modes.serialize());
    put_str(s, cells);
    put_u32(s, alt);
    put_str(s, primary);
    put_u32(s, primary_row);
    put_u32(s, primary_col);
    put_u32(s, cur_row);
    put_u32(s, cur_col);
    put_u32(s, cur_visible);
    put_str(s, pen);
    return s;
}

bool Snapshot::deserialize(std::string_view s, Snapshot& out) {
    if (s.substr(0, kMagic.size()) != kMagic) return false;
    Reader r{s.substr(kMagic.size())};
    Snapshot n;
    uint32_t rows = r.u32(), cols = r.u32();
    std::string modes = r.str32();
    n.cells = r.str32();
    n.alt = r.u32() != 0;
    n.primary = r.str32();
    uint32_t pr = r.u32(), pc = r.u32(), cr = r.u32(), cc = r.u32();
    n.cur_visible = r.u32() != 0;
    n.pen = r.str32();
    if (!r.ok || !r.s.empty() || rows == 0 || cols == 0 || rows > 0xffff || cols > 0xffff || pr > 0xffff ||
        pc > 0xffff || cr > 0xffff || cc > 0xffff || !VtModes::deserialize(modes, n.modes))
        return false;
    n.rows = static_cast<uint16_t>(rows);
    n.cols = static_cast<uint16_t>(cols);
    n.primary_row = static_cast<uint16_t>(pr);
    n.primary_col = static_cast<uint16_t>(pc);
    n.cur_row = static_cast<uint16_t>(cr);
    n.cur_col = static_cast<uint16_t>(cc);
    out = std::move(n);
    return true;
}

std::string Snapshot::restore_stream() const {
    std::string s;
    if (alt) {
        s += primary;
        s += cup(primary_row, primary_col);
        s += "\x1b[?1049h";  // saves that cursor, shows a blank alternate screen
    }
    s += cells;
    s += modes.sequences();
    int row = cur_row;
    if (modes.origin && modes.top > 0) row -= modes.top - 1;
    s += cup(row < 0 ? 0 : row, cur_col);
    s += pen;
    if (!cur_visible) s += "\x1b[?25l";
    return s;
}

} // namespace tlog::play
