// PROCTITLE's interpretation as libauparse 3.0.9 makes it (print_proctitle
// over print_escaped and au_unescape), without its read past the end: a
// value starting "00" (taken for an abstract socket name and skipped) that
// holds a byte other than a hex digit leaves libauparse's result without a
// terminator, and its caller reads the heap until a zero byte. Such a value
// comes from the log's text, so from whoever can write it.
#pragma once

#include <string>
#include <string_view>

namespace tlog::audit {

// What auparse_do_interpretation(AUPARSE_TYPE_PROCTITLE, ..., AUPARSE_ESC_RAW)
// returns for `raw` (the field's value up to its first NUL) wherever
// libauparse's result is defined; where it is not, the result libauparse
// gives when the bytes of its buffer it did not write are `unwritten`
// (the tests tell the defined results by giving two: they agree).
std::string libauparse_proctitle(std::string_view raw, char unwritten = '\0');

}  // namespace tlog::audit
