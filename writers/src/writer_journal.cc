#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <type_traits>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "tlog/writers/writer.h"

namespace tlog::writers {

namespace {

constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

// libsystemd is loaded only when the journal writer is used: librec (linked
// by PAM and NSS modules too) does not depend on it, and a recorder writing
// to a file does not map it and the libraries it pulls in (~0.6 MB RSS).
using SendvFn = int (*)(const struct iovec*, int);
SendvFn load_sendv() {
    static SendvFn fn = nullptr;
    if (fn) return fn;
    void* h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) throw WriterError(std::string("journal: cannot load libsystemd.so.0: ") + dlerror());
    fn = reinterpret_cast<SendvFn>(dlsym(h, "sd_journal_sendv"));
    if (!fn) throw WriterError("journal: libsystemd.so.0 has no sd_journal_sendv");
    // Checked against the header's declaration at compile time:
    static_assert(std::is_same_v<decltype(&sd_journal_sendv), SendvFn>);
    return fn;
}

// sd_journal_send() reports success when journald is not there at all, so
// the writer checks that the socket is served before trusting it.
void check_journald() {
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw WriterError(std::string("journal: socket: ") + strerror(errno));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, kJournalSocket);
    int r = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    int e = errno;
    ::close(fd);
    if (r != 0)
        throw WriterError(std::string("journal: journald is not running (") + kJournalSocket + ": " + strerror(e) +
                          ")");
}

class JournalWriter : public MessageSink {
public:
    JournalWriter(const std::string& ident, int priority, bool augment, const RecordingInfo& info)
        : augment_(augment), info_(info) {
        check_journald();
        sendv_ = load_sendv();
        ident_ = "SYSLOG_IDENTIFIER=" + ident;
        prio_ = "PRIORITY=" + std::to_string(priority);
        rec_ = "TLOG_REC=" + info.rec;
        user_ = "TLOG_USER=" + info.user;
        session_ = "TLOG_SESSION=" + std::to_string(info.session);
    }
    void write(const EncodedMessage& m) override {
        std::string_view body = m.line;
        if (!body.empty() && body.back() == '\n') body.remove_suffix(1);
        msg_.assign("MESSAGE=");
        msg_.append(body);
        std::string id = "TLOG_ID=" + std::to_string(m.id);
        iovec iov[7];
        int n = 0;
        auto add = [&](const std::string& s) { iov[n++] = {const_cast<char*>(s.data()), s.size()}; };
        add(msg_);
        add(prio_);
        add(ident_);
        if (augment_) {
            add(rec_);
            add(user_);
            add(session_);
            add(id);
        }
        int r = sendv_(iov, n);
        if (r < 0) throw WriterError(std::string("journal: cannot send: ") + strerror(-r));
        // A missing socket reads as success: check that journald is still there.
        struct stat st;
        if (::stat(kJournalSocket, &st) != 0) throw WriterError("journal: journald went away (message may be lost)");
    }

private:
    bool augment_;
    SendvFn sendv_ = nullptr;
    RecordingInfo info_;
    std::string ident_, prio_, rec_, user_, session_, msg_;
};

}  // namespace

std::unique_ptr<MessageSink> make_journal_writer(const std::string& ident, int priority, bool augment,
                                                 const RecordingInfo& info) {
    return std::make_unique<JournalWriter>(ident, priority, augment, info);
}

}  // namespace tlog::writers
