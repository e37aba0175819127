// Validation of one ingested message line by librec's decoder, and the
// fields of it the server indexes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tlog/server/store.h"

namespace tlog::server {

// Validates one message line with librec's decoder (strict: every field,
// the timing and the text) and returns what the server indexes. Throws
// tlog::InputError naming the field and the problem.
MessageMeta validate_message(std::string_view line, const std::string& source, uint64_t line_no);

}  // namespace tlog::server
