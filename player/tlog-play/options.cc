#include "options.h"

#include <getopt.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "keys.h"
#include "tlog/error.h"
#include "tlog/play/index_cache.h"
#include "tlog/settings.h"
#include "tlog_build_config.h"

namespace tlog::play::cli {

namespace {

enum LongOnly {
    O_PERSIST = 1000,
    O_LAX,
    O_LIST,
    O_VERIFY,
    O_SEARCH,
    O_EXPORT,
    O_EXPORT_INPUT,
    O_IMPORT,
    O_IMPORT_FORMAT,
    O_TIMING,
    O_REC_ID,
    O_USER,
    O_HOST,
    O_KEY,
    O_CACHE_DIR,
    O_NO_CACHE,
    O_KF_BYTES,
    O_KF_MS,
    O_IDLE,
    O_JOURNAL_FILE,
    O_CACHE_MAX,
    O_FORCE,
    O_CONFIGURATION,
    O_RECORDER_USER,
    O_SINCE,
    O_UNTIL,
    O_WIDE,
    O_JSON,
    O_STATUS,
    O_SHOW_INPUT,
    O_EXIT_AT_END,
    O_ES_BASEURL,
    O_ES_QUERY,
    O_SERVER_URL,
    O_SERVER_REC,
    O_SERVER_HOST,
    O_CA_FILE,
};

uint64_t parse_uint(const char* s, const char* what) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(s, &end, 10);
    if (!*s || *end || errno || *s == '-') throw std::invalid_argument(std::string("bad ") + what + ": " + s);
    return v;
}

double parse_seconds(const char* s, const char* what) {
    char* end = nullptr;
    double v = std::strtod(s, &end);
    if (!*s || *end || !std::isfinite(v) || v < 0) throw std::invalid_argument(std::string("bad ") + what + ": " + s);
    return v;
}

}  // namespace

std::optional<uint64_t> parse_time(const std::string& s) {
    if (s == "start" || s.empty()) return 0;
    if (s == "end") return std::nullopt;
    // [[HH:]MM:]SS[.sss]
    uint64_t parts[3] = {0, 0, 0};
    int n = 0;
    size_t i = 0;
    uint64_t ms = 0;
    for (;;) {
        if (i >= s.size() || s[i] < '0' || s[i] > '9') throw std::invalid_argument("bad time: " + s);
        uint64_t v = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + static_cast<uint64_t>(s[i++] - '0');
            if (v > 1000000000) throw std::invalid_argument("bad time: " + s);
        }
        if (n == 3) throw std::invalid_argument("bad time: " + s);
        parts[n++] = v;
        if (i < s.size() && s[i] == ':') {
            i++;
            continue;
        }
        if (i < s.size() && s[i] == '.') {
            i++;
            int digits = 0;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
                if (digits < 3) ms = ms * 10 + static_cast<uint64_t>(s[i] - '0');
                digits++;
                i++;
            }
            if (!digits) throw std::invalid_argument("bad time: " + s);
            while (digits++ < 3) ms *= 10;
        }
        if (i != s.size()) throw std::invalid_argument("bad time: " + s);
        break;
    }
    uint64_t secs = 0;
    for (int k = 0; k < n; k++) secs = secs * 60 + parts[k];
    return secs * 1000 + ms;
}

void print_usage() {
    std::fputs(
        "Usage: tlog-play [OPTION...]\n"
        "Play back, search, verify and convert tlog terminal recordings.\n\n"
        "Playback (tlog's options):\n"
        "  -r, --reader=NAME           log reader: file (default), journal, es, server\n"
        "  -i, --file-path=FILE        read the recording from FILE (-: standard input)\n"
        "  -m, --file-match=REC        play recording REC of a file holding several\n"
        "                              (needed there for playback and --export)\n"
        "  -f, --follow                wait for and play new messages (live)\n"
        "  -s, --speed=NUMBER          speed multiplier (1/16 to 16)\n"
        "  -g, --goto=TIME             start at TIME: start, end or [[HH:]MM:]SS[.sss]\n"
        "  -p, --paused                start paused\n"
        "      --persist               ignore the quit key and keyboard signals\n"
        "      --lax                   play through missing or damaged messages, saying where\n"
        "      --idle-limit=SECONDS    play pauses longer than SECONDS as SECONDS\n"
        "      --status                start with the status line shown (key s)\n"
        "      --show-input            start with the recorded input (keystrokes) shown (key i);\n"
        "                              off by default: input can hold passwords\n"
        "      --exit-at-end           exit when the recording ends, as tlog's player does; without\n"
        "                              it, once a key was pressed (or with -p), the player stays\n"
        "                              at the end until q (never without a terminal on stdin,\n"
        "                              or with --persist)\n"
        "Journal reader (-r journal):\n"
        "  -M, --journal-match=F=V     entries whose field F is V (repeatable)\n"
        "  -S, --journal-since=SECONDS from this time (seconds since the epoch)\n"
        "  -U, --journal-until=SECONDS up to this time\n"
        "  -N, --journal-namespace=NS  read journal namespace NS (+NS: and the default one, *: all)\n"
        "      --journal-file=FILE     read journal FILE instead of the system journal\n"
        "      --recorder-user=USER    entries written by USER (name or uid, repeatable) are the\n"
        "                              recorder's; others are forged (default: root and tlog)\n"
        "Elasticsearch reader (-r es, as tlog's):\n"
        "      --es-baseurl=URL        the _search URL (no query part), e.g.\n"
        "                              http://es:9200/tlog/_search; tlog-server answers it too\n"
        "      --es-query=QUERY        the query string, e.g. rec:ID\n"
        "tlog-server reader (-r server):\n"
        "      --server-url=URL        the server, e.g. https://logs.example.com:8443\n"
        "      --server-rec=REC        the recording to read (or -m REC)\n"
        "      --server-host=HOST      its host, when the same id came from several\n"
        "      --ca-file=FILE          https: trust the CA certificates in FILE, not the system's\n"
        "Other modes:\n"
        "      --list [FILE|DIR...]    list the recordings in files, directories (recursively) or the\n"
        "                              journal, sorted by start (status 1 if anything is damaged);\n"
        "                              filters: --user=U --host=H\n"
        "                              --since=WHEN --until=WHEN (2026-12-05, '2026-12-05 14:00',\n"
        "                              today, yesterday, now, -2h, -3d, @SECONDS); --wide, --json\n"
        "      --verify                check the integrity chain of each recording in the file,\n"
        "                              name the first broken message (status 1 if any is not intact)\n"
        "      --search=REGEX          times where the rendered screen matches REGEX (POSIX ERE)\n"
        "  -I, --ignore-case           search: letters match either case (also / and ?)\n"
        "  -F, --fixed-string          search: REGEX is plain text, not a regular expression (also / and ?)\n"
        "      --export=FORMAT         asciicast (v2), asciicast3, text, transcript or raw, to -o FILE\n"
        "      --export-input          asciicast: include the recorded input\n"
        "      --import=FILE           convert asciicast v2/v3 or a script typescript to tlog, to -o FILE\n"
        "      --import-format=FMT     asciicast or script (default: from the content)\n"
        "      --timing=FILE           script: the timing file (script -T FILE)\n"
        "      --rec-id=ID --user=U --host=H   fields of an imported recording (user and host\n"
        "                              stay empty unless given)\n"
        "  -o, --output=FILE           where exports and imports go (default: stdout)\n"
        "      --force                 let -o replace an existing file (never a symbolic link)\n"
        "      --key=FILE              integrity key (repeatable)\n"
        "      --cache-dir=DIR         index cache (default: $XDG_CACHE_HOME/tlog-play)\n"
        "      --no-cache              build the index in memory only\n"
        "      --cache-max=SIZE        cap the index cache at SIZE (K, M, G; 0: no cap;\n"
        "                              default $TLOG_PLAY_CACHE_MAX or 1G), least recently used go first\n"
        "      --configuration         print the effective configuration (tlog-play.conf keys) and exit\n"
        "  -h, --help, -v, --version\n\n"
        "Configuration: " TLOG_SYSCONFDIR
        "/tlog-play.conf, then $TLOG_PLAY_CONF_FILE, then\n"
        "  $TLOG_PLAY_CONF_TEXT, then the command line (tlog-play.conf(5)).\n\n",
        stdout);
    // The keys: from the player's own table of bindings.
    for (const std::string& l : help_lines()) std::printf("%s\n", l.c_str());
}

json::Value load_configuration(const ConfigSources& src) {
    auto env = [&](const char* name) -> const char* { return src.getenv ? src.getenv(name) : ::getenv(name); };
    using settings::Program;
    json::Value merged = json::Value::make_object();
    try {
        const std::string dir = src.sysconfdir.empty() ? std::string(TLOG_SYSCONFDIR) : src.sysconfdir;
        const std::string sysfile = dir + "/tlog-play.conf";
        if (::access(sysfile.c_str(), F_OK) == 0)
            settings::merge_layer(merged, settings::read_layer_file(sysfile), sysfile, Program::Play);
        // The player runs as the auditor, with the auditor's environment:
        // nothing here is another user's to write, so all of it is taken.
        if (const char* f = env("TLOG_PLAY_CONF_FILE"); f && *f)
            settings::merge_layer(merged, settings::read_layer_file(f), f, Program::Play);
        if (const char* t = env("TLOG_PLAY_CONF_TEXT"); t && *t) {
            const std::string source = "<env TLOG_PLAY_CONF_TEXT>";
            settings::merge_layer(merged, settings::parse_layer(t, source), source, Program::Play);
        }
    } catch (const InputError& e) {
        throw ConfigError(e.what());
    }
    return merged;
}

namespace {

const json::Value* at(const json::Value& root, const char* section, const char* key) {
    const json::Value* s = section ? root.find(section) : &root;
    return s ? s->find(key) : nullptr;
}

// The configuration's values as the options' defaults (the command line
// comes after, and wins). The values were checked by the settings table.
void apply_configuration(const json::Value& c, Options& o) {
    auto str = [&](const char* section, const char* key, std::string& out) {
        if (auto v = at(c, section, key)) out = v->as_string();
    };
    auto flag = [&](const char* key, bool& out) {
        if (auto v = at(c, nullptr, key)) out = v->as_bool();
    };
    str(nullptr, "reader", o.reader);
    str("file", "path", o.path);
    str("file", "match", o.match);
    str(nullptr, "goto", o.go);
    if (!o.go.empty()) parse_time(o.go);
    flag("follow", o.follow);
    flag("paused", o.paused);
    flag("persist", o.persist);
    flag("lax", o.lax);
    if (auto v = at(c, nullptr, "speed")) o.speed = v->as_double().value_or(1.0);
    if (auto v = at(c, "journal", "since")) o.since = v->number_text();
    if (auto v = at(c, "journal", "until")) o.until = v->number_text();
    if (auto v = at(c, "journal", "match"))
        for (const auto& m : v->items()) o.journal_match.push_back(m.as_string());
    str("journal", "namespace", o.journal_namespace);
    str("es", "baseurl", o.es_baseurl);
    str("es", "query", o.es_query);
    str("server", "url", o.server_url);
    str("server", "rec", o.server_rec);
    str("server", "host", o.server_host);
    str(nullptr, "ca_file", o.ca_file);
}

}  // namespace

json::Value configuration_json(const Options& o) {
    using json::Value;
    Value root = Value::make_object();
    root.set("reader", Value::make_string(o.reader));
    Value file = Value::make_object();
    if (!o.path.empty()) file.set("path", Value::make_string(o.path));
    if (!o.match.empty()) file.set("match", Value::make_string(o.match));
    root.set("file", std::move(file));
    Value journal = Value::make_object();
    if (!o.since.empty()) journal.set("since", Value::make_number(o.since));
    if (!o.until.empty()) journal.set("until", Value::make_number(o.until));
    Value match = Value::make_array();
    for (const auto& m : o.journal_match) match.items().push_back(Value::make_string(m));
    journal.set("match", std::move(match));
    if (!o.journal_namespace.empty()) journal.set("namespace", Value::make_string(o.journal_namespace));
    root.set("journal", std::move(journal));
    Value es = Value::make_object();
    if (!o.es_baseurl.empty()) es.set("baseurl", Value::make_string(o.es_baseurl));
    if (!o.es_query.empty()) es.set("query", Value::make_string(o.es_query));
    root.set("es", std::move(es));
    Value server = Value::make_object();
    if (!o.server_url.empty()) server.set("url", Value::make_string(o.server_url));
    if (!o.server_rec.empty()) server.set("rec", Value::make_string(o.server_rec));
    if (!o.server_host.empty()) server.set("host", Value::make_string(o.server_host));
    // Not tlog's keys: left out when unset, so that the printout of a
    // configuration without them stays one Debian's tlog-play reads.
    if (!server.members().empty()) root.set("server", std::move(server));
    if (!o.ca_file.empty()) root.set("ca_file", Value::make_string(o.ca_file));
    char speed[32];
    std::snprintf(speed, sizeof speed, "%.17g", o.speed);
    root.set("speed", Value::make_number(speed));
    root.set("follow", Value::make_bool(o.follow));
    if (!o.go.empty()) root.set("goto", Value::make_string(o.go));
    root.set("paused", Value::make_bool(o.paused));
    root.set("persist", Value::make_bool(o.persist));
    root.set("lax", Value::make_bool(o.lax));
    return root;
}

Options parse_options(int argc, char** argv, const ConfigSources& sources) {
    static const struct option longs[] = {
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'v'},
        {"reader", required_argument, nullptr, 'r'},
        {"file-path", required_argument, nullptr, 'i'},
        {"file-match", required_argument, nullptr, 'm'},
        {"follow", no_argument, nullptr, 'f'},
        {"speed", required_argument, nullptr, 's'},
        {"goto", required_argument, nullptr, 'g'},
        {"paused", no_argument, nullptr, 'p'},
        {"output", required_argument, nullptr, 'o'},
        {"journal-since", required_argument, nullptr, 'S'},
        {"journal-until", required_argument, nullptr, 'U'},
        {"journal-match", required_argument, nullptr, 'M'},
        {"journal-namespace", required_argument, nullptr, 'N'},
        {"namespace", required_argument, nullptr, 'N'},  // journalctl's name
        {"persist", no_argument, nullptr, O_PERSIST},
        {"lax", no_argument, nullptr, O_LAX},
        {"list", no_argument, nullptr, O_LIST},
        {"verify", no_argument, nullptr, O_VERIFY},
        {"search", required_argument, nullptr, O_SEARCH},
        {"ignore-case", no_argument, nullptr, 'I'},
        {"fixed-string", no_argument, nullptr, 'F'},
        {"export", required_argument, nullptr, O_EXPORT},
        {"export-input", no_argument, nullptr, O_EXPORT_INPUT},
        {"import", required_argument, nullptr, O_IMPORT},
        {"import-format", required_argument, nullptr, O_IMPORT_FORMAT},
        {"timing", required_argument, nullptr, O_TIMING},
        {"rec-id", required_argument, nullptr, O_REC_ID},
        {"user", required_argument, nullptr, O_USER},
        {"host", required_argument, nullptr, O_HOST},
        {"key", required_argument, nullptr, O_KEY},
        {"cache-dir", required_argument, nullptr, O_CACHE_DIR},
        {"no-cache", no_argument, nullptr, O_NO_CACHE},
        {"cache-max", required_argument, nullptr, O_CACHE_MAX},
        {"keyframe-bytes", required_argument, nullptr, O_KF_BYTES},
        {"keyframe-ms", required_argument, nullptr, O_KF_MS},
        {"idle-limit", required_argument, nullptr, O_IDLE},
        {"journal-file", required_argument, nullptr, O_JOURNAL_FILE},
        {"force", no_argument, nullptr, O_FORCE},
        {"configuration", no_argument, nullptr, O_CONFIGURATION},
        {"recorder-user", required_argument, nullptr, O_RECORDER_USER},
        {"since", required_argument, nullptr, O_SINCE},
        {"until", required_argument, nullptr, O_UNTIL},
        {"wide", no_argument, nullptr, O_WIDE},
        {"json", no_argument, nullptr, O_JSON},
        {"status", no_argument, nullptr, O_STATUS},
        {"show-input", no_argument, nullptr, O_SHOW_INPUT},
        {"exit-at-end", no_argument, nullptr, O_EXIT_AT_END},
        {"es-baseurl", required_argument, nullptr, O_ES_BASEURL},
        {"es-query", required_argument, nullptr, O_ES_QUERY},
        {"server-url", required_argument, nullptr, O_SERVER_URL},
        {"server-rec", required_argument, nullptr, O_SERVER_REC},
        {"server-host", required_argument, nullptr, O_SERVER_HOST},
        {"ca-file", required_argument, nullptr, O_CA_FILE},
        {nullptr, 0, nullptr, 0},
    };
    Options o;
    apply_configuration(load_configuration(sources), o);
    bool cli_match = false;
    optind = 0;  // glibc: full re-initialisation (the tests parse several command lines)
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":hvr:i:m:fs:g:po:S:U:M:N:IF", longs, nullptr)) != -1) {
        switch (c) {
            case 'h': o.help = true; break;
            case 'v': o.version = true; break;
            case 'r': o.reader = optarg; break;
            case 'i': o.path = optarg; break;
            case 'm': o.match = optarg; break;
            case 'f': o.follow = true; break;
            case 's': {
                double v = parse_seconds(optarg, "speed");
                if (v <= 0) throw std::invalid_argument("speed must be above 0");
                o.speed = v;
                break;
            }
            case 'g':
                o.go = optarg;
                parse_time(o.go);
                break;
            case 'p': o.paused = true; break;
            case 'o': o.output = optarg; break;
            case 'S': o.since = optarg; break;
            case 'U': o.until = optarg; break;
            case 'M':
                // The command line's matches replace the configuration's.
                if (!cli_match) o.journal_match.clear();
                cli_match = true;
                o.journal_match.push_back(optarg);
                break;
            case 'N':
                if (!*optarg) throw std::invalid_argument("empty journal namespace");
                o.journal_namespace = optarg;
                break;
            case O_PERSIST: o.persist = true; break;
            case O_LAX: o.lax = true; break;
            case O_LIST: o.list = true; break;
            case O_VERIFY: o.verify = true; break;
            case O_SEARCH: o.search = optarg; break;
            case 'I': o.ignore_case = true; break;
            case 'F': o.fixed_string = true; break;
            case O_EXPORT: o.export_format = optarg; break;
            case O_EXPORT_INPUT: o.export_input = true; break;
            case O_IMPORT: o.import = optarg; break;
            case O_IMPORT_FORMAT: o.import_format = optarg; break;
            case O_TIMING: o.timing = optarg; break;
            case O_REC_ID: o.rec_id = optarg; break;
            case O_USER: o.user = optarg; break;
            case O_HOST: o.host = optarg; break;
            case O_KEY: o.keys.push_back(optarg); break;
            case O_CACHE_DIR: o.cache_dir = optarg; break;
            case O_NO_CACHE: o.no_cache = true; break;
            case O_CACHE_MAX: o.cache_max = parse_cache_size(optarg, "--cache-max"); break;
            case O_KF_BYTES: o.keyframe_bytes = parse_uint(optarg, "keyframe bytes"); break;
            case O_KF_MS: o.keyframe_ms = parse_uint(optarg, "keyframe ms"); break;
            case O_FORCE: o.force = true; break;
            case O_CONFIGURATION: o.configuration = true; break;
            case O_RECORDER_USER: o.recorder_users.push_back(optarg); break;
            case O_SINCE: o.list_since = optarg; break;
            case O_UNTIL: o.list_until = optarg; break;
            case O_WIDE: o.wide = true; break;
            case O_JSON: o.json = true; break;
            case O_STATUS: o.status = true; break;
            case O_SHOW_INPUT: o.show_input = true; break;
            case O_EXIT_AT_END: o.exit_at_end = true; break;
            case O_ES_BASEURL: o.es_baseurl = optarg; break;
            case O_ES_QUERY: o.es_query = optarg; break;
            case O_SERVER_URL: o.server_url = optarg; break;
            case O_SERVER_REC: o.server_rec = optarg; break;
            case O_SERVER_HOST: o.server_host = optarg; break;
            case O_CA_FILE: o.ca_file = optarg; break;
            case O_JOURNAL_FILE: o.journal_files.push_back(optarg); break;
            case O_IDLE: o.idle_limit_ms = static_cast<uint64_t>(parse_seconds(optarg, "idle limit") * 1000.0); break;
            case ':': throw std::invalid_argument(std::string("option needs a value: ") + argv[optind - 1]);
            default: throw std::invalid_argument(std::string("unknown option: ") + argv[optind - 1]);
        }
    }
    // --list takes files and directories after the options.
    for (; optind < argc && o.list; optind++) o.list_paths.emplace_back(argv[optind]);
    if (optind < argc) throw std::invalid_argument(std::string("unexpected argument: ") + argv[optind]);
    if (!o.list && (!o.list_since.empty() || !o.list_until.empty() || o.wide || o.json))
        throw std::invalid_argument("--since, --until, --wide and --json go with --list");
    if (o.reader != "file" && o.reader != "journal" && o.reader != "es" && o.reader != "server")
        throw std::invalid_argument("unknown reader: " + o.reader);
    if (!o.keyframe_bytes) throw std::invalid_argument("keyframe bytes must be above 0");
    return o;
}

}  // namespace tlog::play::cli
