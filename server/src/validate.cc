// Validation of one ingested message line by librec's decoder.
#include "tlog/server/validate.h"

#include <climits>

#include "tlog/decoder.h"
#include "tlog/error.h"
#include "tlog/json.h"

namespace tlog::server {

namespace {

class Sink final : public EventSink {
public:
    MessageMeta meta;
    bool seen = false;
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
        if (h.has_time) {
            meta.time_ms = h.time_ms;
        }
    }
};

}  // namespace

MessageMeta validate_message(std::string_view line, const std::string& source, uint64_t line_no) {
    std::string rec;
    // The decoder checks ids against the one it expects; a message is
    // checked alone here, so it is told to expect this message's id.
    DecodeOptions opts;
    opts.source = source;
    opts.first_id = 1;
    {
        // Find the id cheaply first: a full decode with the wrong expected
        // id would report a gap rather than the message's own problems.
        json::Value v;
        try {
            v = json::parse(line, source);
        } catch (const InputError& e) {
            // Parsed alone, the line is line 1: report its place in the input.
            throw InputError({source, line_no, e.where().column, e.where().field}, e.message());
        }
        if (!v.is_object()) {
            throw InputError({source, line_no, 1, ""}, "a message must be a JSON object");
        }
        const auto* id = v.find("id");
        if (id == nullptr || !id->as_uint() || *id->as_uint() == 0) {
            throw InputError({source, line_no, 0, "id"}, "missing or not a positive integer");
        }
        opts.first_id = *id->as_uint();
        // SQLite integers are signed 64-bit: a larger id would be stored
        // clamped and collide with another forged one.
        if (opts.first_id > static_cast<uint64_t>(INT64_MAX)) {
            throw InputError({source, line_no, 0, "id"}, "larger than 9223372036854775807");
        }
    }
    Decoder dec(opts);
    Sink sink;
    dec.feed(line, line_no, sink);
    if (!sink.seen) {
        throw InputError({source, line_no, 0, ""}, "not a tlog message");
    }
    return sink.meta;
}

}  // namespace tlog::server
