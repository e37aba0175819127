#include "tlog/server/verify.h"

#include <ctime>
#include <functional>
#include <set>
#include <utility>

#include "tlog/decoder.h"
#include "tlog/error.h"
#include "tlog/integrity.h"
#include "tlog/server/checkpoint.h"
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

void Verifier::check_range(Store& store, const VerifyRange& range, const CheckpointReport* checkpoints,
                           const std::function<void(const RecordingCheck&)>& each) const {
    std::set<std::pair<std::string, std::string>> seen;
    auto against_entry = [&](RecordingCheck& c) {
        if (checkpoints == nullptr) return;
        seen.insert({c.host, c.rec});
        auto it = checkpoints->latest.find({c.host, c.rec});
        if (it != checkpoints->latest.end()) check_entry(store, it->second, c);
    };
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
                against_entry(gone);
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
                against_entry(*c);
                each(*c);
            }
        }
        if (page.size() < q.limit) break;
        q.after = {page.back().start_ms, page.back().host, page.back().rec};
    }
    if (checkpoints == nullptr) return;
    // Recordings a checkpoint covers that the search did not list: out of
    // the range asked for, or deleted (their sessions row too).
    const bool timed = range.since_ms || range.until_ms;
    for (const auto& [key, e] : checkpoints->latest) {
        if (seen.count(key) != 0 || (!range.host.empty() && range.host != key.first) ||
            (!range.rec.empty() && range.rec != key.second)) {
            continue;
        }
        uint64_t n = store.stored_count(key.first, key.second);
        if (timed && n > 0) continue;  // stored, outside the range
        RecordingCheck c;
        c.host = key.first;
        c.rec = key.second;
        c.messages = n;
        c.verdict = n == 0 ? "deleted" : "broken";
        if (n > 0) {
            // Its messages are there, its sessions row is not.
            c.problems.push_back("stored but not listed: its sessions row is missing");
        }
        if (n == 0) {
            check_gone(store, *checkpoints, e, c);
        } else {
            check_entry(store, e, c);
        }
        each(c);
    }
}

void check_gone(Store& store, const CheckpointReport& checkpoints, const CheckpointEntryRow& e, RecordingCheck& c) {
    auto found = checkpoints.tombstones.find({e.host, e.rec});
    const std::vector<CheckpointReport::SignedTombstone> none;
    const auto& list = found == checkpoints.tombstones.end() ? none : found->second;
    std::vector<std::string> why;
    for (auto it = list.rbegin(); it != list.rend(); ++it) {  // newest first
        const Tombstone& t = it->t;
        const std::string name = "tombstone " + std::to_string(t.id);
        if (!it->problem.empty()) {
            why.push_back(name + ": " + it->problem);
        } else if (t.rec_count < e.covered) {
            why.push_back(name + ": it covers " + std::to_string(t.rec_count) + " messages, checkpoint " +
                          std::to_string(e.seq) + " " + std::to_string(e.covered));
        } else if (t.rec_count == e.covered && t.rec_hash != e.hash) {
            why.push_back(name + ": its signed hash is not checkpoint " + std::to_string(e.seq) +
                          "'s: the messages changed before the purge");
        } else {
            c.verdict = "purged";
            c.tombstone = t.id;
            time_t secs = static_cast<time_t>(t.purged_ms / 1000);
            std::tm tm{};
            gmtime_r(&secs, &tm);
            char when[32];
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            c.label = "purged by retention (" + name + ", " + t.who + ", " + when + ")";
            return;
        }
    }
    check_entry(store, e, c);
    c.problems.insert(c.problems.end(), why.begin(), why.end());
}

void check_entry(Store& store, const CheckpointEntryRow& e, RecordingCheck& c) {
    proof::RecordingHash h;
    uint64_t after = 0;
    bool done = false;
    while (!done) {
        auto msgs = store.stored_messages(e.host, e.rec, after, 2000);
        for (const auto& [id, json] : msgs) {
            if (id > e.last_id) {
                done = true;
                break;
            }
            h.add(id, json);
            after = id;
        }
        if (msgs.size() < 2000) done = true;
    }
    std::string where = "checkpoint " + std::to_string(e.seq) + " covered " + std::to_string(e.covered) +
                        " messages (ids up to " + std::to_string(e.last_id) + ")";
    auto bad = [&](const std::string& what) {
        c.problems.push_back(what);
        if (c.verdict != "deleted") c.verdict = "broken";
    };
    if (h.count() == 0) {
        bad("recording deleted: " + where + ", none is stored");
    } else if (h.count() < e.covered) {
        bad("messages deleted: " + where + ", " + std::to_string(h.count()) + " of them are stored");
    } else if (h.count() > e.covered) {
        bad("messages inserted into the range " + where + ": " + std::to_string(h.count()) + " are stored");
    } else if (proof::hex(h.digest()) != e.hash) {
        bad("messages altered or reordered: " + where + " and their hash differs now");
    }
}

CheckpointReport verify_checkpoints(Store& store, const proof::Key& key,
                                    const std::optional<std::pair<uint64_t, std::string>>& expect) {
    CheckpointReport r;
    const std::string fp = key.fingerprint();
    uint64_t prev_seq = 0;
    proof::Digest prev_hash{};
    bool prev_ok = true;
    std::optional<std::string> expected_hash_seen;
    for (;;) {
        auto rows = store.checkpoints_after(prev_seq, 1000);
        for (const auto& row : rows) {
            ++r.checkpoints;
            r.last = row;
            std::string name = "checkpoint " + std::to_string(row.seq);
            if (row.seq != prev_seq + 1) {
                r.problems.push_back(prev_seq + 1 == row.seq - 1
                                         ? "checkpoint " + std::to_string(prev_seq + 1) + " missing (deleted)"
                                         : "checkpoints " + std::to_string(prev_seq + 1) + " to " +
                                               std::to_string(row.seq - 1) + " missing (deleted)");
                prev_ok = false;
            }
            proof::Checkpoint c;
            try {
                c = checkpoint_from_row(row);
            } catch (const std::exception& e) {
                r.problems.push_back(name + ": " + e.what());
                prev_seq = row.seq;
                prev_ok = false;
                continue;
            }
            bool ok = true;
            if (c.key_id != fp) {
                r.problems.push_back(name + ": signed by key " + c.key_id + ", not by the key given (" + fp + ")");
                ok = false;
            } else if (!key.verify(c.statement(), c.signature)) {
                r.problems.push_back(name + ": the signature does not verify: the row was altered");
                ok = false;
            }
            if (prev_ok && c.prev != prev_hash) {
                r.problems.push_back(name + ": its prev is not checkpoint " + std::to_string(prev_seq) +
                                     "'s hash: a checkpoint was altered or replaced");
                ok = false;
            }
            auto entries = store.checkpoint_entries(row.seq);
            std::vector<proof::Digest> leaves;
            bool entries_ok = entries.size() == c.entries;
            for (size_t i = 0; i < entries.size() && entries_ok; ++i) {
                try {
                    entries_ok = entries[i].leaf == i;
                    leaves.push_back(proof::leaf_hash(entry_from_row(entries[i]).canonical()));
                } catch (const std::exception&) {
                    entries_ok = false;
                }
            }
            if (!entries_ok || proof::merkle_root(leaves) != c.root) {
                r.problems.push_back(name + ": its " + std::to_string(entries.size()) +
                                     " stored entries do not give its signed root (" + std::to_string(c.entries) +
                                     " entries): an entry was altered, added or deleted");
                ok = false;
            }
            if (ok) {
                for (auto& e : entries) r.latest[{e.host, e.rec}] = std::move(e);
            }
            if (expect && expect->first == row.seq) expected_hash_seen = proof::hex(c.hash());
            prev_seq = row.seq;
            prev_hash = c.hash();
            prev_ok = true;
        }
        if (rows.size() < 1000) break;
    }
    // The tombstones, each checked against the key: only a signed one
    // excuses a recording's absence (check_gone).
    for (auto& t : list_tombstones(store)) {
        std::string problem;
        if (t.signature.empty()) {
            problem = "not signed by the checkpoint key (no signature)";
        } else if (t.key_id != fp) {
            problem = "not signed by the checkpoint key (signed by key " + t.key_id + ")";
        } else {
            try {
                if (!key.verify(tombstone_statement(t).statement(), proof::from_hex(t.signature, "signature"))) {
                    problem = "not signed by the checkpoint key (the signature does not verify: the row was altered)";
                }
            } catch (const std::exception& ex) {
                problem = std::string("not signed by the checkpoint key (") + ex.what() + ")";
            }
        }
        auto k = std::make_pair(t.host, t.rec);
        r.tombstones[k].push_back({std::move(t), std::move(problem)});
    }
    if (expect) {
        if (!expected_hash_seen) {
            r.problems.push_back("checkpoint " + std::to_string(expect->first) +
                                 " (known from outside the database) is not stored: the chain was cut at " +
                                 std::to_string(prev_seq));
        } else if (*expected_hash_seen != expect->second) {
            r.problems.push_back("checkpoint " + std::to_string(expect->first) + " has hash " + *expected_hash_seen +
                                 ", not " + expect->second + " as known from outside the database");
        }
    }
    return r;
}

VerifyReply verify_route(const VerifyService& svc, const std::string& rec, const std::string& host) {
    auto store = open_store(svc.database);
    std::string h = host.empty() ? store->host_of(rec) : host;
    auto c = h.empty() ? std::nullopt : svc.verifier->check(*store, h, rec);
    if (c && svc.key != nullptr) {
        c->entry = store->latest_entry(h, rec);
        if (c->entry) {
            try {
                load_checkpoint(*store, *svc.key, c->entry->seq);
                check_entry(*store, *c->entry, *c);
            } catch (const std::exception& e) {
                c->problems.push_back(std::string(e.what()) + ": run tlog-server verify");
            }
        }
    }
    if (!c) {
        auto e = json::Value::make_object();
        e.set("error", json::Value::make_string("no recording " + json::quote(rec) +
                                                (host.empty() ? "" : " from host " + json::quote(host))));
        e.set("status", json::Value::make_uint(404));
        return {404, json::dump(e) + "\n"};
    }
    auto o = check_json(*c);
    if (svc.key != nullptr) {
        auto e = json::Value::make_null();
        if (c->entry) {
            e = json::Value::make_object();
            e.set("seq", json::Value::make_uint(c->entry->seq));
            e.set("covered", json::Value::make_uint(c->entry->covered));
            e.set("last_id", json::Value::make_uint(c->entry->last_id));
        }
        o.set("checkpoint", std::move(e));
    }
    return {200, json::dump(o) + "\n"};
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
    if (c.tombstone != 0) o.set("tombstone", json::Value::make_uint(c.tombstone));
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
