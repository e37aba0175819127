// Fuzz target: tlog-audit's input side (its own reader of the log text:
// lines, records, fields, event assembly; field decoding, argv reassembly,
// the joins, trimming) on arbitrary log text, fed in two pieces as a stream
// reader would. Every event must be valid UTF-8 JSON that librec's parser
// accepts and no longer than the limit, and the events must be the same,
// byte for byte, as when libauparse assembles them (Options::
// libauparse_events), the reference the reader follows.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/audit/converter.h"
#include "tlog/json.h"
#include "tlog/utf8.h"

namespace {

std::vector<std::string> convert(std::string_view text, bool libauparse) {
    tlog::audit::Options o;
    o.max_event_size = 1024;
    o.default_host = "fuzz";
    o.libauparse_events = libauparse;
    std::vector<std::string> events;
    tlog::audit::Converter c(o, [&](std::string_view json, const tlog::audit::SessionKey& key, std::string_view rec,
                                    uint64_t time_ms, uint64_t serial) {
        if (json.size() > o.max_event_size || !tlog::utf8::is_valid(json)) abort();
        (void)tlog::json::parse(json, "event");  // throws (and the fuzzer reports) on invalid JSON
        events.push_back(std::string(json) + ' ' + key.host + ' ' + std::to_string(key.ses) + ' ' + std::string(rec) +
                         ' ' + std::to_string(time_ms) + ' ' + std::to_string(serial));
    });
    const size_t half = text.size() / 2;
    c.feed(text.substr(0, half));
    c.feed(text.substr(half));
    c.finish();
    return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto ours = convert(text, false);
    const auto theirs = convert(text, true);
    if (ours != theirs) {
        for (size_t i = 0; i < std::max(ours.size(), theirs.size()); ++i) {
            if (i < ours.size() && i < theirs.size() && ours[i] == theirs[i]) continue;
            std::fprintf(stderr, "event %zu differs:\n reader:     %s\n libauparse: %s\n", i,
                         i < ours.size() ? ours[i].c_str() : "(none)",
                         i < theirs.size() ? theirs[i].c_str() : "(none)");
            break;
        }
        abort();
    }
    return 0;
}
