// term-model-render ROWS COLS: replays standard input through the terminal
// model and prints each row's text, then the cursor as "cursor ROW,COL"
// (for model_vs_tmux.py, which compares with a real terminal). The input
// is the stream's pieces separated by NUL bytes; "ambiguous" is printed
// first when an erase, insert or delete came while a wrap was pending,
// where terminals disagree (xterm and the model act on the last column,
// tmux treats the cursor as past it).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>

#include "tlog/play/term_model.h"

// ESC [ digits, then J K X @ or P: an erase, insert or delete.
bool is_edit(const std::string& piece) {
    if (piece.compare(0, 2, "\x1b[") != 0) return false;
    size_t i = piece.find_first_not_of("0123456789", 2);
    return i != std::string::npos && std::string("JKX@P").find(piece[i]) != std::string::npos;
}

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: term-model-render ROWS COLS < PIECES\n");
        return 2;
    }
    tlog::play::TermModel m(static_cast<uint16_t>(std::atoi(argv[1])), static_cast<uint16_t>(std::atoi(argv[2])));
    std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    bool ambiguous = false;
    for (size_t start = 0; start <= in.size();) {
        size_t end = in.find('\0', start);
        if (end == std::string::npos) end = in.size();
        std::string piece = in.substr(start, end - start);
        if (m.wrap_pending() && is_edit(piece)) ambiguous = true;
        m.feed(piece);
        start = end + 1;
    }
    if (ambiguous) std::printf("ambiguous\n");
    for (int r = 0; r < m.rows(); r++) std::printf("%s\n", m.row_text(r).c_str());
    std::printf("cursor %d,%d\n", m.cursor_row(), m.cursor_col());
    return 0;
}
