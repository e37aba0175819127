// Writes N recordings of interactive shell sessions, as tlog-rec-session
// makes them, for the server's ingest benchmark: one file a recording, each
// valid and chained (unkeyed SHA-256), messages cut at the recorder's
// default payload (2048) or when output waits 10 s (its latency flush).
//
//   bench-server-gen DIR N [KB_PER_RECORDING] [PAYLOAD] [interactive|tail]
//
// A session is a loop of: a prompt, a command typed one echoed key at a
// time (100-300 ms apart), then what the command prints: `ls -l` listings,
// syslog lines, compiler output, a `top`-like full-screen redraw, a file
// with UTF-8 text, or nothing; then a pause (1-60 s). Recordings differ by
// host, user, seed and size (0.25x to 2x KB_PER_RECORDING), so messages
// repeat their header but not their text. Prints the files, messages and
// bytes written.
//
// `tail` makes log-tailing sessions instead (the capacity model's second
// kind, doc/capacity.md): `tail -f` typed once, then syslog lines, about
// 4 a second (400 bytes/s), until the size is reached.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include "tlog/encoder.h"

namespace {

class FileSink : public tlog::MessageSink {
public:
    explicit FileSink(const std::string& path)
        : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) {
        if (fd_ < 0) throw std::runtime_error("cannot create " + path);
    }
    FileSink(const FileSink&) = delete;
    FileSink& operator=(const FileSink&) = delete;
    // main() drains before the end; a failure here is already reported.
    ~FileSink() override { ::close(fd_); }
    void write(const tlog::EncodedMessage& m) override {
        buf_.append(m.line);
        bytes += m.line.size();
        messages++;
        if (buf_.size() > (1U << 20U)) drain();
    }
    void drain() {
        const char* p = buf_.data();
        size_t n = buf_.size();
        while (n > 0) {
            ssize_t w = ::write(fd_, p, n);
            if (w <= 0) throw std::runtime_error("write failed");
            p += w;
            n -= static_cast<size_t>(w);
        }
        buf_.clear();
    }
    uint64_t bytes = 0, messages = 0;

private:
    int fd_;
    std::string buf_;
};

constexpr int64_t kMs = 1000000;
constexpr int64_t kLatency = 10000 * kMs;  // the recorder's default latency flush

const char* const kCommands[] = {"ls -l /etc",    "tail -f /var/log/syslog",      "make -j2",          "top",
                                 "cat README.md", "sudo systemctl restart nginx", "git log --oneline", "df -h",
                                 "vi /etc/hosts"};
const char* const kFiles[] = {"hosts", "passwd",  "ssh",         "nginx", "systemd",    "resolv.conf",
                              "fstab", "crontab", "sudoers",     "apt",   "default",    "logrotate.d",
                              "pam.d", "profile", "bash.bashrc", "motd",  "os-release", "ld.so.cache"};
const char* const kDaemons[] = {"sshd", "systemd", "CRON", "kernel", "nginx", "postfix/smtpd", "sudo"};
const char* const kWords[] = {"connection", "from",   "port",     "accepted", "session", "opened",        "for",
                              "user",       "closed", "started",  "request",  "GET",     "/api/v1/items", "200",
                              "timeout",    "error",  "warning:", "unused",   "variable"};

class Session {
public:
    Session(tlog::Encoder& enc, uint32_t seed, std::string user, std::string host)
        : enc_(enc), rng_(seed), user_(std::move(user)), host_(std::move(host)) {}

    // Runs commands until about `target` bytes of output were written.
    void run(uint64_t target) {
        enc_.window(t_, 120, 40);
        while (written_ < target) {
            out(user_ + "@" + host_ + ":~$ ");
            const char* cmd = kCommands[rng_() % std::size(kCommands)];
            for (const char* c = cmd; *c != '\0'; ++c) {
                advance(100 + rng_() % 200);
                out(std::string(1, *c));  // the terminal's echo of a typed key
            }
            advance(150);
            out("\r\n");
            advance(20 + rng_() % 200);
            command(cmd);
            advance(1000 + rng_() % 59000);
        }
        enc_.finish(t_, "exit");
    }

    void run_tail(uint64_t target) {
        enc_.window(t_, 120, 40);
        out(user_ + "@" + host_ + ":~$ ");
        for (const char* c = "tail -f /var/log/syslog"; *c != '\0'; ++c) {
            advance(100 + rng_() % 200);
            out(std::string(1, *c));
        }
        out("\r\n");
        while (written_ < target) {
            advance(rng_() % 500);  // 250 ms apart on average
            out(syslog_line());
        }
        out("^C\r\n");
        enc_.finish(t_, "exit");
    }

private:
    std::string syslog_line() {
        std::string line = "Dec  4 " + num(24) + ":" + num(60) + ":" + num(60) + " " + host_ + " " +
                           kDaemons[rng_() % std::size(kDaemons)] + "[" + num(65536) + "]:";
        for (uint64_t w = 0, k = 4 + rng_() % 10; w < k; ++w) line += " " + word();
        return line + "\r\n";
    }

    void advance(uint64_t ms) {
        t_ += static_cast<int64_t>(ms) * kMs;
        if (enc_.pending() && t_ - enc_.pending_since_ns() >= kLatency) enc_.flush();
    }
    void out(const std::string& s) {
        // A pty read gives at most 4096 bytes.
        for (size_t off = 0; off < s.size(); off += 4096) {
            enc_.output(t_, std::string_view(s).substr(off, 4096));
        }
        written_ += s.size();
    }
    std::string num(uint64_t mod) { return std::to_string(rng_() % mod); }
    std::string word() { return kWords[rng_() % std::size(kWords)]; }

    void command(std::string_view cmd) {
        std::string o;
        if (cmd.starts_with("ls")) {
            o += "total " + num(900) + "\r\n";
            for (const char* f : kFiles) {
                o += (rng_() % 3 == 0 ? "drwxr-xr-x " : "-rw-r--r-- ") + num(9) + " root root " + num(99999) + " Nov " +
                     std::to_string(1 + rng_() % 28) + " " + num(24) + ":" + num(60) + " " + f + "\r\n";
            }
            out(o);
        } else if (cmd.starts_with("tail") || cmd.starts_with("sudo")) {
            for (uint64_t i = 0, n = 5 + rng_() % 200; i < n; ++i) {
                out(syslog_line());
                if (rng_() % 4 == 0) advance(rng_() % 3000);
            }
        } else if (cmd.starts_with("make")) {
            for (uint64_t i = 0, n = 20 + rng_() % 300; i < n; ++i) {
                std::string f = "src/" + std::string(kFiles[rng_() % std::size(kFiles)]) + "_" + num(50) + ".cc";
                if (rng_() % 10 == 0) {
                    out("\x1b[1m" + f + ":" + num(500) + ":" + num(80) + ":\x1b[0m \x1b[1;35mwarning:\x1b[0m " +
                        word() + " " + word() + " \xe2\x80\x98x\xe2\x80\x99 [-Wunused-variable]\r\n");
                } else {
                    out("g++ -O2 -g -Wall -Iinclude -c " + f + " -o build/" + f.substr(4) + ".o\r\n");
                }
                advance(rng_() % 800);
            }
        } else if (cmd == "top") {
            out("\x1b[?1049h\x1b[H\x1b[2J");
            for (int frame = 0, n = 3 + static_cast<int>(rng_() % 20); frame < n; ++frame) {
                o = "\x1b[Htop - " + num(24) + ":" + num(60) + " up 5:45,  2 users,  load average: 0." + num(99) +
                    "\x1b[K\r\n";
                for (int row = 0; row < 30; ++row) {
                    o += "\x1b[" + std::to_string(row + 7) + ";1H " + num(99999) + " root      20   0 " + num(999999) +
                         " " + num(99999) + "   S  " + num(100) + "." + num(10) + "  0." + num(10) + "   " +
                         kDaemons[rng_() % std::size(kDaemons)] + "\x1b[K";
                }
                out(o);
                advance(3000);
            }
            out("\x1b[?1049l");
        } else if (cmd.starts_with("cat") || cmd.starts_with("vi")) {
            for (uint64_t i = 0, n = 10 + rng_() % 100; i < n; ++i) {
                std::string line = "## ";
                for (uint64_t w = 0, k = 3 + rng_() % 12; w < k; ++w) line += word() + " ";
                if (rng_() % 8 == 0) line += "\xe2\x94\x82 caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87";
                out(line + "\r\n");
            }
        } else if (cmd.starts_with("git")) {
            for (uint64_t i = 0, n = 10 + rng_() % 40; i < n; ++i) {
                char hash[9];
                std::snprintf(hash, sizeof hash, "%08x", static_cast<unsigned>(rng_()));
                out("\x1b[33m" + std::string(hash, 7) + "\x1b[m " + word() + " " + word() + " " + word() + "\r\n");
            }
        } else {
            out("Filesystem      Size  Used Avail Use% Mounted on\r\n/dev/vda1        " + num(100) + "G   " + num(100) +
                "G   " + num(100) + "G  " + num(100) + "% /\r\n");
        }
    }

    tlog::Encoder& enc_;
    std::mt19937 rng_;
    std::string user_, host_;
    int64_t t_ = 0;
    uint64_t written_ = 0;
};

}  // namespace

int main(int argc, char** argv) try {
    if (argc < 3 || argc > 6) {
        std::fprintf(stderr, "usage: %s DIR N [KB_PER_RECORDING] [PAYLOAD] [interactive|tail]\n", argv[0]);
        return 2;
    }
    const std::string profile = argc > 5 ? argv[5] : "interactive";
    if (profile != "interactive" && profile != "tail") {
        std::fprintf(stderr, "bench-server-gen: profile must be interactive or tail, not %s\n", profile.c_str());
        return 2;
    }
    std::string dir = argv[1];
    uint64_t n = std::strtoull(argv[2], nullptr, 10);
    uint64_t kb = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 512;
    tlog::EncoderOptions eo;
    eo.payload =
        argc > 4 && std::strcmp(argv[4], "default") != 0 ? std::strtoull(argv[4], nullptr, 10) : tlog::kSyslogPayload;
    uint64_t bytes = 0, messages = 0;
    std::mt19937 sizes(42);
    for (uint64_t i = 0; i < n; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "/rec-%05llu.jsonl", static_cast<unsigned long long>(i));
        FileSink sink(dir + name);
        std::string host = "host" + std::to_string(i % 97) + ".example.com";
        std::string user = "user" + std::to_string(i % 31);
        tlog::RecordingInfo info{
            host, (profile == "tail" ? "tail-" : "bench-") + std::to_string(i) + "-" + std::to_string(sizes() % 100000),
            user, "xterm-256color", static_cast<uint32_t>(1000 + i)};
        {
            tlog::Encoder enc(info, eo, sink, 0, (1764800000LL + static_cast<int64_t>(i) * 60) * 1000000000LL);
            Session s(enc, static_cast<uint32_t>(i + 1), user, host);
            const uint64_t target = kb * 1024 * (1 + sizes() % 8) / 4;
            if (profile == "tail")
                s.run_tail(target);
            else
                s.run(target);
        }
        sink.drain();
        bytes += sink.bytes;
        messages += sink.messages;
    }
    std::printf("recordings %llu messages %llu json_bytes %llu\n", static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(messages), static_cast<unsigned long long>(bytes));
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench-server-gen: %s\n", e.what());
    return 1;
}
