// Fuzz target: tlog-audit's input side (libauparse feed, record and field
// decoding, argv reassembly, the joins, trimming) on arbitrary log text, fed
// in two pieces as a stream reader would. Every event must be valid UTF-8
// JSON that librec's parser accepts and no longer than the limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tlog/audit/converter.h"
#include "tlog/json.h"
#include "tlog/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    tlog::audit::Options o;
    o.max_event_size = 1024;
    o.default_host = "fuzz";
    tlog::audit::Converter c(o, [&](const std::string& json, auto&&...) {
        if (json.size() > o.max_event_size || !tlog::utf8::is_valid(json)) abort();
        (void)tlog::json::parse(json, "event");  // throws (and the fuzzer reports) on invalid JSON
    });
    const size_t half = size / 2;
    c.feed(text.substr(0, half));
    c.feed(text.substr(half));
    c.finish();
    return 0;
}
