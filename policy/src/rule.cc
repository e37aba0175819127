#include "tlog/policy/rule.h"

#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/settings.h"

namespace tlog::policy {

const char* action_name(Action a) { return a == Action::Record ? "record" : "exclude"; }

const char* audit_name(AuditLevel a) {
    switch (a) {
        case AuditLevel::None: return "none";
        case AuditLevel::Login: return "login";
        case AuditLevel::Session: return "session";
    }
    return "?";
}

const char* kind_name(SessionKind k) {
    switch (k) {
        case kInteractive: return "interactive";
        case kCommand: return "command";
        case kTransfer: return "transfer";
    }
    return "?";
}

std::optional<Action> parse_action(const std::string& word) {
    if (word == "record") return Action::Record;
    if (word == "exclude") return Action::Exclude;
    return std::nullopt;
}

std::optional<AuditLevel> parse_audit(const std::string& word) {
    if (word == "none") return AuditLevel::None;
    if (word == "login") return AuditLevel::Login;
    if (word == "session") return AuditLevel::Session;
    return std::nullopt;
}

std::optional<SessionKind> parse_kind(const std::string& word) {
    if (word == "interactive") return kInteractive;
    if (word == "command") return kCommand;
    if (word == "transfer") return kTransfer;
    return std::nullopt;
}

namespace {

// The recorders' own settings table decides (librec's settings.cc): a value
// tlog-rec-session refuses is refused here, whichever source the rule came from.
bool recorder_accepts(const std::string& section, const std::string& key, const std::string& word) {
    json::Value leaf = json::Value::make_object();
    leaf.set(key, json::Value::make_string(word));
    json::Value layer = json::Value::make_object();
    if (section.empty()) {
        layer = std::move(leaf);
    } else {
        layer.set(section, std::move(leaf));
    }
    try {
        settings::check_layer(layer, "<rule settings>", settings::Program::RecSession);
        return true;
    } catch (const InputError&) {
        return false;
    }
}

}  // namespace

bool valid_writer(const std::string& word) { return recorder_accepts("", "writer", word); }

bool valid_limit_action(const std::string& word) { return recorder_accepts("limit", "action", word); }

std::string Settings::to_json() const {
    using json::Value;
    Value root = Value::make_object();
    Value log = Value::make_object();
    if (input) log.set("input", Value::make_bool(*input));
    if (input_secrets) log.set("input_secrets", Value::make_string(*input_secrets));
    if (output) log.set("output", Value::make_bool(*output));
    if (window) log.set("window", Value::make_bool(*window));
    if (!log.members().empty()) root.set("log", std::move(log));
    Value limit = Value::make_object();
    if (this->limit.rate) limit.set("rate", Value::make_number(std::to_string(*this->limit.rate)));
    if (this->limit.burst) limit.set("burst", Value::make_number(std::to_string(*this->limit.burst)));
    if (this->limit.action) limit.set("action", Value::make_string(*this->limit.action));
    if (!limit.members().empty()) root.set("limit", std::move(limit));
    if (writer) root.set("writer", Value::make_string(*writer));
    return json::dump(root);
}

}  // namespace tlog::policy
