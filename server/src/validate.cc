// Validation of ingested message lines by librec's decoder.
#include "tlog/server/validate.h"

#include <algorithm>
#include <climits>
#include <ctime>
#include <utility>

#include "tlog/decoder.h"
#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/rec_id.h"
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
        meta.end = !h.end.empty();
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

std::optional<uint64_t> audit_time_ms(std::string_view t) {
    constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (t.size() != shape.size()) {
        return std::nullopt;
    }
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != shape[i]) {
            return std::nullopt;
        }
    }
    auto num = [&](size_t at, size_t n) {
        int v = 0;
        for (size_t i = at; i < at + n; ++i) {
            v = v * 10 + (t[i] - '0');
        }
        return v;
    };
    std::tm tm{};
    tm.tm_year = num(0, 4) - 1900;
    tm.tm_mon = num(5, 2) - 1;
    tm.tm_mday = num(8, 2);
    tm.tm_hour = num(11, 2);
    tm.tm_min = num(14, 2);
    tm.tm_sec = num(17, 2);
    std::tm given = tm;
    time_t secs = timegm(&tm);
    // timegm normalises 02-30 to 03-02: such a date is refused, not moved.
    if (secs < 0 || tm.tm_mday != given.tm_mday || tm.tm_mon != given.tm_mon || tm.tm_hour != given.tm_hour ||
        tm.tm_min != given.tm_min || tm.tm_sec != given.tm_sec) {
        return std::nullopt;
    }
    return static_cast<uint64_t>(secs) * 1000 + static_cast<uint64_t>(num(20, 3));
}

AuditMeta check_audit_event(std::string_view line, uint64_t line_no) {
    if (!utf8::is_valid(line)) {
        throw InputError({"", line_no, first_invalid_utf8(line), ""}, "not valid UTF-8");
    }
    json::Value v;
    try {
        v = json::parse(line, "");
    } catch (const InputError& e) {
        throw InputError({"", line_no, e.where().column, e.where().field}, e.message());
    }
    if (!v.is_object()) {
        throw InputError({"", line_no, 0, ""}, "not a JSON object (a tlog-audit event)");
    }
    auto fail = [&](const char* field, const std::string& what) { throw InputError({"", line_no, 0, field}, what); };
    // PostgreSQL's text holds no NUL; refused on both backends alike.
    auto text = [&](const char* field, bool required) -> std::string {
        const auto* f = v.find(field);
        if (f == nullptr) {
            if (required) {
                fail(field, "missing");
            }
            return {};
        }
        if (!f->is_string()) {
            fail(field, std::string("expected a string, found ") + json::type_name(f->type()));
        }
        if (f->as_string().find('\0') != std::string::npos) {
            fail(field, "contains a NUL character");
        }
        return f->as_string();
    };
    // Both backends' integers are signed 64-bit.
    auto uint = [&](const char* field, const json::Value& f) -> uint64_t {
        auto n = f.is_number() ? f.as_uint() : std::nullopt;
        if (!n) {
            fail(field, "expected an unsigned integer");
        }
        if (*n > static_cast<uint64_t>(INT64_MAX)) {
            fail(field, "larger than 9223372036854775807");
        }
        return *n;
    };
    AuditMeta m;
    const auto* serial = v.find("serial");
    if (serial == nullptr) {
        fail("serial", "missing");
    }
    m.serial = uint("serial", *serial);
    auto time = text("time", true);
    auto ms = audit_time_ms(time);
    if (!ms) {
        fail("time", "expected UTC time as YYYY-MM-DDTHH:MM:SS.mmmZ, found " + json::quote(time));
    }
    m.time_ms = *ms;
    m.host = text("host", true);
    if (m.host.empty()) {
        fail("host", "empty");
    }
    const auto* ses = v.find("ses");
    if (ses == nullptr) {
        fail("ses", "missing (null when the event has no audit session)");
    }
    if (!ses->is_null()) {
        m.ses = uint("ses", *ses);
    }
    if (v.find("rec") != nullptr) {
        m.rec = text("rec", false);
        if (!is_recording_id(m.rec)) {
            fail("rec", "not a recording id (1 to 128 letters, digits, '-', '_', '.' or ':'): " + json::quote(m.rec));
        }
    }
    m.type = text("type", false);
    const auto* op = v.find("op");
    m.session_start =
        !m.rec.empty() && m.ses && op != nullptr && op->is_string() && op->as_string() == "tlog-session-start";
    // Indexed for searches, not checked: a string field of another type
    // (or with a NUL, which PostgreSQL's text cannot hold) counts as absent.
    auto opt_text = [&](const char* field) -> std::string {
        const auto* f = v.find(field);
        // "?": libaudit's and pam_tlog's word for no value.
        if (f == nullptr || !f->is_string() || f->as_string() == "?" ||
            f->as_string().find('\0') != std::string::npos) {
            return {};
        }
        return f->as_string();
    };
    auto first_of = [&](const char* a, const char* b) {
        auto t = opt_text(a);
        return t.empty() ? opt_text(b) : t;
    };
    m.user = first_of("acct", "auid_name");
    if (m.user == "unset") {  // auid 4294967295: no login user
        m.user.clear();
    }
    if (m.session_start) {
        m.service = opt_text("service");
        // libaudit's terminal= (the login's tty), else pam_tlog's own tty=.
        m.tty = first_of("terminal", "tty");
        m.rhost = first_of("rhost", "addr");
        const auto* failed = v.find("failed_auth_before");
        m.failed_auth_before = failed != nullptr && failed->is_array() ? failed->items().size() : 0;
    }
    return m;
}

}  // namespace tlog::server
