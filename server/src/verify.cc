#include "tlog/server/verify.h"

#include <functional>
#include <utility>

#include "tlog/decoder.h"
#include "tlog/error.h"
#include "tlog/integrity.h"
#include "tlog/server/index.h"

namespace tlog::server {

namespace {

constexpr size_t max_problems = 20;

// Collects what the decoder says of each message; the events themselves
// are not needed.
struct Collect final : EventSink {
    RecordingCheck& out;
    explicit Collect(RecordingCheck& c) : out(c) {}
    std::string expect_host, expect_rec;
    uint64_t feeding = 0;  // the message's id (as its JSON says it)

    void add(std::string what) {
        if (out.problems.size() < max_problems) {
            out.problems.push_back(std::move(what));
        } else {
            ++out.more_problems;
        }
    }
    void event(const Event& /*ev*/) override {}
    void message(const MessageHeader& h) override {
        // A message stored under this recording must name it: one moved
        // from another recording (whose chain may verify on its own) is
        // refused here.
        if (h.host != expect_host || h.rec != expect_rec) {
            add("message " + std::to_string(feeding) + ": stored as " + expect_host + "/" + expect_rec + " but names " +
                std::string(h.host) + "/" + std::string(h.rec));
        }
    }
    void problem(const Problem& p) override {
        std::string s = "message " + std::to_string(p.where.line);
        if (!p.where.field.empty()) s += " field '" + p.where.field + "'";
        add(s + ": " + p.what);
    }
};

}  // namespace

struct Verifier::Keys {
    integrity::Keyring ring;
};

Verifier::Verifier(const std::vector<std::string>& key_files) : keys_(std::make_unique<Keys>()) {
    for (const auto& f : key_files) keys_->ring.add(integrity::load_key_file(f));
}

Verifier::~Verifier() = default;

std::optional<RecordingCheck> Verifier::check(Store& store, const std::string& host, const std::string& rec,
                                              size_t page) const {
    RecordingCheck c;
    c.host = host;
    c.rec = rec;
    Collect sink(c);
    sink.expect_host = host;
    sink.expect_rec = rec;
    DecodeOptions o;
    o.lax = true;  // every problem reported, not the first thrown
    o.keys = &keys_->ring;
    o.source = host + "/" + rec;
    Decoder dec(o);
    // Read in the stored order (the ids the store keeps); the decoder
    // checks the id each JSON carries, so ids changed in the database show
    // as messages out of order or missing.
    uint64_t after = 0;
    bool unreadable = false;
    for (;;) {
        std::vector<std::pair<uint64_t, std::string>> msgs;
        try {
            msgs = store.stored_messages(host, rec, after, page);
        } catch (const std::exception& e) {
            // A batch missing or not decompressing to its stored size.
            sink.add("messages after " + std::to_string(after) + " unreadable: " + e.what());
            unreadable = true;
            break;
        }
        for (const auto& [stored_id, m] : msgs) {
            ++c.messages;
            auto id = peek_uint(m, "id");
            if (id != stored_id) {
                sink.add("message stored as " + std::to_string(stored_id) + " carries id " +
                         (id ? std::to_string(*id) : std::string("none")));
            }
            sink.feeding = id.value_or(stored_id);
            dec.feed(m, sink.feeding, sink);
            after = stored_id;
        }
        if (msgs.size() < page) break;
    }
    if (c.messages == 0 && !unreadable) return std::nullopt;
    const IntegrityReport& r = dec.finish();
    c.verdict = unreadable ? "broken" : IntegrityReport::name(r.verdict);
    c.label = r.label();
    c.first_bad_id = r.first_bad_id;
    if (r.verdict == IntegrityReport::Verdict::Broken && c.problems.empty()) sink.add(r.str());
    if (r.verdict == IntegrityReport::Verdict::Incomplete) sink.add("no message carries end (cut short, or live)");
    if (r.verdict == IntegrityReport::Verdict::Unverifiable || r.verdict == IntegrityReport::Verdict::Unprotected) {
        sink.add(r.label());
    }
    return c;
}

void Verifier::check_range(Store& store, const VerifyRange& range,
                           const std::function<void(const RecordingCheck&)>& each) const {
    SessionQuery q;
    q.host = range.host;
    q.since_ms = range.since_ms;
    q.until_ms = range.until_ms;
    q.limit = 500;
    if (!range.rec.empty()) q.conditions.push_back({"s.rec = ?", {SqlValue::str(range.rec)}, {}, {}});
    for (;;) {
        auto page = store.sessions(q);
        for (const auto& s : page) {
            auto c = check(store, s.host, s.rec);
            if (!c) {
                // Listed but no message readable: its messages were deleted.
                RecordingCheck gone;
                gone.host = s.host;
                gone.rec = s.rec;
                gone.verdict = "broken";
                gone.problems.push_back("no stored message, though " + std::to_string(s.messages) +
                                        " were stored (ids " + std::to_string(s.first_id) + " to " +
                                        std::to_string(s.last_id) + ")");
                each(gone);
            } else {
                // The sessions row counts every message stored; fewer read
                // back (the last ones deleted leave the chain incomplete,
                // not broken) is named.
                if (c->messages != s.messages) {
                    c->problems.insert(c->problems.begin(), std::to_string(s.messages) + " messages stored (ids " +
                                                                std::to_string(s.first_id) + " to " +
                                                                std::to_string(s.last_id) + "), " +
                                                                std::to_string(c->messages) + " read back");
                    if (c->verdict == "intact" || c->verdict == "incomplete") c->verdict = "broken";
                }
                each(*c);
            }
        }
        if (page.size() < q.limit) break;
        q.after = {page.back().start_ms, page.back().host, page.back().rec};
    }
}

VerifyReply verify_route(const VerifyService& svc, const std::string& rec, const std::string& host) {
    auto store = open_store(svc.database);
    std::string h = host.empty() ? store->host_of(rec) : host;
    auto c = h.empty() ? std::nullopt : svc.verifier->check(*store, h, rec);
    if (!c) {
        auto e = json::Value::make_object();
        e.set("error", json::Value::make_string("no recording " + json::quote(rec) +
                                                (host.empty() ? "" : " from host " + json::quote(host))));
        e.set("status", json::Value::make_uint(404));
        return {404, json::dump(e) + "\n"};
    }
    return {200, json::dump(check_json(*c)) + "\n"};
}

json::Value check_json(const RecordingCheck& c) {
    auto o = json::Value::make_object();
    o.set("host", json::Value::make_string(c.host));
    o.set("rec", json::Value::make_string(c.rec));
    o.set("messages", json::Value::make_uint(c.messages));
    o.set("verdict", json::Value::make_string(c.verdict));
    o.set("label", json::Value::make_string(c.label));
    o.set("first_bad_id", c.first_bad_id != 0 ? json::Value::make_uint(c.first_bad_id) : json::Value::make_null());
    o.set("intact", json::Value::make_bool(c.intact()));
    auto p = json::Value::make_array();
    for (const auto& s : c.problems) p.items().push_back(json::Value::make_string(s));
    o.set("problems", std::move(p));
    o.set("more_problems", json::Value::make_uint(c.more_problems));
    return o;
}

std::string check_line(const RecordingCheck& c) {
    std::string s = c.host + "/" + c.rec + ": " + (c.label.empty() ? c.verdict : c.label) + ", " +
                    std::to_string(c.messages) + " messages";
    for (size_t i = 0; i < c.problems.size(); ++i) s += (i == 0 ? ": " : "; ") + c.problems[i];
    if (c.more_problems > 0) s += "; and " + std::to_string(c.more_problems) + " more";
    return s;
}

}  // namespace tlog::server
