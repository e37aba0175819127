#include "tlog/withheld.h"

#include "tlog/error.h"
#include "tlog/json.h"

namespace tlog::withheld {

std::string to_json(const std::vector<Span>& spans) {
    json::Value arr = json::Value::make_array();
    for (const auto& s : spans) {
        json::Value o = json::Value::make_object();
        o.set("pos", json::Value::make_uint(s.pos_ms));
        o.set("bytes", json::Value::make_uint(s.bytes));
        o.set("reason", json::Value::make_string(s.reason));
        arr.items().push_back(std::move(o));
    }
    return json::dump(arr);
}

namespace {

// The reason reaches the auditor's terminal (status line, transcript): a
// recording is untrusted input, so nothing in it may be a control sequence.
std::string printable(const std::string& r) {
    constexpr size_t kMaxReason = 64;
    std::string out;
    for (char c : r) {
        if (out.size() == kMaxReason) break;
        out += c >= 0x20 && c < 0x7f ? c : '?';
    }
    return out;
}

}  // namespace

std::vector<Span> parse(std::string_view text, const std::string& source) {
    json::Value v = json::parse(text, source);
    auto bad = [&](const json::Value& at, const std::string& what) {
        throw InputError(Location{source, at.line, at.column, ""}, what);
    };
    if (!v.is_array()) bad(v, "expected an array of {pos, bytes, reason}");
    std::vector<Span> out;
    for (const auto& item : v.items()) {
        if (!item.is_object()) bad(item, "expected an object {pos, bytes, reason}");
        Span s;
        const json::Value* pos = item.find("pos");
        const json::Value* bytes = item.find("bytes");
        const json::Value* reason = item.find("reason");
        if (!pos || !pos->as_uint()) bad(item, "'pos' must be a non-negative integer");
        if (!bytes || !bytes->as_uint()) bad(item, "'bytes' must be a non-negative integer");
        if (reason && !reason->is_string()) bad(*reason, "'reason' must be a string");
        s.pos_ms = *pos->as_uint();
        s.bytes = *bytes->as_uint();
        if (reason) s.reason = printable(reason->as_string());
        out.push_back(std::move(s));
    }
    return out;
}

std::string describe(bool input, const Span& s) {
    std::string r = input ? "[input hidden: " : "[output redacted: ";
    r += std::to_string(s.bytes);
    r += s.bytes == 1 ? " byte]" : " bytes]";
    return r;
}

}  // namespace tlog::withheld
