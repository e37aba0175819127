// Terminals in a non-UTF-8 locale: the recorder converts what it records
// (never what it relays) to UTF-8 with iconv, so the recording stays valid
// tlog text instead of the recorder refusing to run (as tlog does).
#pragma once

#include <string>
#include <string_view>

namespace tlog::rec {

// The codeset of the current LC_CTYPE (after setlocale(LC_ALL, "")).
std::string locale_codeset();
bool codeset_is_utf8(const std::string& codeset);

class ToUtf8 {
public:
    explicit ToUtf8(const std::string& from);  // throws std::runtime_error if iconv cannot convert
    ~ToUtf8();
    ToUtf8(const ToUtf8&) = delete;
    ToUtf8& operator=(const ToUtf8&) = delete;
    // Converts `in` (a piece of a stream: a character cut at the end is
    // kept for the next call). Bytes that are invalid in the source codeset
    // are passed on unchanged, so they reach the recording as binary.
    std::string_view convert(std::string_view in);

private:
    void* cd_;
    std::string carry_, out_;
};

}  // namespace tlog::rec
