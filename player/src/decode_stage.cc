#include "decode_stage.h"

namespace tlog::play {

namespace {
DecodeOptions decode_options(const std::string& path, bool lax, const integrity::Keyring* keys) {
    DecodeOptions o;
    o.lax = lax;
    o.keys = keys;
    o.source = path;
    return o;
}
}  // namespace

DecodeStage::DecodeStage(const std::string& path, const std::string& rec, bool lax, const integrity::Keyring* keys)
    : src_(path), dec_(decode_options(path, lax, keys)), select_(rec) {}

bool DecodeStage::run(LineEvents& out) {
    std::string_view line;
    uint64_t off = 0, no = 0;
    while (src_.next(line, off, no)) {
        if (!select_.take(line)) continue;
        LineMark mark{off, no, dec_.next_id(), line.size()};
        out.line_start(mark);
        dec_.feed(line, no, out);
        out.line_end(mark);
        if (out.full()) return true;
    }
    return false;
}

DecodeThread::DecodeThread(std::unique_ptr<DecodeStage> stage) : stage_(std::move(stage)) {
    for (size_t i = 0; i < kBatches; i++) free_.push_back(std::make_unique<EventBatch>());
    thread_ = std::thread([this] { produce(); });
}

DecodeThread::~DecodeThread() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void DecodeThread::produce() {
    // Nothing may escape a thread function: errors go to the consumer, in order.
    std::unique_ptr<EventBatch> b;
    try {
        for (bool more = true; more;) {
            {
                std::unique_lock lk(mu_);
                cv_.wait(lk, [&] { return stop_ || !free_.empty(); });
                if (stop_) return;
                b = std::move(free_.front());
                free_.pop_front();
            }
            more = stage_->run(*b);
            std::lock_guard lk(mu_);
            full_.push_back(std::move(b));
            if (!more) {
                report_ = stage_->finish();
                finished_ = true;
            }
            cv_.notify_all();
        }
    } catch (...) {
        std::lock_guard lk(mu_);
        if (b) full_.push_back(std::move(b));  // the lines decoded before the error
        error_ = std::current_exception();
        finished_ = true;
        cv_.notify_all();
    }
}

EventBatch* DecodeThread::next() {
    if (lent_) lent_->clear();
    std::unique_lock lk(mu_);
    if (lent_) {
        free_.push_back(std::move(lent_));
        cv_.notify_all();
    }
    cv_.wait(lk, [&] { return !full_.empty() || finished_; });
    if (!full_.empty()) {
        lent_ = std::move(full_.front());
        full_.pop_front();
        return lent_.get();
    }
    if (error_) std::rethrow_exception(error_);
    return nullptr;
}

}  // namespace tlog::play
