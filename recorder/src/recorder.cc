#include "tlog/rec/recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <system_error>

#include "tlog/conf_proof.h"
#include "tlog/encoder.h"
#include "tlog/error.h"
#include "tlog/hex.h"
#include "tlog/integrity.h"
#include "tlog/rec/charset.h"
#include "tlog/rec/file_transfer.h"
#include "tlog/rec/privsep.h"
#include "tlog/rec/rate_limit.h"
#include "tlog/rec/recorder_sinks.h"
#include "tlog/rec/redact.h"
#include "tlog/rec/relay.h"
#include "tlog/rec/terminal_lock.h"
#include "tlog/rec_marker.h"
#include "tlog/withheld.h"
#include "tlog/writers/writer.h"
#include "tlog_build_config.h"

namespace tlog::rec {

namespace {

std::string basename_of(const std::string& p) {
    size_t s = p.rfind('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}

// A recording id from pam_tlog: 1..64 of [A-Za-z0-9-] (it goes into file
// names of tools and journal matches unquoted).
bool valid_pam_rec(const std::string& id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
    return true;
}

std::string search_path(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path = getenv("PATH");
    std::string p = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
    size_t start = 0;
    while (start <= p.size()) {
        size_t end = p.find(':', start);
        if (end == std::string::npos) end = p.size();
        std::string dir = p.substr(start, end - start);
        if (dir.empty()) dir = ".";
        std::string cand = dir + "/" + name;
        if (access(cand.c_str(), X_OK) == 0) return cand;
        start = end + 1;
    }
    return name;
}

// Feeds the relay's data to the encoder with the latency timer, the rate
// limit, the charset conversion and the transfer summary.
class Observer : public RelayObserver {
public:
    Observer(Encoder& enc, GuardSink& guard, const Config& cfg, int64_t t0, std::optional<std::string> codeset,
             bool transfer)
        : enc_(enc),
          guard_(guard),
          latency_ns_(static_cast<int64_t>(std::min(cfg.latency, 1e6) * 1e9)),  // at most ~11 days
          limiter_(RateLimiter::parse_action(cfg.limit_action), cfg.limit_rate, cfg.limit_burst, t0),
          t0_(t0),
          log_in_(cfg.log_input),
          log_out_(cfg.log_output),
          transfer_(transfer),
          redactor_(cfg.output_redact) {
        // One "dropped" field per message covers every span since the last one,
        // inside the integrity chain (doc/recorder-fields.md); so do the
        // spans of hidden input and redacted output.
        enc_.set_annotator([this](Encoder::Annotations& a) {
            if (!drops_.empty()) a.emplace_back("dropped", drops_.take_value());
            if (!hidden_.empty()) a.emplace_back(withheld::kInputField, withheld::to_json(hidden_));
            if (!redacted_.empty()) a.emplace_back(withheld::kOutputField, withheld::to_json(redacted_));
            hidden_.clear();
            redacted_.clear();
            hidden_since_ = INT64_MAX;
        });
        if (codeset) {
            conv_in_.emplace(*codeset);
            conv_out_.emplace(*codeset);
        }
    }
    void input(int64_t t, std::string_view d) override {
        end_hidden(t);
        data(true, t, d);
    }
    // Only called when input is logged and secrets are hidden (the relay's
    // watch_echo). The bytes are counted, never stored or hashed: a hash of
    // a short password is as good as the password to anyone who can guess.
    void secret_input(int64_t t, std::string_view d) override {
        if (!open_hidden_) {
            open_hidden_ = true;
            current_ = withheld::Span{ms_of(t), 0, withheld::kEchoOff};
        }
        current_.bytes += d.size();
        // The line ends at Enter (or ^D): the prompt has its answer.
        if (d.find_first_of("\r\n\x04") != std::string_view::npos) end_hidden(t);
    }
    // Ends the span being typed (more input with echo on, or the end).
    void end_hidden(int64_t t) {
        if (!open_hidden_) return;
        open_hidden_ = false;
        hidden_.push_back(std::move(current_));
        hidden_since_ = std::min(hidden_since_, t);
        // Many lines typed with echo off (stty -echo and a paste) must not
        // make one message's field unbounded: a message of their own.
        if (hidden_.size() >= kMaxSpans) enc_.write_now(t);
    }
    void output(int64_t t, std::string_view d) override { data(false, t, d); }
    void window(int64_t t, uint16_t w, uint16_t h) override { enc_.window(t, w, h); }
    // The first message, written through to the writer before the program
    // runs: false when it could not be (the writer failed).
    bool start(int64_t t) {
        enc_.write_now(t);
        guard_.flush_buffer();
        flushed_id_ = enc_.next_id();
        return !guard_.failed();
    }
    int64_t deadline() override {
        int64_t s = INT64_MAX;
        // What a flush left behind (a character cut in two) cannot be
        // written yet: no new deadline until new data arrives, else the
        // relay would spin.
        if (enc_.pending() && enc_.pending_since_ns() != flushed_since_) s = enc_.pending_since_ns();
        s = std::min(s, guard_.buffered_since());
        s = std::min(s, hidden_since_);  // a finished span waits no longer than data
        return s > INT64_MAX - latency_ns_ ? INT64_MAX : s + latency_ns_;
    }
    void tick(int64_t now) override {
        if (enc_.pending() && enc_.pending_since_ns() != flushed_since_ &&
            enc_.pending_since_ns() <= now - latency_ns_) {
            enc_.flush();
            flushed_since_ = enc_.pending() ? enc_.pending_since_ns() : INT64_MIN;
        }
        // A hidden span with no data after it still goes out in time, in
        // a message of its own.
        if (hidden_since_ <= now - latency_ns_) enc_.write_now(now);
        if (guard_.buffered_since() <= now - latency_ns_ || enc_.next_id() != flushed_id_) {
            // Whatever the encoder just wrote goes out with the old data.
            guard_.flush_buffer();
            flushed_id_ = enc_.next_id();
        }
    }

    // Transfer mode: the command, byte counts and hashes instead of the payload.
    std::string transfer_value(const std::string& cmd) {
        json::Value v = json::Value::make_object();
        v.set("command", json::Value::make_string(cmd));
        v.set("in_bytes", json::Value::make_uint(t_in_bytes_));
        v.set("in_sha256", json::Value::make_string(t_in_.hex_and_reset()));
        v.set("out_bytes", json::Value::make_uint(t_out_bytes_));
        v.set("out_sha256", json::Value::make_string(t_out_.hex_and_reset()));
        return json::dump(v);
    }

private:
    static constexpr size_t kMaxSpans = 16;  // per field and message (about 50 bytes each)

    uint64_t ms_of(int64_t t) const { return t > t0_ ? static_cast<uint64_t>(t - t0_) / 1000000 : 0; }

    void data(bool input, int64_t t, std::string_view d) {
        if (transfer_) {
            // Counts and hashes of both directions whatever log.input says:
            // they tell what was transferred without holding the data.
            (input ? t_in_ : t_out_).update(d);
            (input ? t_in_bytes_ : t_out_bytes_) += d.size();
            return;
        }
        if (input ? !log_in_ : !log_out_) return;
        if (input && conv_in_) d = conv_in_->convert(d);
        if (!input && conv_out_) d = conv_out_->convert(d);
        if (!input && !redactor_.empty()) {
            redact_buf_.assign(d);
            if (uint64_t n = redactor_.apply(redact_buf_)) {
                // Bounded per message: later matches count into the last span.
                if (redacted_.size() >= kMaxSpans)
                    redacted_.back().bytes += n;
                else
                    redacted_.push_back(withheld::Span{ms_of(t), n, "pattern"});
                d = redact_buf_;
            }
        }
        auto dec = limiter_.decide(t, d.size());
        if (!dec.take) {
            drops_.add(input, ms_of(t), d);
            return;
        }
        if (dec.wait_ns > 0) {
            timespec ts{static_cast<time_t>(dec.wait_ns / 1000000000), static_cast<long>(dec.wait_ns % 1000000000)};
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
        }
        if (input)
            enc_.input(t, d);
        else
            enc_.output(t, d);
    }

    Encoder& enc_;
    GuardSink& guard_;
    int64_t latency_ns_;
    int64_t flushed_since_ = INT64_MIN;
    uint64_t flushed_id_ = 1;
    RateLimiter limiter_;
    int64_t t0_;
    bool log_in_, log_out_;
    bool transfer_;
    DropRecord drops_;
    Redactor redactor_;
    std::string redact_buf_;
    // Spans for the next message; the one being typed is current_.
    std::vector<withheld::Span> hidden_, redacted_;
    withheld::Span current_;
    bool open_hidden_ = false;
    int64_t hidden_since_ = INT64_MAX;  // when the oldest span in hidden_ ended
    std::optional<ToUtf8> conv_in_, conv_out_;
    Sha256 t_in_, t_out_;
    uint64_t t_in_bytes_ = 0, t_out_bytes_ = 0;
};

std::string user_name(uid_t uid) {
    struct passwd pw, *res = nullptr;
    char buf[4096];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res) return pw.pw_name;
    return std::to_string(uid);
}

std::string user_shell(uid_t uid) {
    struct passwd pw, *res = nullptr;
    char buf[4096];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res && pw.pw_shell && *pw.pw_shell) return pw.pw_shell;
    return "/bin/sh";
}

void write_semaphore(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot write semaphore " + path + ": " + strerror(errno));
    (void)!::write(fd, "READY", 5);
    ::close(fd);
}

// A "shell" that starts tlog-rec-session again would go round in a circle:
// exec after exec when the session is already recorded (lock held), or
// recorder inside recorder, each with a new pty, when there is no audit
// session id. The depth travels in the environment; a user who changes it
// can only make their own session refuse to start (too large) or restart
// the count (a loop still ends 32 levels later). Real nesting never gets
// near the limit.
bool nesting_ok(const std::string& path) {
    const char* depth_s = getenv("TLOG_REC_SESSION_NESTED");
    int depth = depth_s ? atoi(depth_s) : 0;
    if (depth < 0) depth = 0;
    if (depth >= 32) {
        user_error("refusing to start " + path + ": tlog-rec-session was started " + std::to_string(depth) +
                   " times in a row (the shell starts the recorder again: a loop)");
        return false;
    }
    setenv("TLOG_REC_SESSION_NESTED", std::to_string(depth + 1).c_str(), 1);
    return true;
}

[[noreturn]] void exec_unrecorded(const std::string& path, const std::vector<std::string>& args) {
    if (!nesting_ok(path)) _exit(1);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(path.c_str(), argv.data());
    user_error("cannot execute " + path + ": " + strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
}

bool is_graphical_session(const char* (*env)(const char*)) {
    const char* type = env("XDG_SESSION_TYPE");
    bool gtype = type && (strcmp(type, "x11") == 0 || strcmp(type, "wayland") == 0);
    bool display = env("DISPLAY") || env("WAYLAND_DISPLAY");
    // A graphical login has no terminal: a terminal session with these
    // variables set (ssh -X, a terminal emulator) is a terminal session.
    return gtype && display && !isatty(0) && !isatty(1);
}

const char* plain_getenv(const char* n) { return getenv(n); }

}  // namespace

std::string shell_from_program_name(const std::string& argv0) {
    std::string name = basename_of(argv0);
    size_t at = name.find("-shell-");
    if (at == std::string::npos) return "";
    std::string enc = name.substr(at + 6);  // keeps the leading '-' (the root '/')
    std::string out;
    for (size_t i = 0; i < enc.size(); i++) {
        if (enc[i] == '\\' && i + 1 < enc.size())
            out.push_back(enc[++i]);
        else if (enc[i] == '-')
            out.push_back('/');
        else
            out.push_back(enc[i]);
    }
    return out;
}

bool is_recorder_program(const std::string& path) {
    char real[PATH_MAX], self[PATH_MAX];
    if (!realpath(path.c_str(), real)) return false;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        if (strcmp(real, self) == 0) return true;
    }
    std::string b = basename_of(real);
    return b.rfind("tlog-rec", 0) == 0;
}

namespace {

// One run of a recorder program, in the order it happens. Each step returns
// an exit status when the program ends there. The members are declared in
// the order the steps create them, so they are released in reverse, as the
// locals of one long function were: the outer terminal is released last.
class Recorder {
public:
    Recorder(Program p, int argc, char** argv) : p_(p), argc_(argc), argv_(argv), prog_(program_name(p)) {
        set_program_name(prog_);
        setlocale(LC_ALL, "");
        argv0_ = argc > 0 && argv[0] ? argv[0] : prog_;
        login_name_ = !argv0_.empty() && argv0_[0] == '-';
        // First of all, before any other process of the user can learn of
        // it: the terminal the login program gave us is the recorder's alone.
        if (session()) {
            outer_in_.emplace(0);
            outer_out_.emplace(1);
            close_inherited_descriptors();
        }
    }

    int run() {
        if (auto st = who()) return *st;
        if (auto st = configure()) return *st;
        if (auto st = what_to_run()) return *st;
        if (auto st = decide_recording()) return *st;
        if (auto st = start_writer()) return *st;
        if (auto st = prepare_session()) return *st;
        relay();
        return end();
    }

private:
    using Exit = std::optional<int>;

    bool session() const { return p_ == Program::RecSession; }

    // ---- who: captured before anything else; nothing is exec'd or
    // written with a mixed identity.
    Exit who() {
        if (session()) {
            try {
                ids_ = capture_identities();
            } catch (const std::exception& e) {
                user_error(e.what());
                return 1;
            }
        }
        session_ = audit_session_id();
        user_ = user_name(getuid());
        if (ids_.missing_account)
            audit_log(LOG_WARNING,
                      "no 'tlog' account: the recording of " + user_ + " runs as " + user_ + " (install step missing)");
        return {};
    }

    // ---- configuration
    Exit configure() {
        LoadOptions lo;
        lo.program = p_;
        for (int i = 0; i < argc_; i++) lo.argv.emplace_back(argv_[i]);
        std::vector<std::string> notes;
        if (session()) {
            // tlog-rec-session runs as the login shell: its environment is the
            // user's to write (AcceptEnv, su -m, PermitUserEnvironment).
            lo.trust_env_file = false;
            lo.trust_env = false;
            lo.trust_cli = !ids_.separate;
            // pam_tlog's TLOG_REC_CONF_TEXT and tlog's/SSSD's
            // TLOG_REC_SESSION_CONF_TEXT are each taken in full only with a
            // proof (the matching *_CONF_PROOF variable) for exactly that text.
            lo.trust_text = [&](const std::string& var, const std::string& text) {
                std::string proof_var = var.substr(0, var.size() - 4) + "PROOF";
                const char* proof = getenv(proof_var.c_str());
                std::string why = "no " + proof_var;
                bool ok = false;
                if (proof && *proof) {
                    try {
                        auto key = integrity::load_key_file(conf_proof_key_path());
                        ok = verify_conf_proof(key, proof, user_, session_, time(nullptr), text, why);
                    } catch (const std::exception& e) {
                        why = std::string("cannot read the proof key: ") + e.what();
                    }
                }
                if (!ok) notes.push_back(var + " not proven (" + why + ")");
                return ok;
            };
        }
        LoadResult lr;
        try {
            lr = load_config(lo);
        } catch (const InputError& e) {
            user_error(e.what());
            return 1;
        } catch (const std::exception& e) {
            user_error(e.what());
            return 1;
        }
        if (!lr.ignored.empty()) {
            for (const auto& n : notes)
                audit_log(LOG_WARNING, "user " + user_ + ", session " + std::to_string(session_) + ": " + n);
            for (const auto& i : lr.ignored)
                audit_log(LOG_WARNING, "user " + user_ + ", session " + std::to_string(session_) + ": " + i);
        }
        cfg_ = lr.config;
        if (cfg_.help) {
            std::cout << usage(p_);
            return 0;
        }
        if (cfg_.version) {
            std::cout << prog_ << " " << TLOG_VERSION << " (tlog-compatible recorder, format 2.3)\n";
            return 0;
        }
        if (cfg_.configuration) {
            std::cout << json::dump(lr.merged, true) << "\n";
            return 0;
        }
        return {};
    }

    // ---- what to run
    Exit what_to_run() {
        if (session()) {
            // The shell: the -shell- name (the administrator's choice in passwd)
            // first, then PAM's TLOG_REC_SHELL, SSSD's TLOG_REC_SESSION_SHELL,
            // then the configuration.
            std::string shell = cfg_.shell, from = "the \"shell\" setting";
            if (const char* s = getenv("TLOG_REC_SESSION_SHELL"); s && *s) shell = s, from = "TLOG_REC_SESSION_SHELL";
            if (const char* s = getenv("TLOG_REC_SHELL"); s && *s) shell = s, from = "TLOG_REC_SHELL";
            if (std::string s = shell_from_program_name(argv0_); !s.empty())
                shell = s, from = "the program name " + basename_of(argv0_);
            if (shell.empty() || shell[0] != '/') {
                user_error("the shell from " + from + " is not an absolute path: \"" + shell + "\"");
                return 1;
            }
            if (is_recorder_program(shell)) {
                user_error("refusing to start " + shell + " (from " + from +
                           ") as the recorded shell: it is a recorder itself "
                           "and would record in a loop; set the real shell in TLOG_REC_SHELL or the \"shell\" setting");
                audit_log(LOG_ERR, "user " + user_ + ": shell loop refused (" + shell + " from " + from + ")");
                return 1;
            }
            path_ = shell;
            std::string name = basename_of(shell);
            args_.push_back(login_name_ || cfg_.login ? "-" + name : name);
            if (cfg_.interactive) args_.push_back("-i");
            if (cfg_.command) {
                if (cfg_.args.empty()) {
                    user_error("-c: a command string is required");
                    return 1;
                }
                args_.push_back("-c");
                command_text_ = cfg_.args[0];
            }
            for (const auto& a : cfg_.args) args_.push_back(a);
            interactive_ = (cfg_.args.empty() || cfg_.interactive) && isatty(0) && isatty(1);
        } else {
            if (cfg_.args.empty()) {
                path_ = user_shell(getuid());
                std::string name = basename_of(path_);
                args_.push_back(login_name_ ? "-" + name : name);
            } else {
                path_ = search_path(cfg_.args[0]);
                args_ = cfg_.args;
            }
            if (is_recorder_program(path_)) {
                user_error("refusing to record " + path_ + ": it is a recorder itself");
                return 1;
            }
        }
        return {};
    }

    // ---- the recording decision
    Exit decide_recording() {
        // pam_tlog decided this login is not recorded (a proven decision:
        // "pam.record" is never taken from an unproven environment). It
        // announced no recording, so there is nothing to account for.
        if (session() && !cfg_.pam_record) {
            outer_in_.reset();
            outer_out_.reset();
            drop_to_user_or_die(ids_);
            exec_unrecorded(path_, args_);
        }
        claim_marker();
        if (session()) {
            // Inside a live recording's terminal (su -, sudo -i in a recorded
            // session): that recording sees everything this shell shows and reads.
            if (auto outer = marker::recording_of_terminal(kDefaultRunDir))
                run_unrecorded("its terminal is recorded by recording " + *outer);
            // The login program gave the shell a terminal of its own and
            // relays it to a recorded one (sudo's use_pty): pam_tlog found
            // that recording from the login program's process.
            if (!cfg_.pam_nested.empty())
                run_unrecorded("the login program relays its terminal to recording " + cfg_.pam_nested);
            // The kind of session, which PAM could not know (sshd): a terminal
            // means interactive whatever the command, and so does a shell that
            // reads its commands from standard input.
            const bool on_terminal = isatty(0) && isatty(1);
            const bool transfer_cmd = !on_terminal && !command_text_.empty() && is_file_transfer_command(command_text_);
            const char* kind = on_terminal || command_text_.empty() ? "interactive"
                               : transfer_cmd                       ? "transfer"
                                                                    : "command";
            const int want = on_terminal || command_text_.empty() ? cfg_.pam_interactive
                             : transfer_cmd                       ? cfg_.pam_transfer
                                                                  : cfg_.pam_command;
            if (want == 0) run_unrecorded(std::string("the rules do not record ") + kind + " sessions of this user");
            if (!cfg_.record_graphical && is_graphical_session(plain_getenv))
                run_unrecorded("graphical session (graphical.record is false)");
        }
        if (session() && !nesting_ok(path_)) {
            set_mark("unrecorded", "refused: the recorder started itself in a loop");
            return 1;
        }
        return {};
    }

    // Which recording this is: pam_tlog's id (proven), so its audit records
    // and the recording share it, and a marker that tells pam_tlog at
    // close_session what became of it (rec_marker.h). Later sessions of the
    // same login (one ssh connection carries many) get ID-2, ID-3, ...
    void claim_marker() {
        info_.rec = hex::random(8) + "-" + std::to_string(session_ == kUnsetSession ? 0 : session_) + "-" +
                    std::to_string(getpid());
        if (session() && valid_pam_rec(cfg_.pam_rec)) {
            try {
                mark_ = marker::Marker::claim(kDefaultRunDir, cfg_.pam_rec);
                info_.rec = mark_.rec();
            } catch (const std::exception& e) {
                info_.rec = cfg_.pam_rec + "-" + hex::random(4);
                audit_log(LOG_WARNING, "user " + user_ + ", rec " + info_.rec + ": " + e.what() +
                                           " (pam_tlog will report the recording as never started)");
            }
        }
        who_ = "user " + user_ + ", session " + std::to_string(session_) + ", rec " + info_.rec;
    }

    // The "login" field (doc/recorder-fields.md), from pam_tlog's proven
    // decision (pam_tlog bounds and cleans both).
    std::string login_value() const {
        json::Value v = json::Value::make_object();
        v.set("service", json::Value::make_string(cfg_.pam_service));
        if (!cfg_.pam_ruser.empty()) v.set("ruser", json::Value::make_string(cfg_.pam_ruser));
        return json::dump(v);
    }

    void set_mark(const char* state, const std::string& detail) {
        try {
            mark_.set(state, detail);
        } catch (const std::exception& e) {
            audit_log(LOG_WARNING, who_ + ": " + e.what());
        }
    }

    // A session the rules record that runs without a recording of its own:
    // said in the auth log and to pam_tlog (which audits it), never silent.
    [[noreturn]] void run_unrecorded(const std::string& why) {
        audit_log(LOG_NOTICE, who_ + ": not recorded: " + why);
        set_mark("unrecorded", why);
        outer_in_.reset();
        outer_out_.reset();
        drop_to_user_or_die(ids_);
        exec_unrecorded(path_, args_);
    }

    // ---- writer start
    Exit start_writer() {
        // From here on the recorder must survive a dead terminal or connection
        // long enough to write the final message: no death by SIGPIPE (the
        // relay gives the program the default disposition back).
        signal(SIGPIPE, SIG_IGN);
        {
            char host[HOST_NAME_MAX + 1] = {};
            gethostname(host, sizeof host - 1);
            info_.host = host;
        }
        info_.user = user_;
        const char* term = getenv("TERM");
        info_.term = term ? std::string(term).substr(0, 256) : "";  // the user's: bounded in every message header
        info_.session = session_;

        // The writer's settings come from the system file or a proven PAM
        // decision only (the user's command line and environment cannot name
        // them), so they are opened with the recorder's identity.
        try {
            if (cfg_.writer == "file")
                writer_ = writers::make_file_writer(cfg_.file_path, !session());
            else if (cfg_.writer == "syslog")
                writer_ = writers::make_syslog_writer(prog_, writers::syslog_facility_code(cfg_.syslog_facility),
                                                      writers::syslog_priority_code(cfg_.syslog_priority));
            else if (cfg_.writer == "journal")
                writer_ = writers::make_journal_writer(prog_, writers::syslog_priority_code(cfg_.journal_priority),
                                                       cfg_.journal_augment, info_);
            if (!cfg_.key_file.empty()) key_ = integrity::load_key_file(cfg_.key_file);
        } catch (const std::exception& e) {
            user_error(e.what());
            audit_log(LOG_ERR, who_ + ": cannot start the recording: " + e.what());
            if (!cfg_.lax) {
                set_mark("unrecorded", std::string("refused: the recording could not start: ") + e.what());
                return 1;
            }
            writer_.reset();  // lax: run unrecorded, loudly
            start_error_ = e.what();
            set_mark("unrecorded", "the recording could not start (lax: the session goes on): " + start_error_);
        }

        std::optional<std::string> codeset;
        {
            std::string cs = locale_codeset();
            if (!cs.empty() && !codeset_is_utf8(cs) && cs != "ANSI_X3.4-1968") codeset = cs;
        }
        if (session() && !command_text_.empty() && !(isatty(0) && isatty(1)) && !cfg_.transfer_payload) {
            if (auto targv = file_transfer_argv(command_text_,
                                                [](const std::string& f) { return access(f.c_str(), X_OK) == 0; })) {
                // Run the system's transfer program itself, not the user's shell.
                transfer_ = true;
                path_ = (*targv)[0];
                args_ = *targv;
            }
        }

        guard_.emplace(writer_.get(), cfg_.lax, cfg_.writer, start_error_);
        EncoderOptions eo;
        eo.payload = cfg_.payload;
        eo.log_input = cfg_.log_input;
        eo.log_output = cfg_.log_output;
        eo.log_window = cfg_.log_window;
        eo.key = key_ ? &*key_ : nullptr;
        int64_t t0 = mono_now_ns();
        try {
            enc_.emplace(info_, eo, *guard_, t0, real_now_ns());
            obs_.emplace(*enc_, *guard_, cfg_, t0, codeset, transfer_);
            // "user" is the identity the session runs as; for su, sudo and
            // runuser the first message also names who asked for it.
            if (session() && !cfg_.pam_service.empty()) enc_->annotate("login", login_value());
        } catch (const std::exception& e) {
            user_error(e.what());
            set_mark("unrecorded", std::string("refused: ") + e.what());
            return 1;
        }
        return {};
    }

    // The notice, and the semaphore a caller waits on.
    Exit prepare_session() {
        if (interactive_ && !cfg_.notice.empty()) (void)!::write(1, cfg_.notice.data(), cfg_.notice.size());
        if (!cfg_.semaphore.empty()) {
            try {
                AsUser as_user(ids_);  // a caller-named path: the user's rights
                write_semaphore(cfg_.semaphore);
            } catch (const std::exception& e) {
                user_error(e.what());
                set_mark("unrecorded", std::string("refused: ") + e.what());
                return 1;
            }
        }
        return {};
    }

    // ---- the relay
    void relay() {
        RelaySpec spec;
        spec.path = path_;
        spec.argv = args_;
        spec.watch_echo = cfg_.log_input && cfg_.input_secrets == "hide" && !transfer_;
        // The user's environment reaches the shell, whose session is recorded in
        // full; a transfer program's is not: it gets a fixed one.
        if (transfer_) spec.env = transfer_environment(environ);
        if (session()) {
            spec.as_pty_owner = [&](const std::function<void()>& open) {
                AsUser as_user(ids_);  // devpts gives the pty to its opener: the user's, as a login's
                open();
            };
            spec.in_child = [&] { become_user_or_die(ids_); };
            spec.in_parent = [&] { become_recorder_or_die(ids_); };
        }
        // The recorded program's terminal is registered as this recording's,
        // so a recorder started inside it does not record it twice.
        spec.on_pty = [&](int slave) {
            if (!session()) return;
            try {
                term_lock_.emplace(slave, info_.rec);
            } catch (const std::exception& e) {
                audit_log(LOG_WARNING, who_ + ": " + e.what() + " (a recorder started inside records again)");
            }
        };
        // Nothing of the program runs before the first message is written.
        spec.gate = [&](int64_t t) {
            if (!obs_->start(t) && !cfg_.lax) {
                set_mark("unrecorded", "refused: the first message could not be written: " + guard_->error());
                return false;
            }
            set_mark(
                guard_->failed() ? "unrecorded" : "recording",
                guard_->failed() ? "the writer failed (lax: the session goes on): " + guard_->error() : cfg_.writer);
            started_ = true;
            return true;
        };
        try {
            res_ = run_relay(spec, *obs_);
        } catch (const std::exception& e) {
            user_error(e.what());
            res_.reason = EndReason::Error;
            res_.status = 1;
            res_.error = e.what();
        }
    }

    // ---- the end: the last message, the loss report, the marker
    int end() {
        if (!res_.error.empty() && res_.reason == EndReason::Error) user_error(res_.error);
        int64_t tend = mono_now_ns();
        if (transfer_) enc_->annotate("transfer", obs_->transfer_value(command_text_));
        obs_->end_hidden(tend);
        try {
            enc_->finish(tend, end_word(res_.reason));
        } catch (const std::exception& e) {
            user_error(std::string("cannot finish the recording: ") + e.what());
        }
        guard_->flush_buffer();
        guard_->report(info_);
        if (started_) {
            if (guard_->failed())
                set_mark("unrecorded", "the writer failed during the session: " + guard_->error() +
                                           (cfg_.lax ? " (lax: the session went on)" : " (the session was ended)"));
            else
                set_mark("ended", end_word(res_.reason));
        }
        if (guard_->failed() && !cfg_.lax && res_.status == 0) return 1;
        return res_.status;
    }

    const Program p_;
    const int argc_;
    char** const argv_;
    const std::string prog_;
    std::string argv0_;
    bool login_name_ = false;
    std::optional<ExclusiveTerminal> outer_in_, outer_out_;

    // who
    Identities ids_;
    uint32_t session_ = kUnsetSession;
    std::string user_;

    // configuration, what to run
    Config cfg_;
    std::string path_;
    std::vector<std::string> args_;
    bool interactive_ = false;
    std::string command_text_;

    // the recording
    RecordingInfo info_;
    marker::Marker mark_;
    std::string who_;
    std::unique_ptr<MessageSink> writer_;
    std::string start_error_;
    std::optional<integrity::Key> key_;
    bool transfer_ = false;
    std::optional<GuardSink> guard_;
    std::optional<Encoder> enc_;
    std::optional<Observer> obs_;
    std::optional<TerminalLock> term_lock_;
    bool started_ = false;
    RelayResult res_;
};

}  // namespace

int recorder_main(Program p, int argc, char** argv) { return Recorder(p, argc, argv).run(); }

}  // namespace tlog::rec
