#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "tlog/writers/writer.h"

namespace tlog::writers {

namespace {

struct Name {
    const char* name;
    int code;
};
const Name kFacilities[] = {
    {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},     {"daemon", LOG_DAEMON},
    {"ftp", LOG_FTP},       {"kern", LOG_KERN},         {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
    {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},     {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},     {"lpr", LOG_LPR},       {"mail", LOG_MAIL},
    {"news", LOG_NEWS},     {"syslog", LOG_SYSLOG},     {"user", LOG_USER},     {"uucp", LOG_UUCP},
};
const Name kPriorities[] = {
    {"emerg", LOG_EMERG},     {"alert", LOG_ALERT},   {"crit", LOG_CRIT}, {"err", LOG_ERR},
    {"warning", LOG_WARNING}, {"notice", LOG_NOTICE}, {"info", LOG_INFO}, {"debug", LOG_DEBUG},
};

class SyslogWriter : public MessageSink {
public:
    SyslogWriter(std::string ident, int facility, int priority, std::string path)
        : ident_(std::move(ident)), pri_(facility | priority), path_(std::move(path)) {
        connect_socket();
    }
    ~SyslogWriter() override {
        if (fd_ >= 0) ::close(fd_);
    }
    void write(const EncodedMessage& m) override {
        std::string_view body = m.line;
        if (!body.empty() && body.back() == '\n') body.remove_suffix(1);
        char head[128];
        time_t now = time(nullptr);
        struct tm tm;
        localtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%b %e %T", &tm);
        int hl =
            snprintf(head, sizeof head, "<%d>%s %s[%d]: ", pri_, stamp, ident_.c_str(), static_cast<int>(getpid()));
        msg_.assign(head, static_cast<size_t>(hl));
        msg_.append(body);
        for (int attempt = 0; attempt < 2; attempt++) {
            if (fd_ >= 0 && ::send(fd_, msg_.data(), msg_.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(msg_.size()))
                return;
            int e = fd_ < 0 ? ENOTCONN : errno;
            if (e == ENOBUFS || e == EAGAIN) {
                // The syslog daemon is behind: wait for it rather than lose data.
                usleep(1000);
                attempt--;
                if (++busy_ > 5000) throw WriterError("syslog: " + path_ + " does not accept messages: " + strerror(e));
                continue;
            }
            busy_ = 0;
            if (attempt == 0) {
                // The daemon may have been restarted: reconnect once.
                try {
                    connect_socket();
                } catch (const WriterError&) {}
                continue;
            }
            throw WriterError("syslog: cannot send to " + path_ + ": " + strerror(e));
        }
    }

private:
    void connect_socket() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw WriterError(std::string("syslog: socket: ") + strerror(errno));
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        if (path_.size() >= sizeof sa.sun_path) throw WriterError("syslog: socket path too long: " + path_);
        memcpy(sa.sun_path, path_.c_str(), path_.size() + 1);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
            int e = errno;
            ::close(fd_);
            fd_ = -1;
            throw WriterError("syslog: cannot connect to " + path_ + ": " + strerror(e));
        }
    }
    std::string ident_;
    int pri_;
    std::string path_;
    int fd_ = -1;
    int busy_ = 0;
    std::string msg_;
};

}  // namespace

int syslog_facility_code(const std::string& name) {
    for (const auto& n : kFacilities)
        if (name == n.name) return n.code;
    return -1;
}

int syslog_priority_code(const std::string& name) {
    for (const auto& n : kPriorities)
        if (name == n.name) return n.code;
    return -1;
}

std::unique_ptr<MessageSink> make_syslog_writer(const std::string& ident, int facility, int priority,
                                                const std::string& socket_path) {
    return std::make_unique<SyslogWriter>(ident, facility, priority, socket_path);
}

}  // namespace tlog::writers
