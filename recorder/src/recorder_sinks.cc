#include "tlog/rec/recorder_sinks.h"

#include <fcntl.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <iostream>

#include "tlog/json.h"
#include "tlog/rec/relay.h"
#include "tlog/writers/writer.h"

namespace tlog::rec {

namespace {
std::string g_prog = "tlog-rec";
}  // namespace

void set_program_name(const std::string& name) { g_prog = name; }

void audit_log(int prio, const std::string& msg) {
    openlog(g_prog.c_str(), LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
    syslog(prio, "%s", msg.c_str());
    closelog();
}

void user_error(const std::string& msg) { std::cerr << g_prog << ": " << msg << std::endl; }

GuardSink::GuardSink(MessageSink* inner, bool lax, std::string writer, const std::string& start_error)
    : inner_(inner), lax_(lax), writer_(std::move(writer)) {
    if (!inner_) {
        failed_ = true;  // everything is lost, and said so
        error_ = start_error.empty() ? "the writer could not be started" : start_error;
    }
}

void GuardSink::fail(const std::string& what, const std::string& lost) {
    failed_ = true;
    error_ = what;
    user_error("recording writer failed: " + what +
               (lax_ ? " (lax: the session goes on unrecorded)" : " (ending the session)"));
    audit_log(LOG_ERR, "writer " + writer_ + " failed: " + what + "; " + lost +
                           (lax_ ? "; session continues (lax)" : "; session ended"));
    if (!lax_) relay_request_stop("writer failed: " + what);
}

void GuardSink::write(const EncodedMessage& m) {
    if (inner_ && !failed_) {
        try {
            inner_->write(m);
            return;
        } catch (const std::exception& e) {
            fail(e.what(), "message " + std::to_string(m.id) + " and later are lost");
        }
    }
    if (!lost_) first_lost_ = m.id;
    lost_++;
    lost_bytes_ += m.line.size();
    sha_.update(m.line);
    last_lost_ = m.id;
}

void GuardSink::flush_buffer() {
    auto* b = dynamic_cast<writers::BufferedWriter*>(inner_);
    if (!b || failed_) return;
    uint64_t n = b->buffered_messages();
    try {
        b->flush_buffer();
    } catch (const std::exception& e) {
        lost_ += n;
        fail(e.what(), std::to_string(n) + " buffered message(s) and later ones are lost");
    }
}

int64_t GuardSink::buffered_since() const {
    auto* b = dynamic_cast<writers::BufferedWriter*>(inner_);
    return b && !failed_ ? b->buffered_since() : INT64_MAX;
}

void GuardSink::report(const RecordingInfo& info) {
    if (!lost_) return;
    std::string sha = sha_.hex_and_reset();
    std::string msg = "writer " + writer_ + " lost " + std::to_string(lost_) + " message(s), ids " +
                      std::to_string(first_lost_) + ".." + std::to_string(last_lost_) + ", " +
                      std::to_string(lost_bytes_) + " bytes, sha256 " + sha + " (" + error_ + ")";
    audit_log(LOG_ERR, msg);
    user_error(msg);
    int fd = ::open(kLossLog, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0) return;
    json::Value v = json::Value::make_object();
    v.set("time", json::Value::make_uint(static_cast<uint64_t>(time(nullptr))));
    v.set("host", json::Value::make_string(info.host));
    v.set("rec", json::Value::make_string(info.rec));
    v.set("user", json::Value::make_string(info.user));
    v.set("session", json::Value::make_uint(info.session));
    v.set("writer", json::Value::make_string(writer_));
    v.set("error", json::Value::make_string(error_));
    v.set("lost_messages", json::Value::make_uint(lost_));
    v.set("first_id", json::Value::make_uint(first_lost_));
    v.set("last_id", json::Value::make_uint(last_lost_));
    v.set("bytes", json::Value::make_uint(lost_bytes_));
    v.set("sha256", json::Value::make_string(sha));
    const std::string line = json::dump(v) + "\n";
    (void)!::write(fd, line.data(), line.size());
    ::close(fd);
}

}  // namespace tlog::rec
