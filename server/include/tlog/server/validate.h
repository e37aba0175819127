// Validation of ingested message lines by librec's decoder, and the fields
// of each the server indexes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tlog/server/store.h"

namespace tlog::server {

// Checks message lines one at a time, each alone (its neighbours may come
// later, in another request, or from another sender), with one librec
// decoder kept from line to line: the line is UTF-8, its JSON and every
// field's type (no field twice), the timing against the text; the id is a
// positive integer that fits the databases' signed 64 bits; host, rec, user and term hold no NUL (PostgreSQL's text
// cannot). The integrity chain is stored, not checked (it needs the neighbours). One pass over the line.
class Validator {
public:
    // `source` names the input in errors ("" for a request body: "line N").
    explicit Validator(const std::string& source = "");
    ~Validator();
    Validator(const Validator&) = delete;
    Validator& operator=(const Validator&) = delete;

    // What the server indexes of a valid message. Throws tlog::InputError
    // naming the line, the column or field, and the problem.
    MessageMeta check(std::string_view line, uint64_t line_no);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// One line with a validator of its own (tests, tools).
MessageMeta validate_message(std::string_view line, const std::string& source, uint64_t line_no);

// Checks one tlog-audit event line (doc/audit-json.md): valid UTF-8, a JSON
// object (no name twice) with serial (an unsigned integer), time (UTC text
// as tlog-audit writes it, 2026-12-04T21:25:01.266Z), host (a non-empty
// string), ses (an unsigned integer or null) and, when present, rec (a
// recording id: 1 to 128 letters, digits, '-', '_', '.' or ':') and type
// (a string). Nothing else of the event is checked: it is stored as sent.
// Throws tlog::InputError naming the line and the field.
AuditMeta check_audit_event(std::string_view line, uint64_t line_no);

// "YYYY-MM-DDTHH:MM:SS.mmmZ", tlog-audit's only form of time, to
// milliseconds since the epoch; nullopt for anything else (a date that does
// not exist too).
std::optional<uint64_t> audit_time_ms(std::string_view t);

}  // namespace tlog::server
