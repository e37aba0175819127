// Output redaction: configured patterns (POSIX extended regular expressions,
// "log.output_redact") whose matches in the recorded output are replaced by
// '*', one per character, so the terminal layout of the played recording
// stays as it was. Best effort: the patterns see one read of the program's
// output at a time, so a match cut by a read boundary (or by escape
// sequences inside it) is not found. What the user's terminal shows is never
// changed, only what is recorded.
#pragma once

#include <regex.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlog::rec {

class Redactor {
public:
    // Throws std::invalid_argument naming the pattern when one does not compile
    // (the settings table, librec's settings.cc, refuses such patterns first).
    explicit Redactor(const std::vector<std::string>& patterns);
    ~Redactor();
    Redactor(const Redactor&) = delete;
    Redactor& operator=(const Redactor&) = delete;

    bool empty() const { return res_.empty(); }
    // Replaces every match of every pattern in `data`; returns how many
    // bytes were replaced (0: `data` is unchanged).
    uint64_t apply(std::string& data) const;

private:
    struct Compiled;
    std::vector<std::unique_ptr<Compiled>> res_;
};

}  // namespace tlog::rec
