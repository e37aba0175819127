// Recorder configuration, tlog-compatible: built-in defaults, then the system
// file (TLOG_SYSCONFDIR/tlog-rec.conf or tlog-rec-session.conf), then the
// environment (TLOG_REC[_SESSION]_CONF_FILE, then ..._CONF_TEXT; the session
// recorder reads pam_tlog's TLOG_REC_CONF_* first, then tlog's and SSSD's
// TLOG_REC_SESSION_CONF_*), then the command line. Every layer is checked against one schema: an error names the
// source (file, "<env VAR>", "<command line>"), the line, the key and what was
// expected. The syntax is json-c's as tlog reads it (json::ParseOptions::tlog_configuration()).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tlog/json.h"
#include "tlog/settings.h"

namespace tlog::rec {

// The settings table is librec's (tlog/settings.h): tlog-policy checks rules with it too.
using settings::merge_layer;
using settings::Program;
using settings::program_name;

struct Config {
    // Shell (tlog-rec-session) and what the user sees first.
    std::string shell = "/bin/bash";
    std::string notice = "\nATTENTION! Your session is being recorded!\n\n";
    double latency = 10;      // seconds data may wait before it is written
    uint64_t payload = 2048;  // bound of a message's encoded data
    std::string writer = "file";
    bool log_input = false, log_output = true, log_window = true;
    // "log.input_secrets": "hide" keeps input typed while the program reads
    // with echo off (a password prompt) out of the recording, leaving an
    // "in_hidden" span; "record" records it like other input.
    std::string input_secrets = "hide";
    // "log.output_redact": patterns whose matches in output are replaced
    // (best effort: a match cut by a read boundary is missed).
    std::vector<std::string> output_redact;
    uint64_t limit_rate = 16384, limit_burst = 32768;
    std::string limit_action = "pass";  // pass | delay | drop
    std::string file_path;
    std::string syslog_facility = "authpriv", syslog_priority = "info";
    std::string journal_priority = "info";
    bool journal_augment = true;
    // Extensions (not in tlog):
    bool lax = false;               // writer failure: false ends the session, true goes on
    std::string key_file;           // "integrity.key": HMAC key file for the chain
    bool transfer_payload = false;  // "transfer.payload": record file-transfer bytes too
    bool record_graphical = true;   // "graphical.record": record sessions of graphical programs
    // pam_tlog's proven decision (pam_tlog(8)): the recording id it wrote in
    // its audit record, and whether this login is recorded at all (a user
    // recorded for another service still gets the recorder as shell).
    std::string pam_rec;     // "pam.rec"
    bool pam_record = true;  // "pam.record"
    // "pam.interactive" / "pam.command" / "pam.transfer": -1 unset, 0/1 =
    // whether a session of that kind is recorded (sshd: kind unknown to PAM).
    int pam_interactive = -1, pam_command = -1, pam_transfer = -1;
    // "pam.service" / "pam.ruser": the login's PAM service and invoking user
    // (PAM_RUSER of su, sudo, runuser), for the recording's "login" field.
    std::string pam_service, pam_ruser;
    // "pam.nested": the recording whose terminal the login program relays
    // this session's terminal to (sudo's use_pty): not recorded twice.
    std::string pam_nested;
    // Run-time options (command line only, printed by --configuration like tlog does).
    std::string semaphore;
    bool login = false, interactive = false, command = false;
    bool configuration = false, help = false, version = false;
    std::vector<std::string> args;
};

// Where configuration comes from; everything is injectable for tests.
struct LoadOptions {
    Program program = Program::Rec;
    std::string sysconfdir;                          // default TLOG_SYSCONFDIR
    std::function<const char*(const char*)> getenv;  // default ::getenv
    std::vector<std::string> argv;                   // argv[0] included
    // Environment layers may only carry settings that cannot weaken the
    // recording (shell, notice) unless this is true. tlog-rec trusts its
    // environment (the user runs it on purpose); tlog-rec-session does only
    // with a valid PAM proof (conf_proof.h).
    bool trust_env = true;
    // The command line may carry settings that weaken the recording only when
    // this is true. tlog-rec-session runs as the login shell, and login
    // programs pass the user's words on (su -- USER --log-output=false): it
    // trusts them only when it protects nothing anyway (not installed setuid).
    bool trust_cli = true;
    // TLOG_REC[_SESSION]_CONF_FILE names a file the recorder would open with
    // its own identity; tlog-rec-session never follows it (a proof covers the
    // text, not a file the user may rewrite).
    bool trust_env_file = true;
    // Decides per environment variable whether its text is trusted (a valid
    // proof for exactly that text); overrides trust_env when set.
    std::function<bool(const std::string& var, const std::string& text)> trust_text;
};

struct LoadResult {
    Config config;
    json::Value merged;                // the merged JSON tree (what --configuration prints)
    std::vector<std::string> ignored;  // "<env VAR>: setting 'writer' ignored: ..." for the audit log
};

// Throws InputError naming the source, line and key.
LoadResult load_config(const LoadOptions& opts);

// The built-in defaults as JSON (tlog-rec-session: writer journal, shell, notice).
json::Value default_json(Program p);

// The typed view of a merged tree.
Config config_from_json(const json::Value& merged);

// Turns the command line into a JSON layer (options with tlog's names) plus
// positional args; throws InputError("<command line>") on a bad option.
json::Value parse_command_line(const std::vector<std::string>& argv, Program p);

std::string usage(Program p);

// Parses a boolean option argument the way tlog does (true/false, yes/no, on/off, 1/0).
bool parse_bool(const std::string& s, bool& out);

}  // namespace tlog::rec
