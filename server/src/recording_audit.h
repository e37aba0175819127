// A recording's audit trail as GET /api/v1/sessions/REC/audit sends it
// (recording_audit.cc); private to server/src.
#pragma once

#include <string>
#include <vector>

#include "tlog/server/store.h"

namespace tlog::server {

// JSON lines: each event joined to the recording as the bytes received;
// each failed authentication listed before the session as
// {"before_session": {"host", "serial", "time", "event"}}, `event` the
// stored event's bytes, or null when it is not stored (yet).
std::string recording_audit_lines(const std::vector<RecordingAuditItem>& items);

}  // namespace tlog::server
