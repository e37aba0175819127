// tlog-audit: audit events as JSON lines joined to recordings
// (tlog-audit(8), doc/audit-json.md).
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tlog/audit/converter.h"
#include "tlog/audit/input.h"
#include "tlog/writers/writer.h"
#include "tlog_build_config.h"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

constexpr const char* kUsage =
    "Usage: tlog-audit [OPTION]... [FILE]...\n"
    "Audit events (auditd's RAW or ENRICHED log text) as JSON lines, joined to\n"
    "terminal recordings. FILEs are read in order; none: standard input.\n"
    "  -R, --rotated          read each FILE with its rotated set (FILE.N ... FILE.1, FILE)\n"
    "  -f, --follow           follow the (one) FILE as auditd appends to it and rotates it\n"
    "      --plugin           run as an auditd plugin (events on standard input)\n"
    "  -s, --session HOST:SES only the events of that audit session, in time order\n"
    "  -r, --rec ID           only the events of the session(s) recording ID belongs to\n"
    "  -o, --output FILE      append to FILE (mode 0600, no symbolic link) instead of standard output\n"
    "  -w, --writer W         file (with -o), syslog (authpriv.info, ident tlog-audit) or journal\n"
    "      --max-event-size N trim events longer than N bytes (default 65536)\n"
    "      --host NAME        host of events without node= (default: this host's name)\n"
    "      --failure-window S join failed authentications up to S seconds before a\n"
    "                         recorded session (default 600)\n"
    "  -h, --help, --version\n";

struct Args {
    std::vector<std::string> files;
    bool rotated = false, follow = false, plugin = false;
    std::optional<tlog::audit::SessionKey> session;
    std::string rec, output, writer;
    tlog::audit::Options opts;
};

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "tlog-audit: %s\n%s", msg.c_str(), kUsage);
    std::exit(2);
}

uint64_t parse_number(const char* opt, const char* v, uint64_t max) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(v, &end, 10);
    if (!*v || *end || errno || n > max || v[0] == '-') usage_error(std::string(opt) + ": not a number: " + v);
    return n;
}

Args parse(int argc, char** argv) {
    enum { kPlugin = 256, kMax, kHost, kWindow, kVersion, kLibauparse };
    static const option longs[] = {{"rotated", no_argument, nullptr, 'R'},
                                   {"follow", no_argument, nullptr, 'f'},
                                   {"plugin", no_argument, nullptr, kPlugin},
                                   {"session", required_argument, nullptr, 's'},
                                   {"rec", required_argument, nullptr, 'r'},
                                   {"output", required_argument, nullptr, 'o'},
                                   {"max-event-size", required_argument, nullptr, kMax},
                                   {"host", required_argument, nullptr, kHost},
                                   {"failure-window", required_argument, nullptr, kWindow},
                                   {"help", no_argument, nullptr, 'h'},
                                   {"version", no_argument, nullptr, kVersion},
                                   // Not in the usage: libauparse assembles the events, as before
                                   // tlog-audit had its own reader (for comparisons and benchmarks).
                                   {"libauparse-events", no_argument, nullptr, kLibauparse},
                                   {nullptr, 0, nullptr, 0}};
    Args a;
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) a.opts.default_host = host;
    int c;
    while ((c = getopt_long(argc, argv, "Rfs:r:o:w:h", longs, nullptr)) != -1) {
        switch (c) {
            case 'R': a.rotated = true; break;
            case 'f': a.follow = true; break;
            case kPlugin: a.plugin = true; break;
            case 's': {
                const std::string v = optarg;
                const size_t colon = v.rfind(':');
                if (colon == std::string::npos || colon == 0)
                    usage_error("--session: expected HOST:SES, got '" + v + "'");
                a.session = tlog::audit::SessionKey{
                    v.substr(0, colon),
                    static_cast<uint32_t>(parse_number("--session", v.c_str() + colon + 1, 4294967294U))};
                break;
            }
            case 'r':
                a.rec = optarg;
                if (a.rec.empty()) usage_error("--rec: empty id");
                break;
            case 'o': a.output = optarg; break;
            case 'w':
                a.writer = optarg;
                if (a.writer != "file" && a.writer != "syslog" && a.writer != "journal")
                    usage_error("--writer: expected file, syslog or journal, got '" + a.writer + "'");
                break;
            case kMax: a.opts.max_event_size = parse_number("--max-event-size", optarg, 1U << 30); break;
            case kHost: a.opts.default_host = optarg; break;
            case kLibauparse: a.opts.libauparse_events = true; break;
            case kWindow:
                a.opts.failure_window = static_cast<uint32_t>(parse_number("--failure-window", optarg, 86400 * 366));
                break;
            case 'h': std::fputs(kUsage, stdout); std::exit(0);
            case kVersion: std::printf("tlog-audit %s\n", TLOG_VERSION); std::exit(0);
            default: std::fputs(kUsage, stderr); std::exit(2);
        }
    }
    for (int i = optind; i < argc; ++i) a.files.emplace_back(argv[i]);
    if (a.opts.max_event_size < 512) usage_error("--max-event-size: at least 512");
    if (a.plugin && (!a.files.empty() || a.follow)) usage_error("--plugin reads standard input only");
    if (a.follow && a.files.size() != 1) usage_error("--follow needs exactly one FILE");
    if (a.session && !a.rec.empty()) usage_error("--session and --rec exclude each other");
    if ((a.session || !a.rec.empty()) && (a.follow || a.plugin))
        usage_error("--session and --rec read whole files, not --follow or --plugin");
    if (!a.rec.empty() && a.files.empty()) usage_error("--rec reads its FILEs twice: name them");
    if (a.writer == "file" && a.output.empty()) usage_error("--writer file needs -o FILE");
    if (!a.output.empty() && !a.writer.empty() && a.writer != "file") usage_error("-o is for --writer file");
    if (!a.output.empty()) a.writer = "file";
    return a;
}

std::vector<std::string> inputs(const Args& a) {
    std::vector<std::string> files;
    for (const auto& f : a.files) {
        if (a.rotated) {
            auto set = tlog::audit::rotated_set(f);
            files.insert(files.end(), set.begin(), set.end());
        } else {
            files.push_back(f);
        }
    }
    return files;
}

void read_all(const std::vector<std::string>& files, tlog::audit::Converter& c) {
    for (const auto& f : files) tlog::audit::read_file(f, c);
    c.finish();
}

struct Selected {
    uint64_t time_ms, serial;
    std::string json;
};

// Standard output, or one of the writers the recorder uses.
class Output {
public:
    explicit Output(const Args& a) {
        if (a.writer == "file") {
            sink_ = tlog::writers::make_file_writer(a.output, false);
        } else if (a.writer == "syslog") {
            sink_ = tlog::writers::make_syslog_writer("tlog-audit", tlog::writers::syslog_facility_code("authpriv"),
                                                      tlog::writers::syslog_priority_code("info"));
        } else if (a.writer == "journal") {
            sink_ = tlog::writers::make_journal_writer("tlog-audit", tlog::writers::syslog_priority_code("info"), false,
                                                       tlog::RecordingInfo{});
        } else {
            // stdio's default is the device's block size (4 KiB for a pipe
            // or /dev/null): a write(2) every two events. A live input
            // flushes after every event anyway.
            // Static: stdout may still be flushed at exit.
            static std::array<char, 256 * 1024> buf;
            std::setvbuf(stdout, buf.data(), _IOFBF, buf.size());
        }
    }
    void write(std::string_view json) {
        if (!sink_) {
            // Straight into stdio's buffer (no copy with the newline first).
            if (std::fwrite(json.data(), 1, json.size(), stdout) != json.size() || std::putc('\n', stdout) == EOF)
                throw std::runtime_error("standard output: write error");
            return;
        }
        line_ = json;
        line_ += '\n';
        sink_->write(tlog::EncodedMessage{line_, ++id_, false});
    }
    void flush() {
        if (!sink_) {
            if (std::fflush(stdout) != 0) throw std::runtime_error("standard output: write error");
        } else if (auto* b = dynamic_cast<tlog::writers::BufferedWriter*>(sink_.get())) {
            b->flush_buffer();
        }
    }

private:
    std::unique_ptr<tlog::MessageSink> sink_;
    std::string line_;
    uint64_t id_ = 0;
};

int run(const Args& a) {
    Output out(a);
    auto emit = [&out](std::string_view json) { out.write(json); };
    const auto files = inputs(a);

    if (a.session || !a.rec.empty()) {
        std::set<tlog::audit::SessionKey> sessions;
        std::set<std::pair<std::string, uint64_t>> failures;
        if (a.session) {
            sessions.insert(*a.session);
        } else {
            // First pass: which sessions the recording belongs to (the start
            // record comes after the session's first events).
            tlog::audit::Options probe_opts = a.opts;
            probe_opts.joins_of_rec = a.rec;
            tlog::audit::Converter probe(probe_opts, [](auto&&...) {});
            read_all(files, probe);
            const auto j = probe.joined();
            if (j.sessions.empty()) {
                std::fprintf(stderr, "tlog-audit: no pam_tlog start record for recording %s in the input\n",
                             a.rec.c_str());
                return 1;
            }
            sessions.insert(j.sessions.begin(), j.sessions.end());
            failures.insert(j.failures.begin(), j.failures.end());
        }
        std::vector<Selected> sel;
        tlog::audit::Converter c(a.opts, [&](std::string_view json, const tlog::audit::SessionKey& key,
                                             std::string_view, uint64_t t, uint64_t serial) {
            if (sessions.count(key) || failures.count({key.host, serial}))
                sel.push_back({t, serial, std::string(json)});
        });
        read_all(files, c);
        std::stable_sort(sel.begin(), sel.end(), [](const Selected& x, const Selected& y) {
            return x.time_ms != y.time_ms ? x.time_ms < y.time_ms : x.serial < y.serial;
        });
        for (const auto& s : sel) emit(s.json);
        out.flush();
        return 0;
    }

    const bool live = a.plugin || a.follow || files.empty();
    tlog::audit::Converter c(a.opts, [&](std::string_view json, auto&&...) {
        emit(json);
        if (live) out.flush();
    });
    if (a.follow) {
        tlog::audit::follow_file(files.front(), c, g_stop);
        c.finish();
    } else if (files.empty()) {
        tlog::audit::read_stream(STDIN_FILENO, "standard input", c, g_stop);
        c.finish();
    } else {
        read_all(files, c);
    }
    out.flush();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const Args a = parse(argc, argv);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    // auditd sends SIGHUP to plugins to reload their configuration: there is none.
    signal(SIGHUP, SIG_IGN);
    try {
        return run(a);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tlog-audit: %s\n", e.what());
        return 1;
    }
}
