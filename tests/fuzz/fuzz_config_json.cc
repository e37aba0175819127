// Fuzz target: a configuration text in tlog's syntax (what a recorded user
// can put in TLOG_REC_SESSION_CONF_TEXT) is parsed and checked with the
// settings table without crashing; whatever parses is a value strict JSON
// reads back the same, so nothing the lenient syntax accepts can mean two
// things to two readers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/settings.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    tlog::json::Value v;
    try {
        v = tlog::json::parse(text, "<fuzz>", tlog::json::ParseOptions::tlog_configuration());
    } catch (const tlog::InputError&) {
        return 0;
    }
    const std::string strict = tlog::json::dump(v);
    tlog::json::ParseOptions dup;
    dup.allow_duplicate_keys = false;
    if (tlog::json::dump(tlog::json::parse(strict, "<dump>", dup)) != strict) std::abort();
    if (v.is_object()) {
        for (auto p :
             {tlog::settings::Program::Rec, tlog::settings::Program::RecSession, tlog::settings::Program::Play}) {
            try {
                tlog::settings::check_layer(v, "<fuzz>", p);
            } catch (const tlog::InputError&) {}
        }
    }
    return 0;
}
