#include "tlog/rec/file_transfer.h"

#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace tlog::rec {

namespace {

using Words = std::vector<std::string>;

std::string basename_of(const std::string& p) {
    size_t s = p.rfind('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}

bool only(std::string_view s, std::string_view set) { return s.find_first_not_of(set) == std::string_view::npos; }

constexpr std::string_view kDigits = "0123456789";
constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

bool is_number(std::string_view s) {
    if (!s.empty() && s[0] == '-') s.remove_prefix(1);
    return !s.empty() && s.size() <= 19 && only(s, kDigits);
}

// A path operand: a word the program will not take for an option.
bool is_operand(std::string_view s) { return !s.empty() && s[0] != '-'; }

// ---- scp
// OpenSSH 9.2's scp (scp.c: main() builds "scp%s%s%s%s" from -v, -r, -p,
// -d in that order; toremote()/tolocal() append "-t" or "-f", "-- " when
// the path starts with '-', and the path) sends nothing else to the server
// side. The options that name programs, configuration or keys (-S, -o, -F,
// -i, ...) only matter to a client, which the server side must not become.
bool scp_server_shape(const Words& w) {
    size_t i = 1;
    for (const char* flag : {"-v", "-r", "-p", "-d"})
        if (i < w.size() && w[i] == flag) i++;
    if (i >= w.size() || (w[i] != "-t" && w[i] != "-f")) return false;
    i++;
    if (i < w.size() && w[i] == "--") {
        i++;
        if (i >= w.size() || w[i].empty() || w[i][0] != '-') return false;
    } else if (i >= w.size() || !is_operand(w[i])) {
        return false;
    }
    return i + 1 == w.size();
}

// ---- rsync
// What a value after an rsync option may be.
enum class Value {
    None,       // --name
    Number,     // --name=N (N may be negative: --max-delete=-1)
    Word,       // --name=WORD (a name, size or list; not a path to anything run or loaded)
    Separate,   // --name DIR, the directory as the next word
    Stdin,      // --files-from=- (the list comes over the connection)
    LogFormat,  // --log-format=X, %o, %i or %i%I
    Info,       // --info=FLAGS
};
struct RsyncOption {
    std::string_view name;
    Value value;
};

// The long options rsync 3.2.7's client puts on the server's command line
// (options.c, server_options(); a 3.5.0 client was seen to send the same
// shapes), less
// those that make the server run, load or write something the user names
// beyond the transfer's files: --iconv (charset modules), --only-write-batch
// and --files-from PATH. Options a client never sends (--daemon, --config,
// --dparam, --rsh, --rsync-path, --log-file, --write-batch, --read-batch,
// --early-input, --copy-as, ...) are not here, so not transfers.
constexpr std::array kRsyncOptions = {
    RsyncOption{"--list-only", Value::None},
    RsyncOption{"--no-r", Value::None},
    RsyncOption{"--no-specials", Value::None},
    RsyncOption{"--specials", Value::None},
    RsyncOption{"--compress-level", Value::Number},
    RsyncOption{"--log-format", Value::LogFormat},
    RsyncOption{"--msgs2stderr", Value::None},
    RsyncOption{"--no-msgs2stderr", Value::None},
    RsyncOption{"--timeout", Value::Number},
    RsyncOption{"--bwlimit", Value::Number},
    RsyncOption{"--backup-dir", Value::Separate},
    RsyncOption{"--suffix", Value::Word},
    RsyncOption{"--checksum-choice", Value::Word},
    RsyncOption{"--new-compress", Value::None},
    RsyncOption{"--old-compress", Value::None},
    RsyncOption{"--compress-choice", Value::Word},
    RsyncOption{"--max-delete", Value::Number},
    RsyncOption{"--min-size", Value::Word},
    RsyncOption{"--max-size", Value::Word},
    RsyncOption{"--delete-before", Value::None},
    RsyncOption{"--delete-delay", Value::None},
    RsyncOption{"--delete-during", Value::None},
    RsyncOption{"--delete-after", Value::None},
    RsyncOption{"--delete", Value::None},
    RsyncOption{"--delete-excluded", Value::None},
    RsyncOption{"--force", Value::None},
    RsyncOption{"--super", Value::None},
    RsyncOption{"--size-only", Value::None},
    RsyncOption{"--stats", Value::None},
    RsyncOption{"--skip-compress", Value::Word},
    RsyncOption{"--max-alloc", Value::Word},
    RsyncOption{"--delete-missing-args", Value::None},
    RsyncOption{"--ignore-missing-args", Value::None},
    RsyncOption{"--modify-window", Value::Number},
    RsyncOption{"--checksum-seed", Value::Number},
    RsyncOption{"--partial-dir", Value::Separate},
    RsyncOption{"--delay-updates", Value::None},
    RsyncOption{"--partial", Value::None},
    RsyncOption{"--ignore-errors", Value::None},
    RsyncOption{"--copy-unsafe-links", Value::None},
    RsyncOption{"--safe-links", Value::None},
    RsyncOption{"--numeric-ids", Value::None},
    RsyncOption{"--use-qsort", Value::None},
    RsyncOption{"--usermap", Value::Word},
    RsyncOption{"--groupmap", Value::Word},
    RsyncOption{"--ignore-existing", Value::None},
    RsyncOption{"--existing", Value::None},
    RsyncOption{"--temp-dir", Value::Separate},
    RsyncOption{"--fsync", Value::None},
    RsyncOption{"--compare-dest", Value::Separate},
    RsyncOption{"--copy-dest", Value::Separate},
    RsyncOption{"--link-dest", Value::Separate},
    RsyncOption{"--info", Value::Info},
    RsyncOption{"--append", Value::None},
    RsyncOption{"--inplace", Value::None},
    RsyncOption{"--no-W", Value::None},
    RsyncOption{"--files-from", Value::Stdin},
    RsyncOption{"--from0", Value::None},
    RsyncOption{"--no-relative", Value::None},
    RsyncOption{"--no-implied-dirs", Value::None},
    RsyncOption{"--write-devices", Value::None},
    RsyncOption{"--remove-source-files", Value::None},
    RsyncOption{"--remove-sent-files", Value::None},
    RsyncOption{"--copy-devices", Value::None},
    RsyncOption{"--preallocate", Value::None},
    RsyncOption{"--open-noatime", Value::None},
    RsyncOption{"--mkpath", Value::None},
};

// The single-letter cluster server_options() builds: these flags, then
// maybe_add_e_option()'s "e" with the protocol's capabilities ("e.iLsfxCIvu",
// or "e31.1..." from a pre-release), which the server reads as protocol
// information, never as a remote shell. Not 's' (--protect-args): the server
// would then read the rest of its arguments, options included, from the
// connection, where this check cannot see them.
bool rsync_cluster(std::string_view w) {
    static constexpr std::string_view kFlags = "vqbunldKmOJyLkWHogDtUNpEAXrcCIRxSz";
    if (w.size() < 2 || w[0] != '-' || w[1] == '-') return false;
    w.remove_prefix(1);
    size_t e = w.find('e');
    if (!only(w.substr(0, e), kFlags)) return false;
    if (e == std::string_view::npos) return true;
    std::string_view caps = w.substr(e + 1);
    size_t letters = caps.find_first_not_of(kDigits);
    if (letters == std::string_view::npos || caps[letters] != '.') return false;
    letters = caps.find_first_not_of(kDigits, letters + 1);
    return letters == std::string_view::npos || only(caps.substr(letters), kLetters);
}

// One long option (or -B/-@, which the client sends as "-B%u" and "-@%d")
// at w[i]; advances i past it and its value. False when not a client's.
bool rsync_option(const Words& w, size_t& i) {
    std::string_view word = w[i];
    if (word.starts_with("-B") || word.starts_with("-@")) {
        i++;
        std::string_view n = word.substr(2);
        return is_number(n) && (word[1] == '@' || n[0] != '-');
    }
    size_t eq = word.find('=');
    std::string_view name = word.substr(0, eq);
    auto opt =
        std::find_if(kRsyncOptions.begin(), kRsyncOptions.end(), [&](const RsyncOption& o) { return o.name == name; });
    if (opt == kRsyncOptions.end()) return false;
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos) value = word.substr(eq + 1);
    i++;
    switch (opt->value) {
        case Value::None: return !value;
        case Value::Number: return value && is_number(*value);
        case Value::Word: return value && !value->empty();
        case Value::Stdin: return value && *value == "-";
        case Value::LogFormat: return value && (*value == "X" || *value == "%o" || *value == "%i" || *value == "%i%I");
        case Value::Info: return value && !value->empty() && only(*value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,");
        case Value::Separate:
            if (value || i >= w.size() || !is_operand(w[i])) return false;
            i++;
            return true;
    }
    return false;
}

// rsync --server [--sender] [-FLAGS] [OPTION...] . PATH...: the shape of a
// client's remote-shell transfer. "--server" must come first: rsync only
// ignores the user's popt aliases (~/.popt) once it has seen it. Paths
// never start with '-' (the client sends "./-x"): rsync would parse such a
// path as an option wherever it stands.
bool rsync_server_shape(const Words& w) {
    size_t i = 1;
    if (i >= w.size() || w[i] != "--server") return false;
    i++;
    if (i < w.size() && w[i] == "--sender") i++;
    if (i < w.size() && w[i] != "." && !w[i].starts_with("--") && !w[i].starts_with("-B") && !w[i].starts_with("-@")) {
        if (!rsync_cluster(w[i])) return false;
        i++;
    }
    while (i < w.size() && w[i] != ".")
        if (!rsync_option(w, i)) return false;
    if (i >= w.size()) return false;  // no "."
    i++;
    if (i >= w.size()) return false;  // no path
    for (; i < w.size(); i++)
        if (!is_operand(w[i])) return false;
    return true;
}

// ---- sftp-server
// sshd's Subsystem line may give sftp-server logging, read-only and umask
// options (sftp-server.c: getopt "d:f:l:P:p:Q:u:cehR"). Only those: -d
// (start directory), -p/-P (request lists), -Q and -c are not transfers.
bool one_of_nocase(std::string_view v, std::initializer_list<std::string_view> names) {
    return std::any_of(names.begin(), names.end(), [&](std::string_view n) {
        return n.size() == v.size() && strncasecmp(n.data(), v.data(), n.size()) == 0;
    });
}

bool sftp_server_shape(const Words& w) {
    for (size_t i = 1; i < w.size(); i++) {
        const std::string& a = w[i];
        if (a == "-e" || a == "-R") continue;
        if (a != "-l" && a != "-f" && a != "-u") return false;
        if (++i >= w.size()) return false;
        std::string_view v = w[i];
        bool ok = false;
        if (a == "-l") {
            ok =
                one_of_nocase(v, {"QUIET", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3"});
        } else if (a == "-f") {
            ok = one_of_nocase(v, {"DAEMON", "USER", "AUTH", "AUTHPRIV", "LOCAL0", "LOCAL1", "LOCAL2", "LOCAL3",
                                   "LOCAL4", "LOCAL5", "LOCAL6", "LOCAL7"});
        } else {
            ok = !v.empty() && v.size() <= 4 && only(v, "01234567") && std::stoi(std::string(v), nullptr, 8) <= 0777;
        }
        if (!ok) return false;
    }
    return true;
}

bool kept_variable(std::string_view name) {
    for (std::string_view n : {"HOME", "USER", "LOGNAME", "SHELL", "LANG", "TZ"})
        if (name == n) return true;
    // glibc's categories (LC_ALL, LC_CTYPE, ..., LC_IDENTIFICATION) and room for a few more
    return name.size() > 3 && name.size() <= 32 && name.starts_with("LC_") &&
           only(name.substr(3), "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
}

}  // namespace

std::optional<std::vector<std::string>> file_transfer_argv(const std::string& cmd,
                                                           const std::function<bool(const std::string&)>& exists) {
    // The command string is the user's (ssh host 'CMD'): only a plain
    // command line qualifies — no quotes, no shell syntax — so nothing but
    // the transfer program can run in an unrecorded-payload session.
    static const char kPlain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _./,:=@+%-";
    if (cmd.empty() || cmd.find_first_not_of(kPlain) != std::string::npos) return std::nullopt;
    Words words;
    size_t i = 0;
    while (i < cmd.size()) {
        size_t b = cmd.find_first_not_of(' ', i);
        if (b == std::string::npos) break;
        size_t e = cmd.find(' ', b);
        if (e == std::string::npos) e = cmd.size();
        words.push_back(cmd.substr(b, e - b));
        i = e;
    }
    if (!words.empty() && words[0] == "exec") words.erase(words.begin());
    if (words.empty()) return std::nullopt;
    // The program is the system's, by absolute path: the user's PATH,
    // aliases, functions and startup files are not involved, because the
    // recorder executes it directly instead of through the user's shell.
    static const std::vector<std::string> kPrograms = {
        "/usr/bin/scp",
        "/usr/bin/rsync",
        "/usr/lib/openssh/sftp-server",
        "/usr/libexec/openssh/sftp-server",
        "/usr/libexec/sftp-server",
    };
    std::string prog;
    for (const auto& known : kPrograms) {
        if (words[0] == known || (words[0].find('/') == std::string::npos && basename_of(known) == words[0])) {
            if (exists(known)) {
                prog = known;
                break;
            }
        }
    }
    if (prog.empty()) return std::nullopt;
    std::string name = basename_of(prog);
    bool shape = name == "scp"     ? scp_server_shape(words)
                 : name == "rsync" ? rsync_server_shape(words)
                                   : sftp_server_shape(words);
    if (!shape) return std::nullopt;
    words[0] = prog;
    return words;
}

bool is_file_transfer_command(const std::string& cmd) {
    return file_transfer_argv(cmd, [](const std::string& p) { return access(p.c_str(), X_OK) == 0; }).has_value();
}

std::vector<std::string> transfer_environment(const char* const* environ_in) {
    // sshd fills the session's environment from the user (AcceptEnv,
    // ~/.ssh/environment): LD_PRELOAD, RSYNC_*, BASH_ENV and the like would
    // put the user's code into a program whose output is not recorded.
    std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
    std::set<std::string, std::less<>> seen;
    for (const char* const* p = environ_in; p && *p; p++) {
        std::string_view entry = *p;
        size_t eq = entry.find('=');
        if (eq == std::string_view::npos) continue;
        std::string_view name = entry.substr(0, eq);
        if (!kept_variable(name)) continue;
        if (!seen.emplace(name).second) continue;  // the first one is what getenv() would have seen
        if (entry.size() - eq - 1 <= kTransferEnvValueMax) env.emplace_back(entry);
    }
    return env;
}

}  // namespace tlog::rec
