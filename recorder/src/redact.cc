#include "tlog/rec/redact.h"

#include <stdexcept>

namespace tlog::rec {

struct Redactor::Compiled {
    regex_t re{};
    explicit Compiled(const std::string& pattern) {
        int rc = regcomp(&re, pattern.c_str(), REG_EXTENDED);
        if (rc != 0) {
            char msg[256];
            regerror(rc, &re, msg, sizeof msg);
            throw std::invalid_argument("bad redaction pattern \"" + pattern + "\": " + msg);
        }
    }
    ~Compiled() { regfree(&re); }
    Compiled(const Compiled&) = delete;
    Compiled& operator=(const Compiled&) = delete;
};

Redactor::Redactor(const std::vector<std::string>& patterns) {
    for (const auto& p : patterns) res_.push_back(std::make_unique<Compiled>(p));
}

Redactor::~Redactor() = default;

namespace {

bool utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

}  // namespace

uint64_t Redactor::apply(std::string& data) const {
    uint64_t replaced = 0;
    for (const auto& c : res_) {
        std::string out;
        size_t from = 0;  // the part of `data` not yet searched
        size_t copied = 0;
        bool changed = false;
        while (from < data.size()) {
            // REG_STARTEND: the output may hold NUL bytes, and is not terminated.
            regmatch_t m{static_cast<regoff_t>(from), static_cast<regoff_t>(data.size())};
            int flags = REG_STARTEND | (from > 0 ? REG_NOTBOL : 0);
            if (regexec(&c->re, data.c_str(), 1, &m, flags) != 0) break;
            auto b = static_cast<size_t>(m.rm_so), e = static_cast<size_t>(m.rm_eo);
            if (e == b) {  // an empty match hides nothing: look further on
                from = b + 1;
                continue;
            }
            out.append(data, copied, b - copied);
            // One '*' per character keeps the columns of the played screen.
            for (size_t i = b; i < e; i++)
                if (!utf8_continuation(data[i])) out += '*';
            replaced += e - b;
            copied = from = e;
            changed = true;
        }
        if (changed) {
            out.append(data, copied, std::string::npos);
            data = std::move(out);
        }
    }
    return replaced;
}

}  // namespace tlog::rec
