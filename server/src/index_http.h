// The index's answers in JSON (index_http.cc), for the routes in http.cc;
// private to server/src.
#pragma once

#include <string>
#include <vector>

#include "tlog/json.h"
#include "tlog/server/index.h"
#include "tlog/server/store.h"

namespace tlog::server {

// A session's "integrity" object: verdict, label, first_bad_id (null when
// none), indexed_through.
json::Value integrity_json(const Session& s);
// GET .../at: a first line describing the keyframe, then the messages.
std::string seek_ndjson(const SeekResult& r, const std::string& host, const std::string& rec, uint64_t pos_ms);
// GET .../text: {"rec", "host", "hits": [{"pos_ms", "row", "text", "id"}], "more"}.
std::string text_hits_json(const std::vector<ScreenTextRow>& hits, const std::string& host, const std::string& rec,
                           size_t limit);

}  // namespace tlog::server
