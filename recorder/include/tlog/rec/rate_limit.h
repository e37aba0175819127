// Rate limiting of the recorded data (limit.rate, limit.burst,
// limit.action): a token bucket over the bytes handed to the encoder.
//   pass   no limit
//   delay  the relay waits (the program is slowed down) until the bucket allows the data
//   drop   the data above the limit is not recorded; DropRecord keeps the
//          count and SHA-256 of what was dropped, written into the next
//          message as a "dropped" field, so a drop is never a silent gap.
#pragma once

#include "tlog/sha256.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tlog::rec {

class RateLimiter {
public:
    enum class Action { Pass, Delay, Drop };
    static Action parse_action(const std::string& s);  // throws std::invalid_argument

    RateLimiter(Action action, uint64_t rate, uint64_t burst, int64_t now_ns);

    struct Decision {
        bool take = true;     // false: drop the data
        int64_t wait_ns = 0;  // delay: sleep this long first
    };
    Decision decide(int64_t now_ns, size_t bytes);
    Action action() const { return action_; }

private:
    Action action_;
    double rate_, burst_, tokens_;
    int64_t last_ns_;
};

// Counts and hashes dropped data until it is reported.
class DropRecord {
public:
    DropRecord();
    ~DropRecord();
    void add(bool input, uint64_t pos_ms, std::string_view data);
    bool empty() const { return in_bytes_ + out_bytes_ == 0; }
    // The value of the "dropped" field of the next message, e.g.
    // {"in_bytes":0,"out_bytes":123,"sha256":"...","from":5,"to":900}
    // (sha256 over the dropped bytes in order, input and output together),
    // then starts a new record.
    std::string take_value();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    uint64_t in_bytes_ = 0, out_bytes_ = 0, from_ = 0, to_ = 0;
};

}  // namespace tlog::rec
