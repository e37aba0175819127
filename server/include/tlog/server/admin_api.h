// The API's routes of evidence export, legal holds and retention
// (admin_api.cc; doc/server.md, "Export, holds and retention over the
// API"): what each answers, given the viewer's scope for its right. The
// route table and the access log stay http.cc's.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tlog/proof/proof.h"
#include "tlog/server/access.h"
#include "tlog/server/retention.h"
#include "tlog/server/store.h"

namespace tlog::server {

// An answer: `error` set: answered as the other routes' errors
// ({"error": ..., "status": ...}), else `body` of `type`.
struct AdminReply {
    int status = 200;
    std::string body, type = "application/json; charset=UTF-8", error;
    std::string filename;  // a download's name (Content-Disposition)
};

// What the access log notes of the request: the recording or hold, and
// whether a recording was refused (outside the scope) or is not stored.
struct AdminNote {
    std::string host, rec, detail = "{}";
    bool refused = false, absent = false;
};

// A POSIX ustar archive of regular files (mode 0644, owner 0) under the
// directory `dir`, in the given order; throws std::invalid_argument for a
// name ustar cannot hold.
std::string ustar_archive(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files,
                          uint64_t mtime_s);

// GET /api/v1/sessions/{rec}/export: export_evidence's files as a tar
// archive. The caller has checked that the viewer may export it.
AdminReply export_tar(Store& store, const proof::Key* key, std::string host, const std::string& rec, AdminNote& note);

// GET /api/v1/holds, POST /api/v1/holds, POST /api/v1/holds/{id}/clear.
AdminReply holds_list(Store& store, const AccessScope& scope, bool with_cleared);
AdminReply hold_set(Store& store, const AccessScope& scope, const std::string& viewer, const std::string& body,
                    uint64_t now_ms, AdminNote& note);
AdminReply hold_clear(Store& store, const AccessScope& scope, const std::string& viewer, const std::string& id,
                      const std::string& body, uint64_t now_ms, AdminNote& note);

// POST /api/v1/retention/run on a connection of its own to `database`,
// its tombstones signed with `key` (the checkpoints' key; null: none set),
// and GET /api/v1/retention/tombstones; both need `scope` to be all.
AdminReply retention_run_api(const std::string& database, const RetentionSettings& settings, const proof::Key* key,
                             const AccessScope& scope, const std::string& viewer, const std::string& body,
                             uint64_t now_ms, AdminNote& note);
AdminReply tombstones_api(Store& store, const AccessScope& scope);

// A run's report as `tlog-server retention run --json` prints it.
std::string retention_report_json(const RetentionReport& report, bool dry_run);
// The account the process runs as (its real uid's name, else "uid N").
std::string account_name();

}  // namespace tlog::server
