// The terminal model under hostile input (the recorded user writes it):
// any bytes, window changes and snapshots must not crash, hang, read out
// of bounds or draw a control character, and a model restored from a
// snapshot taken between sequences must end exactly like the original
// (the property seeking relies on). An input with the high bit of its
// first byte set is read as a snapshot instead (a damaged cache file).
//
// Input: byte 0 flags, 1 rows, 2 columns; then operations, each an opcode
// byte: feed the next n bytes (n from the byte after), resize, snapshot
// into the second model, or draw every row.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "tlog/play/term_model.h"

using tlog::play::Snapshot;
using tlog::play::TermModel;

namespace {

void check_drawn(const TermModel& m, int max_cols) {
    for (int r = 0; r < m.rows(); r++)
        for (char ch : m.draw_row(r, max_cols)) {
            auto c = static_cast<unsigned char>(ch);
            if (c < 0x20 && c != 0x1b) std::abort();  // only SGR escapes and text may reach a terminal
        }
}

void from_snapshot(std::string_view data) {
    Snapshot s;
    if (!Snapshot::deserialize(data, s)) return;
    TermModel m(3, 3);
    m.restore(s);
    m.feed(
        "\x1b[4hx\xe4\xb8\xad\x1b[3P\x1b[2@y\r\n\x1b[?1049lz\x1b"
        "8\x1b[5b\x1b[L\x1b[M");
    check_drawn(m, m.cols());
    Snapshot again;
    if (!Snapshot::deserialize(m.snapshot().serialize(), again)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3) return 0;
    if (data[0] & 0x80) {
        from_snapshot(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
        return 0;
    }
    // Screens up to 64x160: the clamping of hostile sizes has its own unit
    // test, and big screens only slow the search down.
    auto rows = [](uint8_t v) { return static_cast<uint16_t>(v % 65); };
    auto cols = [](uint8_t v) { return static_cast<uint16_t>(v % 161); };
    TermModel a(rows(data[1]), cols(data[2]));
    std::unique_ptr<TermModel> b;  // restored from a snapshot of `a`, then fed the same
    size_t i = 3;
    while (i < size) {
        uint8_t op = data[i++];
        switch (op % 4) {
            case 0:
            case 1: {  // feed
                size_t n = i < size ? data[i++] : 0;
                n = std::min(n * (op % 4 + 1), size - i);
                std::string_view bytes(reinterpret_cast<const char*>(data) + i, n);
                a.feed(bytes);
                if (b) b->feed(bytes);
                i += n;
                break;
            }
            case 2:  // resize
                if (i + 2 <= size) {
                    a.resize(rows(data[i]), cols(data[i + 1]));
                    if (b) b->resize(rows(data[i]), cols(data[i + 1]));
                    i += 2;
                }
                break;
            case 3:
                if (op & 4) {
                    check_drawn(a, op >> 3);
                    (void)a.text();
                } else if (a.at_ground()) {
                    Snapshot s;
                    if (!Snapshot::deserialize(a.snapshot().serialize(), s)) std::abort();
                    b = std::make_unique<TermModel>(1, 1);
                    b->restore(s);
                }
                break;
        }
    }
    if (b && b->snapshot().state != a.snapshot().state) std::abort();
    check_drawn(a, a.cols());
    return 0;
}
