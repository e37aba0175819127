// The systemd journal as a source: the recorder's entries, read with the
// player's journal reader (the same trusted-_UID check), resumed from the
// cursor of the last acknowledged entry.
#include "tlog/play/journal_source.h"

#include "internal.h"
#include "tlog/error.h"

namespace tlog::forward {

namespace {

class JournalSource final : public Source {
public:
    JournalSource(const JournalOptions& o, const std::string& state_dir)
        : name_(o.ns.empty() ? "journal" : "journal:" + o.ns),
          state_(state_path(state_dir, "journal", o.ns.empty() ? "default" : o.ns)),
          entries_(std::make_shared<play::JournalEntries>("")) {
        play::JournalQuery q;
        q.matches = o.matches;
        q.ns = o.ns;
        for (const auto& u : o.recorder_users) {
            q.recorder_uids.push_back(play::parse_recorder_user(u));
        }
        if (auto v = read_state(state_)) {
            const auto* c = v->find("cursor");
            if (c == nullptr || !c->is_string() || c->as_string().empty()) {
                throw InputError({state_, v->line, v->column, "cursor"}, "expected a journal cursor");
            }
            committed_ = q.after_cursor = c->as_string();
        }
        reader_ = std::make_unique<play::JournalReader>(q, entries_);
        if (!reader_->lost_after_cursor().empty()) {
            ++counters.lost_gaps;
            log("warning", name_,
                "the last delivered entry is no longer in the journal (vacuumed): " + reader_->lost_after_cursor() +
                    " were never delivered and are skipped; continuing with the oldest entry left",
                {{"cursor", committed_}, {"lost_gaps_total", std::to_string(counters.lost_gaps.load())}});
        }
    }

    const std::string& name() const override { return name_; }

    bool read(Batch& b, size_t max_lines, size_t max_bytes) override {
        if (!carry_.empty()) {
            add(b, carry_, carry_cursor_);
            carry_.clear();
        }
        std::string msg;
        std::string cursor;
        while (b.where.size() < max_lines && reader_->next(msg, cursor)) {
            if (msg.find_first_not_of(" \t\r") == std::string::npos) {
                pending_ = cursor;  // nothing to send
                continue;
            }
            if (!b.empty() && b.body.size() + msg.size() + 1 > max_bytes) {
                carry_ = std::move(msg);
                carry_cursor_ = cursor;
                break;
            }
            add(b, msg, cursor);
        }
        for (const auto& f : entries_->take_forged()) {
            log("warning", name_, "entry with a recording's fields not written by the recorder: not sent",
                {{"entry", f.name}, {"uid", f.uid}, {"rec", f.rec}});
        }
        return !b.empty();
    }

    void commit() override {
        if (pending_.empty() || pending_ == committed_) {
            return;
        }
        auto v = json::Value::make_object();
        v.set("cursor", json::Value::make_string(pending_));
        write_state(state_, v);
        committed_ = pending_;
    }

    void wait(double seconds) override { reader_->wait(static_cast<uint64_t>(seconds * 1e6)); }

private:
    void add(Batch& b, const std::string& msg, const std::string& cursor) {
        b.body.append(msg);
        b.body.push_back('\n');
        b.where.push_back("journal entry " + cursor);
        pending_ = cursor;
    }

    std::string name_, state_;
    std::shared_ptr<play::JournalEntries> entries_;
    std::unique_ptr<play::JournalReader> reader_;
    std::string committed_, pending_;
    std::string carry_, carry_cursor_;
};

}  // namespace

std::unique_ptr<Source> make_journal_source(const JournalOptions& o, const std::string& state_dir) {
    return std::make_unique<JournalSource>(o, state_dir);
}

}  // namespace tlog::forward
