// The ingest formats: JSON lines (one tlog message a line) and
// Elasticsearch's _bulk (action line, source line). Each line is checked
// alone; a bad line is reported with its number and never stops the others.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/server/store.h"

namespace tlog::server {

struct LineResult {
    uint64_t line = 0;  // 1-based line of the request body (the source line for _bulk)
    int status = 201;   // 201 created, 200 duplicate, 400 refused
    std::string error;  // status 400: the problem
    std::string id;     // "host/rec/id" when known
};

struct IngestReport {
    std::vector<LineResult> items;
    uint64_t created = 0, duplicates = 0, failed = 0;
};

// Lines longer than this are refused without being parsed.
inline constexpr size_t max_line_bytes = 4U << 20U;

// A request body checked, not yet stored: one result per line (per action
// for _bulk), in order, and the messages that passed, as views into the
// body (which must outlive it). Checking needs no database, so requests are
// checked side by side and only take turns to store.
struct CheckedBody {
    struct Message {
        size_t item;  // its entry in `items`
        MessageMeta meta;
        std::string_view json;
    };
    std::vector<LineResult> items;
    std::vector<Message> messages;
    uint64_t failed = 0;
};

CheckedBody check_json_lines(std::string_view body);
CheckedBody check_bulk(std::string_view body);
// Stores the checked messages in one transaction (one commit per request;
// a storage failure, such as a full disk, aborts the whole request so the
// sender retries it, and what was stored is then found again as duplicates).
IngestReport store_checked(Store& store, const CheckedBody& checked, uint64_t received_ms);

// tlog-audit's JSON lines (POST /api/v1/audit), checked alone like
// messages and reported in the same shapes; `id` is "host/serial/time".
struct CheckedAudit {
    struct Event {
        size_t item;  // its entry in `items`
        AuditMeta meta;
        std::string_view json;
    };
    std::vector<LineResult> items;
    std::vector<Event> events;
    uint64_t failed = 0;
};

CheckedAudit check_audit_lines(std::string_view body);
// Stores the checked events in one transaction, as store_checked.
IngestReport store_checked_audit(Store& store, const CheckedAudit& checked);
IngestReport ingest_audit_lines(Store& store, std::string_view body);

// Both steps.
IngestReport ingest_json_lines(Store& store, std::string_view body, uint64_t received_ms);
IngestReport ingest_bulk(Store& store, std::string_view body, std::string_view index, uint64_t received_ms);

// Response bodies: the native summary, and _bulk's {"errors", "items"}.
std::string native_response(const IngestReport& r);
std::string bulk_response(const IngestReport& r, std::string_view index);

}  // namespace tlog::server
