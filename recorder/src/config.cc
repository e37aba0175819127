#include "tlog/rec/config.h"

#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <utility>

#include "tlog/error.h"
#include "tlog/rec/redact.h"
#include "tlog_build_config.h"

namespace tlog::rec {

namespace {

const json::Value* get(const json::Value& root, std::string_view path) {
    const json::Value* v = &root;
    while (v) {
        size_t dot = path.find('.');
        v = v->find(path.substr(0, dot));
        if (dot == std::string_view::npos) break;
        path.remove_prefix(dot + 1);
    }
    return v;
}

}  // namespace

bool parse_bool(const std::string& s, bool& out) {
    static const char* yes[] = {"true", "yes", "on", "1", "y", "t"};
    static const char* no[] = {"false", "no", "off", "0", "n", "f"};
    for (const char* y : yes)
        if (strcasecmp(s.c_str(), y) == 0) return out = true, true;
    for (const char* n : no)
        if (strcasecmp(s.c_str(), n) == 0) return out = false, true;
    return false;
}

json::Value default_json(Program p) {
    const char* text = p == Program::RecSession ? R"({
  "shell": "/bin/bash",
  "notice": "\nATTENTION! Your session is being recorded!\n\n",
  "latency": 10, "payload": 2048, "writer": "journal",
  "log": {"input": false, "output": true, "window": true, "input_secrets": "hide", "output_redact": []},
  "limit": {"rate": 16384, "burst": 32768, "action": "pass"},
  "file": {},
  "syslog": {"facility": "authpriv", "priority": "info"},
  "journal": {"priority": "info", "augment": true},
  "lax": false, "integrity": {}, "transfer": {"payload": false}, "graphical": {"record": true}
})"
                                                : R"({
  "latency": 10, "payload": 2048, "writer": "file",
  "log": {"input": false, "output": true, "window": true, "input_secrets": "hide", "output_redact": []},
  "limit": {"rate": 16384, "burst": 32768, "action": "pass"},
  "file": {},
  "syslog": {"facility": "authpriv", "priority": "info"},
  "journal": {"priority": "info", "augment": true},
  "lax": false, "integrity": {}, "transfer": {"payload": false}, "graphical": {"record": true}
})";
    return json::parse(text, "<built-in configuration>");
}

Config config_from_json(const json::Value& m) {
    Config c;
    auto str = [&](const char* path, std::string& out) {
        if (auto v = get(m, path); v && v->is_string()) out = v->as_string();
    };
    auto boolean = [&](const char* path, bool& out) {
        if (auto v = get(m, path); v && v->is_bool()) out = v->as_bool();
    };
    auto uint = [&](const char* path, uint64_t& out) {
        if (auto v = get(m, path)) {
            if (auto u = v->as_uint()) out = *u;
        }
    };
    str("shell", c.shell);
    str("notice", c.notice);
    if (auto v = get(m, "latency")) {
        if (auto d = v->as_double()) c.latency = *d;
    }
    uint("payload", c.payload);
    str("writer", c.writer);
    boolean("log.input", c.log_input);
    boolean("log.output", c.log_output);
    boolean("log.window", c.log_window);
    str("log.input_secrets", c.input_secrets);
    if (auto v = get(m, "log.output_redact"); v && v->is_array())
        for (const auto& a : v->items()) c.output_redact.push_back(a.as_string());
    uint("limit.rate", c.limit_rate);
    uint("limit.burst", c.limit_burst);
    str("limit.action", c.limit_action);
    str("file.path", c.file_path);
    str("syslog.facility", c.syslog_facility);
    str("syslog.priority", c.syslog_priority);
    str("journal.priority", c.journal_priority);
    boolean("journal.augment", c.journal_augment);
    boolean("lax", c.lax);
    str("integrity.key", c.key_file);
    boolean("transfer.payload", c.transfer_payload);
    boolean("graphical.record", c.record_graphical);
    str("pam.rec", c.pam_rec);
    boolean("pam.record", c.pam_record);
    auto tri = [&](const char* path, int& out) {
        if (auto v = get(m, path); v && v->is_bool()) out = v->as_bool() ? 1 : 0;
    };
    tri("pam.interactive", c.pam_interactive);
    tri("pam.command", c.pam_command);
    tri("pam.transfer", c.pam_transfer);
    str("pam.service", c.pam_service);
    str("pam.ruser", c.pam_ruser);
    str("pam.nested", c.pam_nested);
    str("semaphore", c.semaphore);
    boolean("login", c.login);
    boolean("interactive", c.interactive);
    boolean("command", c.command);
    boolean("configuration", c.configuration);
    boolean("help", c.help);
    boolean("version", c.version);
    if (auto v = get(m, "args"); v && v->is_array())
        for (const auto& a : v->items()) c.args.push_back(a.as_string());
    return c;
}

namespace {

// The command-line options, once: getopt's table, the short-option string,
// the usage text and the JSON key each one sets are all made from this.
enum class Arg {
    Flag,    // --name: the key is set to true
    Bool,    // --name[=BOOL]
    Number,  // --name=N (a non-negative number)
    String,  // --name=TEXT
};
struct CliOption {
    const char* heading;  // the usage section it is listed under
    const char* name;     // long option
    char short_name;      // 0: none
    const char* key;      // the configuration key it sets ("log.input")
    Arg arg;
    const char* value;  // what the usage calls its value
    const char* help;   // "%w" stands for the program's default writer
    bool session_only;
};
constexpr CliOption kCliOptions[] = {
    {"General", "help", 'h', "help", Arg::Flag, "", "Output a command-line usage message and exit", false},
    {"General", "version", 'v', "version", Arg::Flag, "", "Output version information and exit", false},
    {"General", "configuration", 0, "configuration", Arg::Flag, "", "Output program configuration in JSON and exit",
     false},
    {"General", "login", 'l', "login", Arg::Flag, "", "Make the shell a login shell", true},
    {"General", "interactive", 'i', "interactive", Arg::Flag, "", "Make the shell an interactive shell", true},
    {"General", "command", 'c', "command", Arg::Flag, "", "Execute shell commands", true},
    {"General", "latency", 0, "latency", Arg::Number, "SECONDS", "Cache captured data SECONDS seconds before logging",
     false},
    {"General", "payload", 0, "payload", Arg::Number, "BYTES", "Limit encoded data to BYTES bytes", false},
    {"General", "writer", 'w', "writer", Arg::String, "STRING",
     "Use STRING log writer (journal/syslog/file, default %w)", false},
    {"General", "semaphore", 0, "semaphore", Arg::String, "FILE", "Write \"READY\" to FILE when recording is setup",
     false},
    {"General", "lax", 0, "lax", Arg::Bool, "", "Keep the session going when the writer fails", false},
    {"General", "integrity-key", 0, "integrity.key", Arg::String, "FILE", "Chain messages with an HMAC keyed from FILE",
     false},
    {"Logged data set", "log-input", 0, "log.input", Arg::Bool, "", "Enable/disable logging user input", false},
    {"Logged data set", "log-output", 0, "log.output", Arg::Bool, "", "Enable/disable logging program output", false},
    {"Logged data set", "log-window", 0, "log.window", Arg::Bool, "",
     "Enable/disable logging terminal window size changes", false},
    {"Logged data set", "log-input-secrets", 0, "log.input_secrets", Arg::String, "hide|record",
     "Hide (default) or record input typed while the program reads with echo off", false},
    {"Logging limit", "limit-rate", 0, "limit.rate", Arg::Number, "NUMBER",
     "Set logging rate limit to NUMBER of message bytes/sec", false},
    {"Logging limit", "limit-burst", 0, "limit.burst", Arg::Number, "NUMBER",
     "Set logging burst limit to NUMBER of message bytes", false},
    {"Logging limit", "limit-action", 0, "limit.action", Arg::String, "STRING",
     "Perform STRING action above limits (pass/delay/drop)", false},
    {"File writer", "file-path", 'o', "file.path", Arg::String, "FILE", "Log to FILE file", false},
    {"Syslog writer", "syslog-facility", 0, "syslog.facility", Arg::String, "STRING", "Log with STRING syslog facility",
     false},
    {"Syslog writer", "syslog-priority", 0, "syslog.priority", Arg::String, "STRING", "Log with STRING syslog priority",
     false},
    {"Journal writer", "journal-priority", 0, "journal.priority", Arg::String, "STRING",
     "Log with STRING syslog-style priority", false},
    {"Journal writer", "journal-augment", 0, "journal.augment", Arg::Bool, "",
     "Enable/disable adding extra journal fields", false},
};
constexpr int kLongOnly = 1000;  // getopt's value for an option without a short name: kLongOnly + index

int option_value(size_t i) {
    return kCliOptions[i].short_name ? kCliOptions[i].short_name : kLongOnly + static_cast<int>(i);
}

const CliOption* option_by_value(int v) {
    for (size_t i = 0; i < std::size(kCliOptions); ++i)
        if (option_value(i) == v) return &kCliOptions[i];
    return nullptr;
}

// "-o" for an option with a short name, else "--name": how errors name it.
std::string option_label(const CliOption& o) {
    return o.short_name ? std::string("-") + o.short_name : std::string("--") + o.name;
}

}  // namespace

std::string usage(Program p) {
    std::string u;
    if (p == Program::Rec) {
        u = "Usage: tlog-rec [OPTION...] [CMD_FILE [CMD_ARG...]]\n"
            "Record terminal I/O of a program or a user shell.\n\n";
    } else {
        u = "Usage: tlog-rec-session [OPTION...] [CMD_FILE [CMD_ARG...]]\n"
            "   or: tlog-rec-session -c [OPTION...] CMD_STRING [CMD_NAME [CMD_ARG...]]\n"
            "Start a shell and log terminal I/O.\n\n";
    }
    std::string heading;
    for (const auto& o : kCliOptions) {
        if (o.session_only && p != Program::RecSession) continue;
        if (heading != o.heading) {
            if (!heading.empty()) u += "\n";
            heading = o.heading;
            u += heading + " options:\n";
        }
        std::string spec = o.short_name ? std::string("-") + o.short_name + ", " : "";
        spec += std::string("--") + o.name;
        if (o.arg == Arg::Bool) spec += "[=BOOL]";
        if (o.arg == Arg::Number || o.arg == Arg::String) spec += std::string("=") + o.value;
        spec.resize(std::max<size_t>(spec.size() + 1, 31), ' ');
        std::string help = o.help;
        if (size_t at = help.find("%w"); at != std::string::npos)
            help.replace(at, 2, p == Program::Rec ? "file" : "journal");
        u += "    " + spec + help + "\n";
    }
    return u;
}

json::Value parse_command_line(const std::vector<std::string>& argv_in, Program p) {
    const std::string source = "<command line>";
    std::vector<option> long_opts;
    std::string shortopts = "+";
    for (size_t i = 0; i < std::size(kCliOptions); ++i) {
        const CliOption& o = kCliOptions[i];
        const int has_arg = o.arg == Arg::Flag   ? no_argument
                            : o.arg == Arg::Bool ? optional_argument
                                                 : required_argument;
        long_opts.push_back({o.name, has_arg, nullptr, option_value(i)});
        if (o.short_name && (!o.session_only || p == Program::RecSession)) {
            shortopts += o.short_name;
            if (has_arg == required_argument) shortopts += ':';
        }
    }
    long_opts.push_back({nullptr, 0, nullptr, 0});
    std::vector<std::string> copy = argv_in;
    if (copy.empty()) copy.push_back(program_name(p));
    std::vector<char*> argv;
    for (auto& s : copy) argv.push_back(s.data());
    argv.push_back(nullptr);
    int argc = static_cast<int>(copy.size());

    json::Value layer = json::Value::make_object();
    auto bad = [&](const std::string& opt, const std::string& msg) -> void {
        throw InputError(Location{source, 0, 0, opt}, msg);
    };
    // The object that holds `key`'s last part ("log.input": the "log" section).
    auto holder = [&](std::string_view key) -> std::pair<json::Value*, std::string> {
        size_t dot = key.find('.');
        if (dot == std::string_view::npos) return {&layer, std::string(key)};
        std::string sec(key.substr(0, dot));
        json::Value* s = layer.find(sec);
        if (!s) s = &layer.set(sec, json::Value::make_object());
        return {s, std::string(key.substr(dot + 1))};
    };
    optind = 0;  // full re-initialisation of getopt
    opterr = 0;
    for (;;) {
        int idx = -1;
        int c = getopt_long(argc, argv.data(), shortopts.c_str(), long_opts.data(), &idx);
        if (c == -1) break;
        const CliOption* o = c == '?' || c == ':' ? nullptr : option_by_value(c);
        if (!o) {
            const CliOption* missing = optopt ? option_by_value(optopt) : nullptr;
            std::string label = missing                        ? option_label(*missing)
                                : optopt && optopt < kLongOnly ? std::string("-") + static_cast<char>(optopt)
                                                               : std::string(argv[optind - 1] ? argv[optind - 1] : "?");
            if (missing && (missing->arg == Arg::Number || missing->arg == Arg::String) &&
                (!missing->session_only || p == Program::RecSession))
                bad(label, "option requires an argument");
            bad(label, "unknown option (see --help)");
        }
        if (o->session_only && p != Program::RecSession) bad(option_label(*o), "unknown option");
        const std::string opt = std::string("--") + o->name;
        auto [obj, name] = holder(o->key);
        switch (o->arg) {
            case Arg::Flag: obj->set(name, json::Value::make_bool(true)); break;
            case Arg::Bool: {
                bool b = true;
                if (optarg && !parse_bool(optarg, b))
                    bad(opt, std::string("expected a boolean, got \"") + optarg + "\"");
                obj->set(name, json::Value::make_bool(b));
                break;
            }
            case Arg::Number: {
                std::string a = optarg;
                char* end = nullptr;
                errno = 0;
                double d = strtod(a.c_str(), &end);
                if (a.empty() || *end || errno || d < 0) bad(opt, "expected a number, got \"" + a + "\"");
                obj->set(name, json::Value::make_number(a));
                break;
            }
            case Arg::String: obj->set(name, json::Value::make_string(optarg)); break;
        }
        // Options for the other program's schema are errors too, found by merge_layer.
    }
    json::Value args = json::Value::make_array();
    for (int i = optind; i < argc; i++) args.items().push_back(json::Value::make_string(argv[i]));
    layer.set("args", std::move(args));
    optind = 0;
    return layer;
}

LoadResult load_config(const LoadOptions& o) {
    auto env = [&](const char* name) -> const char* { return o.getenv ? o.getenv(name) : ::getenv(name); };
    LoadResult r;
    r.merged = default_json(o.program);
    std::string dir = o.sysconfdir.empty() ? std::string(TLOG_SYSCONFDIR) : o.sysconfdir;
    std::string sysfile = dir + "/" + program_name(o.program) + ".conf";
    if (::access(sysfile.c_str(), F_OK) == 0)
        merge_layer(r.merged, settings::read_layer_file(sysfile), sysfile, o.program);

    std::vector<std::string> prefixes = {"TLOG_REC"};
    if (o.program == Program::RecSession) prefixes.push_back("TLOG_REC_SESSION");
    for (const auto& pre : prefixes) {
        std::string file_var = pre + "_CONF_FILE";
        if (const char* f = env(file_var.c_str()); f && *f) {
            if (o.trust_env && o.trust_env_file) {
                std::string src = f;
                merge_layer(r.merged, settings::read_layer_file(src), src, o.program);
            } else {
                // The file is named by an environment the user may have
                // written: the recorder does not even open it (it could be
                // anything the tlog identity can read).
                r.ignored.push_back("<env " + file_var + ">: file '" + f +
                                    "' ignored: the environment is not trusted without a valid proof");
            }
        }
    }
    for (const auto& pre : prefixes) {
        std::string text_var = pre + "_CONF_TEXT";
        const char* t = env(text_var.c_str());
        if (!t || !*t) continue;
        std::string src = "<env " + text_var + ">";
        bool trusted = o.trust_text ? o.trust_text(text_var, t) : o.trust_env;
        if (trusted) {
            merge_layer(r.merged, settings::parse_layer(t, src), src, o.program);
        } else {
            // Untrusted text never stops the session: a bad layer is ignored
            // as a whole (and reported), a good one gives its safe settings.
            json::Value tmp = r.merged;
            try {
                merge_layer(tmp, settings::parse_layer(t, src), src, o.program, false, &r.ignored);
                r.merged = std::move(tmp);
            } catch (const InputError& e) {
                r.ignored.push_back(std::string(e.what()) + " (whole text ignored)");
            }
        }
    }
    merge_layer(r.merged, parse_command_line(o.argv, o.program), "<command line>", o.program, o.trust_cli, &r.ignored);
    r.config = config_from_json(r.merged);
    return r;
}

}  // namespace tlog::rec
