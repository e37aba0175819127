// Errors that name where the bad input is: the file, the line and the field.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "tlog/api.h"

namespace tlog {

// Where in the input a problem was found. Empty parts are left out when printed.
struct TLOG_API Location {
    std::string file;     // file name, or a source description ("<env TLOG_REC_CONF_TEXT>")
    uint64_t line = 0;    // 1-based line number, 0 if unknown
    uint64_t column = 0;  // 1-based byte column, 0 if unknown
    std::string field;    // JSON field or key path ("timing", "limit.rate")

    std::string str() const;
};

// An error in input that the user or an earlier program wrote. what() reads
// "FILE:LINE:COL: field 'F': MESSAGE".
class TLOG_API InputError : public std::runtime_error {
public:
    InputError(Location where, const std::string& message);
    const Location& where() const noexcept { return where_; }
    const std::string& message() const noexcept { return message_; }

private:
    Location where_;
    std::string message_;
};

}  // namespace tlog
