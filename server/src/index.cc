// The indexer: follows each session's messages in id order, as far as they
// are contiguous, through librec's decoder (the integrity verdict) and the
// player's terminal model (keyframes, by the player's policy, and the
// rows of text the screen showed, by the rule of its search). What it
// found is saved with how far it got; after a restart it goes on from the
// last keyframe.
#include "tlog/server/index.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "tlog/decoder.h"
#include "tlog/error.h"
#include "tlog/integrity.h"
#include "tlog/play/keyframe_policy.h"
#include "tlog/play/screen_text.h"
#include "tlog/play/snapshot.h"
#include "tlog/play/term_model.h"

namespace tlog::server {

namespace {

// Sessions kept in memory (decoder and model) between passes; the least
// recently indexed is dropped first and resumed from its last keyframe.
constexpr size_t max_work = 64;

}  // namespace

std::optional<uint64_t> peek_uint(std::string_view line, std::string_view key) {
    std::string k = "\"" + std::string(key) + "\":";
    size_t at = line.find(k);
    if (at == std::string_view::npos) return std::nullopt;
    size_t p = at + k.size();
    while (p < line.size() && line[p] == ' ') ++p;
    uint64_t v = 0;
    size_t digits = 0;
    for (; p < line.size() && line[p] >= '0' && line[p] <= '9' && digits < 19; ++p, ++digits) {
        v = v * 10 + static_cast<uint64_t>(line[p] - '0');
    }
    if (digits == 0) return std::nullopt;
    return v;
}

struct Indexer::Keys {
    integrity::Keyring ring;
};

// One session being indexed: the decoder, the model, what the policy and
// the rendering rule need, and what was found since the last save.
struct Indexer::Work final : EventSink {
    Work(std::string h, std::string r, const IndexConfig& cfg, const integrity::Keyring* keys, uint64_t first_id)
        : host(std::move(h)), rec(std::move(r)), policy(cfg.every_bytes, cfg.every_ms) {
        DecodeOptions o;
        o.lax = true;  // the verdict, gaps and problems are reported, not thrown
        o.keys = keys;
        o.source = host + "/" + rec;
        o.first_id = first_id;
        dec = std::make_unique<Decoder>(o);
        next_id = first_id;
    }

    std::string host, rec;
    std::unique_ptr<Decoder> dec;
    play::TermModel model;
    play::KeyframePolicy policy;
    play::RowChanges rows;
    uint64_t next_id = 1;      // the id to feed next
    uint64_t pos = 0;          // the position reached (the player's summary: last event or message)
    uint64_t render_pos = 0;   // the position of the events not yet rendered
    uint64_t feeding = 0;      // the id of the message being fed
    bool mute = false;         // the anchor of a resumed chain: decoded, not played
    bool ended = false;        // the last message (with "end") was fed
    std::string broken_label;  // a verdict of broken found before a resume
    uint64_t broken_id = 0;
    std::vector<StoredKeyframe> keyframes;
    std::vector<ScreenTextRow> text;

    void render() {
        rows.render(model, [&](int row, const std::string& t) {
            // Tagged with the message whose event made the rendering: all
            // renderings from a keyframe's message on are made again,
            // identically, when the index resumes from it.
            text.push_back({feeding, render_pos, row, t});
        });
    }
    void event(const Event& ev) override {
        if (mute) return;
        if (ev.pos_ms != render_pos) {
            render();  // the screen as it stood at render_pos: one rendering, as the player's search sees it
            render_pos = ev.pos_ms;
        }
        pos = ev.pos_ms;
        switch (ev.type) {
            case Event::Type::Window: model.resize(ev.height, ev.width); break;
            case Event::Type::Output: model.feed(ev.data); break;
            case Event::Type::Input: break;
        }
    }
    void message(const MessageHeader& h) override {
        if (!mute) pos = std::max(pos, h.pos);
        ended = ended || !h.end.empty();
    }

    void feed(const std::string& line, uint64_t id) {
        if (policy.due(model, pos)) {
            // Not a rendering: the player's search renders by time only,
            // and the next message may go on at the same time.
            keyframes.push_back({policy.first() ? 0 : pos, id, model.snapshot().serialize(), rows.save(model)});
            policy.taken(model, pos);
        }
        feeding = id;
        dec->feed(line, id, *this);
        next_id = id + 1;
        if (ended) render();  // no later event will: the last rendering
    }

    IndexState state() {
        const IntegrityReport& r = dec->finish();
        IndexState s;
        s.host = host;
        s.rec = rec;
        s.indexed_through = next_id - 1;
        if (!broken_label.empty()) {
            s.verdict = "broken";
            s.label = broken_label;
            s.first_bad_id = broken_id;
        } else if (next_id == 1) {
            s.verdict = "pending";
        } else {
            s.verdict = IntegrityReport::name(r.verdict);
            s.label = r.label();
            s.first_bad_id = r.first_bad_id;
        }
        return s;
    }
};

Indexer::Indexer(std::unique_ptr<Store> store, IndexConfig cfg)
    : store_(std::move(store)), cfg_(std::move(cfg)), keys_(std::make_unique<Keys>()) {
    for (const auto& f : cfg_.key_files) {
        keys_->ring.add(integrity::load_key_file(f));
    }
}

Indexer::~Indexer() { stop(); }

void Indexer::start() {
    thread_ = std::thread([this] {
        // Ingest first: on a busy machine the indexer takes the CPU that
        // ingest leaves, and catches up when it can (Linux: a thread's own
        // nice value). A failure leaves it at the server's priority.
        setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
        loop();
    });
}

void Indexer::stop() {
    {
        std::lock_guard<std::mutex> g(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Indexer::wake() {
    {
        std::lock_guard<std::mutex> g(mu_);
        woken_ = true;
    }
    cv_.notify_all();
}

void Indexer::forget() { work_.clear(); }

bool Indexer::stopping() {
    std::lock_guard<std::mutex> g(mu_);
    return stopping_;
}

void Indexer::loop() {
    for (;;) {
        {
            std::unique_lock<std::mutex> l(mu_);
            cv_.wait_for(l, std::chrono::milliseconds(cfg_.period_ms), [&] { return woken_ || stopping_; });
            if (stopping_) return;
            woken_ = false;
        }
        try {
            run_once();
        } catch (const std::exception& e) {
            // The next pass tries again: nothing was saved of what failed.
            std::cerr << "tlog-server: indexing: " << e.what() << '\n';
            forget();
        }
    }
}

uint64_t Indexer::run_once() {
    uint64_t fed = 0;
    for (;;) {
        // Again while a session was indexed: more may have come meanwhile.
        bool any = false;
        for (const auto& t : store_->index_work(1000)) {
            if (stopping()) return fed;
            if (!store_->try_lock_index(t.host, t.rec)) continue;  // another instance has it
            try {
                index_session(t, fed);
            } catch (...) {
                store_->unlock_index(t.host, t.rec);
                throw;
            }
            store_->unlock_index(t.host, t.rec);
            any = true;
        }
        if (!any) return fed;
    }
}

// The session's state in memory, if it is where the store says the index
// is; otherwise made again from the last keyframe (a restart, another
// instance indexed it meanwhile). `redo_from`: what the store holds from
// that keyframe on is to be replaced (0: nothing).
Indexer::Work& Indexer::resume(const std::string& host, const std::string& rec, uint64_t& redo_from) {
    auto st = store_->index_state(host, rec);
    uint64_t through = st ? st->indexed_through : 0;
    auto it = std::find_if(work_.begin(), work_.end(), [&](const auto& w) { return w->host == host && w->rec == rec; });
    if (it != work_.end()) {
        if ((*it)->next_id == through + 1) {
            std::rotate(it, it + 1, work_.end());  // most recently used last
            return *work_.back();
        }
        work_.erase(it);
    }
    if (work_.size() >= max_work) work_.erase(work_.begin());
    redo_from = 0;
    auto kf = through > 0 ? store_->keyframe_at(host, rec, UINT64_MAX) : std::nullopt;
    std::unique_ptr<Work> w;
    if (!kf || kf->msg_id <= 1) {
        w = std::make_unique<Work>(host, rec, cfg_, &keys_->ring, 1);
        w->rows.reset(w->model);
        redo_from = 1;
    } else {
        // The chain goes on from the message before the keyframe, verified
        // when it was indexed: decoded again (its MAC anchors the chain),
        // not played.
        w = std::make_unique<Work>(host, rec, cfg_, &keys_->ring, kf->msg_id - 1);
        play::Snapshot snap;
        if (!play::Snapshot::deserialize(kf->snapshot, snap)) {
            throw std::runtime_error(host + "/" + rec + ": a stored keyframe does not load");
        }
        w->model.restore(snap);
        if (!w->rows.restore(w->model, kf->baseline)) {
            throw std::runtime_error(host + "/" + rec + ": a stored keyframe's screen text state does not load");
        }
        w->pos = w->render_pos = kf->pos_ms;
        w->policy.taken(w->model, kf->pos_ms);
        auto anchor = store_->messages(rec, host, kf->msg_id - 2, 1);
        if (anchor.empty() || peek_uint(anchor.front(), "id") != kf->msg_id - 1) {
            throw std::runtime_error(host + "/" + rec + ": the message before a keyframe is missing");
        }
        w->mute = true;
        w->dec->feed(anchor.front(), kf->msg_id - 1, *w);
        w->mute = false;
        w->next_id = kf->msg_id;
        redo_from = kf->msg_id;
        if (st && st->verdict == "broken" && st->first_bad_id < kf->msg_id) {
            w->broken_label = st->label;
            w->broken_id = st->first_bad_id;
        }
    }
    work_.push_back(std::move(w));
    return *work_.back();
}

// Feeds what is contiguous past the indexed point, a batch at a time,
// saving after each.
void Indexer::index_session(const IndexWork& t, uint64_t& fed) {
    // Another instance may have indexed it between the list and the lock.
    if (auto st = store_->index_state(t.host, t.rec); st && st->seen_messages >= t.messages) return;
    uint64_t redo_from = 0;
    Work& w = resume(t.host, t.rec, redo_from);
    for (;;) {
        auto msgs = store_->messages(t.rec, t.host, w.next_id - 1, cfg_.batch);
        size_t used = 0;
        bool stop = false;
        for (const auto& m : msgs) {
            // A gap: indexing waits at it until the missing message comes.
            if (peek_uint(m, "id") != w.next_id) break;
            // SIGTERM waits for a few messages, not a whole batch.
            if (used % 256 == 255 && stopping()) {
                stop = true;
                break;
            }
            w.feed(m, w.next_id);
            ++used;
        }
        fed += used;
        // Done when the contiguous messages ran out (or a gap); until then
        // the session stays on the list (seen 0), so a pass cut short by a
        // stop or a crash is taken up again.
        bool done = !stop && (used < cfg_.batch || used < msgs.size());
        IndexState st = w.state();
        st.seen_messages = done ? t.messages : 0;  // counted before these were read
        store_->save_index(st, w.keyframes, w.text, redo_from);
        w.keyframes.clear();
        w.text.clear();
        redo_from = 0;
        if (done || stop || stopping()) break;
    }
}

std::optional<SeekResult> seek(Store& store, const std::string& host, const std::string& rec, uint64_t pos_ms,
                               size_t limit) {
    auto kf = store.keyframe_at(host, rec, pos_ms);
    if (!kf) return std::nullopt;
    play::Snapshot snap;
    if (!play::Snapshot::deserialize(kf->snapshot, snap)) {
        throw std::runtime_error(host + "/" + rec + ": a stored keyframe does not load");
    }
    play::TermModel m;
    m.restore(snap);
    SeekResult r;
    r.keyframe = std::move(*kf);
    r.rows = m.rows();
    r.cols = m.cols();
    r.repaint = play::repaint(m);
    r.text = m.text();
    // The messages from the keyframe's on, as long as they start at or
    // before pos_ms: those after cannot change the screen at pos_ms.
    uint64_t after = r.keyframe.msg_id - 1;
    while (r.messages.size() < limit) {
        auto page = store.messages(rec, host, after, std::min<size_t>(limit - r.messages.size() + 1, 1000));
        if (page.empty()) return r;
        for (auto& msg : page) {
            auto id = peek_uint(msg, "id");
            auto pos = peek_uint(msg, "pos");
            if (!id || *id != after + 1 || !pos || *pos > pos_ms) return r;  // a gap, or past pos_ms
            if (r.messages.size() == limit) {
                r.more = true;
                return r;
            }
            r.messages.push_back(std::move(msg));
            after = *id;
        }
    }
    return r;
}

}  // namespace tlog::server
