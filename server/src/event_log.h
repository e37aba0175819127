// The server's events on standard error, one JSON line each beside the
// request log's: {"time_ms": T, "event": NAME, ...}.
#pragma once

#include "tlog/json.h"

namespace tlog::server {

// Writes `fields` (an object) after time_ms, as one line.
void log_event(json::Value fields);

}  // namespace tlog::server
