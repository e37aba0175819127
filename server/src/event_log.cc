#include "event_log.h"

#include <chrono>
#include <cstdio>
#include <string>

namespace tlog::server {

void log_event(json::Value fields) {
    auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
    json::Value line = json::Value::make_object();
    line.set("time_ms", json::Value::make_uint(static_cast<uint64_t>(now.count())));
    for (auto& [k, v] : fields.members()) line.set(k, std::move(v));
    // One write per line: lines of several threads never interleave.
    std::string text = json::dump(line) + "\n";
    std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace tlog::server
