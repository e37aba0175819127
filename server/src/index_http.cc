#include "index_http.h"

#include <array>

#include "tlog/error.h"

namespace tlog::server {

json::Value integrity_json(const Session& s) {
    auto o = json::Value::make_object();
    o.set("verdict", json::Value::make_string(s.integrity));
    o.set("label", json::Value::make_string(s.integrity_label));
    o.set("first_bad_id", s.first_bad_id != 0 ? json::Value::make_uint(s.first_bad_id) : json::Value::make_null());
    o.set("indexed_through", json::Value::make_uint(s.indexed_through));
    return o;
}

std::string integrity_filter(const std::string& v) {
    static constexpr std::array<std::string_view, 6> verdicts = {"pending", "intact",       "incomplete",
                                                                 "broken",  "unverifiable", "unprotected"};
    for (auto x : verdicts) {
        if (v == x) return v;
    }
    throw InputError(
        {"", 0, 0, "integrity"},
        "not a verdict (pending, intact, incomplete, broken, unverifiable, unprotected): " + json::quote(v));
}

std::string seek_ndjson(const SeekResult& r, const std::string& host, const std::string& rec, uint64_t pos_ms) {
    auto o = json::Value::make_object();
    o.set("rec", json::Value::make_string(rec));
    o.set("host", json::Value::make_string(host));
    o.set("t", json::Value::make_uint(pos_ms));
    o.set("keyframe_pos_ms", json::Value::make_uint(r.keyframe.pos_ms));
    o.set("next_id", json::Value::make_uint(r.keyframe.msg_id));
    o.set("rows", json::Value::make_uint(r.rows));
    o.set("cols", json::Value::make_uint(r.cols));
    o.set("screen", json::Value::make_string(r.repaint));
    o.set("text", json::Value::make_string(r.text));
    o.set("messages", json::Value::make_uint(r.messages.size()));
    o.set("more", json::Value::make_bool(r.more));
    std::string out = json::dump(o) + "\n";
    for (const auto& m : r.messages) {
        out += m;
        out += '\n';
    }
    return out;
}

std::string text_hits_json(const std::vector<ScreenTextRow>& hits, const std::string& host, const std::string& rec,
                           size_t limit) {
    auto o = json::Value::make_object();
    o.set("rec", json::Value::make_string(rec));
    o.set("host", json::Value::make_string(host));
    auto arr = json::Value::make_array();
    for (const auto& h : hits) {
        auto x = json::Value::make_object();
        x.set("pos_ms", json::Value::make_uint(h.pos_ms));
        x.set("row", json::Value::make_uint(static_cast<uint64_t>(h.row)));
        x.set("text", json::Value::make_string(h.text));
        x.set("id", json::Value::make_uint(h.msg_id));
        arr.items().push_back(std::move(x));
    }
    o.set("hits", std::move(arr));
    o.set("more", json::Value::make_bool(hits.size() == limit));
    return json::dump(o) + "\n";
}

}  // namespace tlog::server
