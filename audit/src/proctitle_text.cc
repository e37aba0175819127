// PROCTITLE's interpretation (proctitle_text.h), step by step as
// interpret.c of audit 3.0.9 makes it, on a buffer of the size it
// allocates.
#include "proctitle_text.h"

#include <cstring>

namespace tlog::audit {
namespace {

// x2c: each character looked up with strchr, so that a NUL (the second
// half of an odd-length value) counts as digit 16 & 0x0F = 0.
unsigned char x2c(char hi, char lo) {
    static const char kDigits[17] = "0123456789ABCDEF";
    const auto digit = [](char c) -> unsigned {
        const char* p = std::strchr(kDigits, c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        return p != nullptr ? static_cast<unsigned>(p - kDigits) & 0x0FU : 0U;
    };
    return static_cast<unsigned char>((digit(hi) << 4) | digit(lo));
}

bool hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

std::string libauparse_proctitle(std::string_view raw, char unwritten) {
    const std::string_view val = raw.substr(0, raw.find('\0'));
    // print_escaped: a quoted value is the text between its quotes, and
    // print_proctitle leaves it so.
    if (!val.empty() && val[0] == '"') {
        const size_t close = val.find('"', 1);
        return close == std::string_view::npos ? std::string(" ") : std::string(val.substr(1, close - 1));
    }
    // print_escaped: "00..." is read as an abstract socket name, without
    // the two zeros.
    const std::string_view buf = val.size() >= 2 && val[0] == '0' && val[1] == '0' ? val.substr(2) : val;
    // au_unescape: a buffer of strlen(buf) + 1 bytes; the name's part of
    // buf copied in ("(...)", or the leading hex digits), then decoded in
    // place. Null (then print_escaped's copy of the value) when there is
    // no ')' or fewer than two digits.
    std::string b(buf.size() + 1, unwritten);
    if (!buf.empty() && buf[0] == '(') {
        const size_t close = buf.find(')');
        if (close == std::string_view::npos) return std::string(val);
        buf.substr(0, close + 1).copy(b.data(), close + 1);
        b[close + 1] = '\0';  // strcpy's
    } else {
        size_t digits = 0;
        while (digits < buf.size() && hex_digit(buf[digits])) ++digits;
        if (digits < 2) return std::string(val);
        buf.substr(0, digits).copy(b.data(), digits);
        b[digits] = '\0';  // strcpy's
        size_t out = 0;
        for (size_t i = 0; i < digits; i += 2, ++out) b[out] = static_cast<char>(x2c(b[i], b[i + 1]));
        b[out] = '\0';
        // "len = ptr - str - 1; olen /= 2; if (olen > len) memset(ptr, 0,
        // olen - len)": zeros from the end of the decoded bytes through
        // index strlen(buf) / 2.
        const size_t half = buf.size() / 2;
        for (size_t i = out; i <= half && i < b.size(); ++i) b[i] = '\0';
    }
    // print_proctitle: every NUL before strlen(val) / 2 is an argument's
    // end, shown as a space; the result ends at the first NUL left.
    const size_t end = val.size() / 2;
    for (size_t i = 0; i < end && i < b.size(); ++i)
        if (b[i] == '\0') b[i] = ' ';
    // The first NUL left (the string's own past the buffer: libauparse's
    // reader would go on into the heap).
    if (const size_t nul = b.find('\0'); nul != std::string::npos) b.resize(nul);
    return b;
}

}  // namespace tlog::audit
