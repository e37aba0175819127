// tlog-play: plays, searches, verifies and converts tlog recordings. A thin
// program over libplay (the terminal model, index and playback) and librec
// (the recording format).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "commands.h"
#include "interactive.h"
#include "list.h"
#include "options.h"
#include "tlog/error.h"
#include "tlog/play/convert.h"
#include "tlog/play/index_cache.h"
#include "tlog/play/journal_source.h"
#include "tlog/play/remote_source.h"
#include "tlog_build_config.h"

using namespace tlog::play;
using namespace tlog::play::cli;

namespace {

// -r journal, -r es, -r server: what each line of the private copy was, so
// that no message names the copy; null when reading a file.
std::shared_ptr<JournalEntries> g_journal;

std::string shown(const std::string& text) { return g_journal ? g_journal->rewrite(text) : text; }

// The file's name for the auditor: the journal's copy is "the journal", a
// server's names the server.
std::string source_name(const Options& o) { return g_journal ? g_journal->source() : o.path; }

// Runs `fn` with its standard output kept aside, then prints that output
// with the journal copy's lines named by their entries (--verify prints
// line numbers of the copy).
int with_entry_names(const std::function<int()>& fn) {
    if (!g_journal) return fn();
    std::fflush(stdout);
    int mem = ::memfd_create("tlog-play-out", MFD_CLOEXEC);
    int saved = ::dup(STDOUT_FILENO);
    if (mem < 0 || saved < 0 || ::dup2(mem, STDOUT_FILENO) < 0)
        throw std::system_error(errno, std::generic_category(), "memfd");
    auto restore = [&] {
        std::fflush(stdout);
        ::dup2(saved, STDOUT_FILENO);
        ::close(saved);
    };
    int rc;
    try {
        rc = fn();
    } catch (...) {
        restore();
        ::close(mem);
        throw;
    }
    restore();
    std::string text;
    char buf[65536];
    for (off_t at = 0;;) {
        ssize_t n = ::pread(mem, buf, sizeof buf, at);
        if (n <= 0) break;
        text.append(buf, static_cast<size_t>(n));
        at += n;
    }
    ::close(mem);
    // "first broken message: id N, line L": L is a line of the copy.
    std::string out;
    size_t i = 0;
    const std::string key = "first broken message: id ";
    for (size_t at; (at = text.find(key, i)) != std::string::npos;) {
        size_t comma = text.find(", line ", at);
        size_t eol = text.find('\n', at);
        if (comma == std::string::npos || (eol != std::string::npos && comma > eol)) {
            out.append(text, i, at + key.size() - i);
            i = at + key.size();
            continue;
        }
        out.append(text, i, comma - i);
        uint64_t line = std::strtoull(text.c_str() + comma + 7, nullptr, 10);
        out += ", " + g_journal->name(line);
        i = eol == std::string::npos ? text.size() : eol;
    }
    out.append(text, i, std::string::npos);
    out = g_journal->rewrite(out);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    return rc;
}

// Entries left out as forged, for every mode but --list (which lists them).
bool report_forged() {
    if (!g_journal) return false;
    auto forged = g_journal->forged();
    for (const auto& f : forged) {
        std::string rec;
        for (unsigned char c : f.rec) rec.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
        std::fprintf(stderr,
                     "tlog-play: %s: forged: claims recording %s but was written by %s, not the recorder; left out\n",
                     f.name.c_str(), rec.c_str(), f.uid.empty() ? "no known uid" : ("uid " + f.uid).c_str());
    }
    return !forged.empty();
}

// From this size on, an uncached recording is indexed in the background
// (a build takes about a second per 20-40 MiB here).
constexpr uint64_t kBackgroundIndexBytes = 32u << 20;

// A directory only we can read, removed with its file when done: the
// journal's or a server's messages are copied there to be indexed and played.
struct PrivateDir {
    std::string path;
    std::string file() const { return path + "/messages.log"; }
    PrivateDir() {
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp && *tmp == '/' ? tmp : "/tmp") + "/tlog-play.XXXXXX";
        if (!::mkdtemp(tmpl.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp");
        path = tmpl;
    }
    ~PrivateDir() {
        ::unlink(file().c_str());
        ::rmdir(path.c_str());
    }
};

// Standard input into a new file only we can read.
void copy_stdin(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), path);
    std::vector<char> buf(1 << 16);
    for (;;) {
        ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            throw std::system_error(e, std::generic_category(), "reading standard input");
        }
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = ::write(fd, buf.data() + off, static_cast<size_t>(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                int e = errno;
                ::close(fd);
                throw std::system_error(e, std::generic_category(), path);
            }
            off += w;
        }
    }
    if (::close(fd) != 0) throw std::system_error(errno, std::generic_category(), path);
}

// A source the player reads through a private copy: the journal, or a
// server (-r es, -r server). Opened and read on the copying thread only.
struct Copier {
    std::function<uint64_t(int fd)> copy;  // appends what is new; returns how many
    std::function<void()> wait;            // until there may be more (null: poll every second)
    bool retry = false;                    // a failure after the first copy is tried again (networks)
    // Appends messages as a server sends them, until the recording ends or
    // the connection closes (null: copy and wait instead).
    std::function<tlog::play::StreamEnd(int fd)> stream;
    std::function<void()> cancel;  // from another thread: ends `stream`
};

// -f: a thread copies new messages into the private file as they arrive;
// the player follows that file as it follows any live recording.
class FollowCopy {
public:
    FollowCopy(std::function<Copier()> open, const std::string& file, const std::string& none) {
        std::promise<uint64_t> first;
        auto copied = first.get_future();
        thread_ = std::thread([this, open = std::move(open), file, first = std::move(first)]() mutable {
            try {
                Copier c = open();
                int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot create " + file);
                struct Closer {
                    int fd;
                    ~Closer() { ::close(fd); }
                } closer{fd};
                first.set_value(c.copy(fd));
                if (c.cancel) {
                    std::lock_guard<std::mutex> g(mu_);
                    cancel_ = c.cancel;
                }
                bool streaming = static_cast<bool>(c.stream), ended = false;
                auto pause = [this] {
                    for (int i = 0; i < 10 && !stop_.load(); i++)
                        std::this_thread::sleep_for(std::chrono::milliseconds(100));
                };
                while (!stop_.load()) {
                    if (ended) {
                        pause();  // the recording ended: nothing more will come
                        continue;
                    }
                    if (streaming) {
                        try {
                            auto how = c.stream(fd);
                            if (how == tlog::play::StreamEnd::Ended) ended = true;
                            if (how == tlog::play::StreamEnd::Unsupported) streaming = false;  // poll pages
                            if (how != tlog::play::StreamEnd::Cut) continue;
                        } catch (const std::exception&) {
                            if (!c.retry) throw;
                        }
                        pause();  // cut or failed: connect again after a second
                        continue;
                    }
                    if (c.wait) {
                        c.wait();
                    } else {
                        for (int i = 0; i < 10 && !stop_.load(); i++)
                            std::this_thread::sleep_for(std::chrono::milliseconds(100));
                    }
                    try {
                        c.copy(fd);
                    } catch (const std::exception&) {
                        // The screen is the player's: a server that is away
                        // for a while is asked again, quietly.
                        if (!c.retry) throw;
                    }
                }
            } catch (...) {
                try {
                    first.set_exception(std::current_exception());
                } catch (const std::future_error&) {
                    // Failed after the first copy: playback goes on with what it has.
                }
            }
        });
        try {
            if (copied.get() == 0) throw std::runtime_error(none);
        } catch (...) {
            stop();
            throw;
        }
    }
    ~FollowCopy() { stop(); }
    FollowCopy(const FollowCopy&) = delete;
    FollowCopy& operator=(const FollowCopy&) = delete;
    void stop() {
        stop_.store(true);
        {
            std::lock_guard<std::mutex> g(mu_);
            if (cancel_) cancel_();
        }
        if (thread_.joinable()) thread_.join();
    }

private:
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::function<void()> cancel_;
    std::thread thread_;
};

CacheOptions cache_options(const Options& o, const tlog::integrity::Keyring& keys) {
    CacheOptions co;
    // A file that is still being written changes under the cache: no cache.
    co.dir = (o.no_cache || o.follow) ? "" : (o.cache_dir.empty() ? default_cache_dir() : o.cache_dir);
    if (!co.dir.empty()) co.max_bytes = o.cache_max ? *o.cache_max : default_cache_max();
    co.index.rec = o.match;
    co.index.lax = o.lax;
    co.index.keys = &keys;
    co.index.every_bytes = o.keyframe_bytes;
    co.index.every_ms = o.keyframe_ms;
    return co;
}

RecordingIndex load_index(const Options& o, const tlog::integrity::Keyring& keys) {
    CacheOptions co = cache_options(o, keys);
    bool show = ::isatty(STDERR_FILENO);
    uint64_t size = 0;
    try {
        size = identify(o.path).size;
    } catch (const std::system_error&) {}
    if (show && size > (256u << 20))
        co.index.progress = [size](uint64_t off) {
            std::fprintf(stderr, "\rtlog-play: indexing %3llu%%", static_cast<unsigned long long>(off * 100 / size));
        };
    CacheResult res;
    RecordingIndex idx = open_index(o.path, co, &res);
    if (show && size > (256u << 20)) std::fprintf(stderr, "\r\x1b[K");
    if (idx.summary.messages == 0 && !o.match.empty())
        throw std::runtime_error("no recording \"" + o.match + "\" in " + o.path);
    if (idx.summary.messages == 0) throw std::runtime_error("no messages in " + o.path);
    if (o.lax)
        for (const auto& g : idx.summary.gaps)
            std::fprintf(stderr, "tlog-play: gap: messages %llu..%llu missing at %s\n",
                         static_cast<unsigned long long>(g.first_id), static_cast<unsigned long long>(g.last_id),
                         format_ms(g.pos_ms).c_str());
    return idx;
}

// Strict playback met damage. When it is a gap, what precedes it is played
// and the player stops there with the error; a recording whose first
// messages are missing is refused, saying which ones. Other damage: the
// error as it was.
int play_to_gap(Options o, const tlog::integrity::Keyring& keys, const tlog::InputError& e) {
    CacheOptions co = cache_options(o, keys);
    co.index.lax = true;
    RecordingIndex idx = open_index(o.path, co, nullptr);
    const auto& gaps = idx.summary.gaps;
    if (gaps.empty() || std::string(e.what()).find(" are missing") == std::string::npos) throw e;
    const auto& g = gaps.front();
    std::string ids = std::to_string(g.first_id) + ".." + std::to_string(g.last_id);
    if (g.first_id == 1)
        throw std::runtime_error(source_name(o) + ": the recording starts at message " + std::to_string(g.last_id + 1) +
                                 ": messages " + ids +
                                 " are missing (dropped before it was stored or selected); --lax plays what is there");
    o.stop_ms = g.pos_ms;
    o.stop_error = shown(e.what()) + "\ntlog-play: messages " + ids + " are missing at " + format_ms(g.pos_ms) +
                   ": played up to there; --lax plays through it";
    return play_interactive(o, o.path, idx, nullptr);
}

// Which messages a recording lacks, for a strict-mode refusal: every gap,
// the leading one (the first ids) said as such. Empty when nothing is missing.
std::string missing_messages(const RecordingSummary& s) {
    std::string out;
    for (const auto& g : s.gaps) {
        out += out.empty() ? "missing messages: " : ", ";
        out += std::to_string(g.first_id) + ".." + std::to_string(g.last_id);
        if (g.first_id == 1)
            out += " (the recording starts at message " + std::to_string(g.last_id + 1) +
                   ": they were dropped before it was stored, or not selected)";
        else
            out += " (at " + format_ms(g.pos_ms) + ")";
    }
    return out;
}

// Strict --export or --search met damage. When messages are missing, says
// exactly which and how to proceed (`doing`: "exports", "searches"); other
// damage: the error as it was.
[[noreturn]] void refuse_missing(const Options& o, const tlog::integrity::Keyring& keys, const tlog::InputError& e,
                                 const char* doing, const std::string& name) {
    CacheOptions co = cache_options(o, keys);
    co.index.lax = true;
    RecordingIndex idx = open_index(o.path, co, nullptr);
    std::string missing = missing_messages(idx.summary);
    if (missing.empty() || std::string(e.what()).find(" are missing") == std::string::npos) throw e;
    throw std::runtime_error(name + ": " + missing + "; strict mode stops there. --lax " + doing +
                             " what is there, naming each gap");
}

// A recording id for the auditor's terminal: no control characters.
std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
    return out;
}

// --search over every recording of a file: each hit names its recording. A
// damaged recording (strict mode) is named and the others still searched.
int search_all(const Options& o, const tlog::integrity::Keyring& keys, const std::vector<std::string>& ids) {
    bool found = false, damaged = false;
    for (const auto& id : ids) {
        Options one = o;
        one.match = id;
        std::string prefix = "recording " + printable(id) + ": ";
        std::optional<RecordingIndex> idx;
        try {
            try {
                idx.emplace(load_index(one, keys));
            } catch (const tlog::InputError& e) {
                refuse_missing(one, keys, e, "searches", source_name(o) + ": recording " + printable(id));
            }
            found |= search_command(one, *idx, prefix) == 0;
        } catch (const tlog::InputError& e) {
            std::fflush(stdout);
            std::fprintf(stderr, "tlog-play: recording %s: %s\n", printable(id).c_str(), shown(e.what()).c_str());
            std::fprintf(stderr, "tlog-play: the recording is damaged there; --lax plays through it\n");
            damaged = true;
        } catch (const std::runtime_error& e) {
            std::fflush(stdout);
            std::fprintf(stderr, "tlog-play: %s\n", shown(e.what()).c_str());
            damaged = true;
        }
    }
    return found && !damaged ? 0 : 1;
}

int run(int argc, char** argv) {
    Options o = parse_options(argc, argv);
    if (o.help) {
        print_usage();
        return 0;
    }
    if (o.version) {
        std::printf("tlog-play %s\n", TLOG_VERSION);
        return 0;
    }
    if (o.configuration) {
        std::printf("%s\n", tlog::json::dump(configuration_json(o), true).c_str());
        return 0;
    }
    if (!o.import.empty()) return import_command(o);
    std::unique_ptr<PrivateDir> journal_copy;
    std::unique_ptr<FollowCopy> journal_follow;  // destroyed (stopped) before the copy is removed
    if (o.reader != "journal" && (!o.journal_namespace.empty() || !o.journal_files.empty()))
        throw std::invalid_argument("-N and --journal-file go with -r journal");
    if (o.reader != "server" && (!o.server_rec.empty() || !o.server_host.empty()))
        throw std::invalid_argument("--server-rec and --server-host go with -r server");
    if (o.reader == "es" || o.reader == "server") {
        if (!o.path.empty()) throw std::invalid_argument("-i names a file: not with -r " + o.reader);
        if (!o.recorder_users.empty()) throw std::invalid_argument("--recorder-user goes with -r journal");
        RemoteQuery q;
        q.kind = o.reader == "es" ? RemoteQuery::Kind::Es : RemoteQuery::Kind::Server;
        q.url = q.kind == RemoteQuery::Kind::Es ? o.es_baseurl : o.server_url;
        q.query = o.es_query;
        q.rec = o.server_rec.empty() ? o.match : o.server_rec;
        q.host = o.server_host;
        q.ca_file = o.ca_file;
        if (q.kind == RemoteQuery::Kind::Server) o.match = q.rec;  // nothing else is played
        RemoteReader check(q, nullptr);                            // a bad URL is told before anything starts
        journal_copy = std::make_unique<PrivateDir>();
        o.path = journal_copy->file();
        g_journal = std::make_shared<JournalEntries>(o.path, remote_source_name(q));
        const std::string none = "no messages of " + remote_source_name(q);
        if (o.follow) {
            auto entries = g_journal;
            journal_follow = std::make_unique<FollowCopy>(
                [q, entries] {
                    auto reader = std::make_shared<RemoteReader>(q, entries);
                    Copier c{[reader](int fd) { return reader->copy_new(fd); }, nullptr, true, nullptr, nullptr};
                    if (q.kind == RemoteQuery::Kind::Server) {
                        // tlog-server sends new messages as they are stored.
                        c.stream = [reader](int fd) { return reader->stream_new(fd); };
                        c.cancel = [reader] { reader->cancel(); };
                    }
                    return c;
                },
                o.path, none);
        } else if (remote_to_file(q, o.path, g_journal) == 0) {
            throw std::runtime_error(none);
        }
        o.no_cache = true;  // a copy made for this run only
    } else if (o.reader == "journal") {
        if (!o.path.empty()) throw std::invalid_argument("-i names a file: not with -r journal");
        JournalQuery q;
        q.matches = o.journal_match;
        q.rec = o.match;
        if (!o.since.empty()) q.since_us = parse_epoch_seconds(o.since);
        if (!o.until.empty()) q.until_us = parse_epoch_seconds(o.until);
        q.files = o.journal_files;
        q.ns = o.journal_namespace;
        for (const auto& u : o.recorder_users) q.recorder_uids.push_back(parse_recorder_user(u));
        journal_copy = std::make_unique<PrivateDir>();
        o.path = journal_copy->file();
        g_journal = std::make_shared<JournalEntries>(o.path);
        if (o.follow) {
            auto entries = g_journal;
            journal_follow = std::make_unique<FollowCopy>(
                [q, entries] {
                    auto reader = std::make_shared<JournalReader>(q, entries);
                    return Copier{[reader](int fd) { return reader->copy_new(fd); }, [reader] { reader->wait(100000); },
                                  false, nullptr, nullptr};
                },
                o.path, "no matching messages in the journal");
        } else if (journal_to_file(q, o.path, g_journal) == 0) {
            if (o.list && !g_journal->forged().empty()) return list_many(o, {}, g_journal);  // names them
            report_forged();
            throw std::runtime_error("no matching messages in the journal");
        }
        o.no_cache = true;  // a copy made for this run only
    } else if (!o.recorder_users.empty()) {
        throw std::invalid_argument("--recorder-user goes with -r journal");
    }
    if (o.reader == "file" && o.path == "-" && !o.follow) {
        // A recording on standard input (`zstdcat ARCHIVE | tlog-play -i -`,
        // tlog-server's archives): copied to a private file first, as
        // seeking needs one.
        journal_copy = std::make_unique<PrivateDir>();
        o.path = journal_copy->file();
        copy_stdin(o.path);
        o.no_cache = true;
    }
    if (o.list) {
        tlog::integrity::Keyring keys;
        for (const auto& k : o.keys) keys.add(tlog::integrity::load_key_file(k));
        return list_many(o, keys, g_journal);
    }
    bool forged = report_forged();
    if (o.path.empty()) throw std::invalid_argument("no recording given: -i FILE");
    if (o.path == "-") throw std::invalid_argument("a recording must be a file (seeking needs one), not stdin");
    tlog::integrity::Keyring keys;
    for (const auto& k : o.keys) keys.add(tlog::integrity::load_key_file(k));
    if (o.verify) {
        int rc = with_entry_names([&] { return verify_command(o, keys); });
        return forged ? 1 : rc;
    }
    if (o.match.empty()) {
        // A file holding several recordings: --search goes over each, naming
        // it; playback and --export take one and are told which.
        std::vector<std::string> ids = recording_ids(o.path);
        if (ids.size() > 1) {
            if (o.search.empty()) refuse_several(o, ids, o.export_format.empty() ? "playback takes" : "--export takes");
            return search_all(o, keys, ids);
        }
    }
    if (o.search.empty() && o.export_format.empty() && (o.go.empty() || parse_time(o.go).has_value())) {
        // Interactive, from the start or from -g TIME: a large recording
        // without a cached index starts playing at once while its index is
        // built beside it. For -g TIME the index is first built only up to
        // TIME, so the first look at any point costs no more than a replay
        // to it, never the whole build (-g end needs the recording's
        // length: the whole index, below).
        CacheOptions co = cache_options(o, keys);
        uint64_t size = identify(o.path).size;
        uint64_t go = o.go.empty() ? 0 : parse_time(o.go).value_or(0);
        if (size >= kBackgroundIndexBytes) {
            if (auto idx = load_cached_index(o.path, co)) return play_interactive(o, o.path, *idx, nullptr);
            std::optional<RecordingIndex> start;
            if (!go) {
                start.emplace(start_index(o.path, co.index));
            } else {
                IndexOptions upto = co.index;
                upto.until_ms = go;
                try {
                    start.emplace(build_index(o.path, upto));
                } catch (const tlog::InputError&) {
                    // Damage before TIME: strict mode's handling below.
                }
            }
            if (start) return play_interactive(o, o.path, *start, &co);
        }
    }
    if (!o.lax && o.search.empty() && o.export_format.empty()) {
        std::optional<RecordingIndex> strict;
        try {
            strict.emplace(load_index(o, keys));
        } catch (const tlog::InputError& e) {
            return play_to_gap(o, keys, e);
        }
        return play_interactive(o, o.path, *strict, nullptr);
    }
    std::optional<RecordingIndex> loaded;
    try {
        loaded.emplace(load_index(o, keys));
    } catch (const tlog::InputError& e) {
        if (o.lax) throw;
        refuse_missing(o, keys, e, o.search.empty() ? "exports" : "searches",
                       source_name(o) + (o.match.empty() ? "" : ": recording " + printable(o.match)));
    }
    RecordingIndex& idx = *loaded;
    if (!o.search.empty()) return search_command(o, idx);
    if (!o.export_format.empty()) return export_command(o, idx);
    return play_interactive(o, o.path, idx, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "tlog-play: configuration: %s\n", e.what());
        return 2;
    } catch (const tlog::InputError& e) {
        std::fprintf(stderr, "tlog-play: %s\n", shown(e.what()).c_str());
        std::fprintf(stderr, "tlog-play: the recording is damaged there; --lax plays through it\n");
        return 1;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "tlog-play: %s (--help for usage)\n", shown(e.what()).c_str());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tlog-play: %s\n", shown(e.what()).c_str());
        return 1;
    }
}
