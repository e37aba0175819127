#include "tlog/rec/rate_limit.h"

#include <algorithm>
#include <stdexcept>

#include "tlog/json.h"

namespace tlog::rec {

RateLimiter::Action RateLimiter::parse_action(const std::string& s) {
    if (s == "pass") return Action::Pass;
    if (s == "delay") return Action::Delay;
    if (s == "drop") return Action::Drop;
    throw std::invalid_argument("limit.action: expected pass, delay or drop, got \"" + s + "\"");
}

RateLimiter::RateLimiter(Action action, uint64_t rate, uint64_t burst, int64_t now_ns)
    : action_(action),
      rate_(static_cast<double>(rate)),
      burst_(static_cast<double>(burst)),
      tokens_(static_cast<double>(burst)),
      last_ns_(now_ns) {
    if (rate_ <= 0) action_ = action == Action::Pass ? Action::Pass : action;
}

RateLimiter::Decision RateLimiter::decide(int64_t now_ns, size_t bytes) {
    Decision d;
    if (action_ == Action::Pass) return d;
    if (now_ns > last_ns_) {
        tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now_ns - last_ns_) / 1e9);
        last_ns_ = now_ns;
    }
    double n = static_cast<double>(bytes);
    // A piece larger than the whole burst passes when the bucket is full,
    // else nothing that large would ever be recorded.
    if (tokens_ >= n) {
        tokens_ -= n;
        return d;
    }
    if (n > burst_ && tokens_ >= burst_) {
        // An oversized piece empties the bucket (no debt: a drop limiter
        // must recover as soon as the rate allows again).
        tokens_ = action_ == Action::Drop ? 0 : tokens_ - n;
        if (action_ == Action::Delay && rate_ > 0 && tokens_ < 0)
            d.wait_ns = static_cast<int64_t>(-tokens_ / rate_ * 1e9);
        return d;
    }
    if (action_ == Action::Drop) {
        d.take = false;
        return d;
    }
    // Delay: take it now and wait until the debt is paid.
    tokens_ -= n;
    if (rate_ > 0)
        d.wait_ns = static_cast<int64_t>(-tokens_ / rate_ * 1e9);
    else
        d.wait_ns = 0;
    return d;
}

struct DropRecord::Impl {
    Sha256 sha;
};

DropRecord::DropRecord() : impl_(std::make_unique<Impl>()) {}
DropRecord::~DropRecord() = default;

void DropRecord::add(bool input, uint64_t pos_ms, std::string_view data) {
    if (empty()) from_ = pos_ms;
    to_ = pos_ms;
    (input ? in_bytes_ : out_bytes_) += data.size();
    impl_->sha.update(data);
}

std::string DropRecord::take_value() {
    json::Value v = json::Value::make_object();
    v.set("in_bytes", json::Value::make_uint(in_bytes_));
    v.set("out_bytes", json::Value::make_uint(out_bytes_));
    v.set("sha256", json::Value::make_string(impl_->sha.hex_and_reset()));
    v.set("from", json::Value::make_uint(from_));
    v.set("to", json::Value::make_uint(to_));
    in_bytes_ = out_bytes_ = from_ = to_ = 0;
    return json::dump(v);
}

}  // namespace tlog::rec
