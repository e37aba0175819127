#include "tlog/error.h"

namespace tlog {

std::string Location::str() const {
    std::string s = file;
    if (line) {
        s += (s.empty() ? "line " : ":") + std::to_string(line);
        if (column) s += ":" + std::to_string(column);
    }
    if (!field.empty()) s += (s.empty() ? "" : ": ") + ("field '" + field + "'");
    return s;
}

static std::string compose(const Location& where, const std::string& message) {
    std::string loc = where.str();
    return loc.empty() ? message : loc + ": " + message;
}

InputError::InputError(Location where, const std::string& message)
    : std::runtime_error(compose(where, message)), where_(std::move(where)), message_(message) {}

}  // namespace tlog
