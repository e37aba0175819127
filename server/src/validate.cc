// Validation of ingested message lines by librec's decoder.
#include "tlog/server/validate.h"

#include <climits>
#include <utility>

#include "tlog/decoder.h"
#include "tlog/error.h"
#include "tlog/utf8.h"

namespace tlog::server {

namespace {

class Sink final : public EventSink {
public:
    MessageMeta meta;
    bool seen = false;
    std::string_view twice;  // an extension field that appears twice
    void event(const Event&) override {}
    void message(const MessageHeader& h) override {
        seen = true;
        meta.host = h.host;
        meta.rec = h.rec;
        meta.user = h.user;
        meta.term = h.term;
        meta.session = h.session;
        meta.id = h.id;
        meta.pos = h.pos;
        meta.time_ms.reset();
        if (h.has_time) {
            meta.time_ms = h.time_ms;
        }
        // The decoder refuses its own fields twice; other fields it keeps
        // as they are, and readers differ on which of two copies counts
        // (the first, the last), so a stored message must not have two.
        for (size_t i = 0; i < h.extra.size() && twice.empty(); ++i) {
            for (size_t j = i + 1; j < h.extra.size(); ++j) {
                if (h.extra[i].first == h.extra[j].first) {
                    twice = h.extra[i].first;
                    break;
                }
            }
        }
    }
};

// 1-based column of the first byte that is not part of valid UTF-8.
uint64_t first_invalid_utf8(std::string_view s) {
    const auto* begin = reinterpret_cast<const uint8_t*>(s.data());
    const auto* end = begin + s.size();
    for (const auto* p = begin; p < end;) {
        size_t n = utf8::valid_prefix(p, end);
        if (n == 0) {
            return static_cast<uint64_t>(p - begin) + 1;
        }
        p += n;
    }
    return 0;
}

}  // namespace

struct Validator::Impl {
    std::string source;
    Decoder decoder;
    Sink sink;

    static DecodeOptions options(const std::string& source) {
        DecodeOptions o;
        o.source = source;
        o.each_alone = true;
        return o;
    }
    explicit Impl(const std::string& src) : source(src), decoder(options(src)) {}
};

Validator::Validator(const std::string& source) : impl_(std::make_unique<Impl>(source)) {}
Validator::~Validator() = default;

MessageMeta Validator::check(std::string_view line, uint64_t line_no) {
    auto& d = *impl_;
    // JSON text is UTF-8, and escapes cannot make invalid UTF-8 (the
    // decoder refuses unpaired surrogates), so one check of the line covers
    // every string in it, the names and the fields the decoder only copies
    // (host, rec, user, term, extension fields) included.
    if (!utf8::is_valid(line)) {
        throw InputError({d.source, line_no, first_invalid_utf8(line), ""}, "not valid UTF-8");
    }
    d.sink.seen = false;
    d.sink.twice = {};
    d.decoder.feed(line, line_no, d.sink);
    if (!d.sink.seen) {
        throw InputError({d.source, line_no, 0, ""}, "not a tlog message");
    }
    if (!d.sink.twice.empty()) {
        throw InputError({d.source, line_no, 0, std::string(d.sink.twice)}, "field appears twice");
    }
    const auto& m = d.sink.meta;
    // PostgreSQL's text cannot hold NUL; refused on both backends alike
    // rather than failing the whole request on one.
    for (const auto& [field, value] : {std::pair<const char*, const std::string*>{"host", &m.host},
                                       {"rec", &m.rec},
                                       {"user", &m.user},
                                       {"term", &m.term}}) {
        if (value->find('\0') != std::string::npos) {
            throw InputError({d.source, line_no, 0, field}, "contains a NUL character");
        }
    }
    // Both backends' integers are signed 64-bit: a larger id would be
    // stored clamped and collide with another forged one.
    if (m.id > static_cast<uint64_t>(INT64_MAX)) {
        throw InputError({d.source, line_no, 0, "id"}, "larger than 9223372036854775807");
    }
    return m;
}

MessageMeta validate_message(std::string_view line, const std::string& source, uint64_t line_no) {
    return Validator(source).check(line, line_no);
}

}  // namespace tlog::server
