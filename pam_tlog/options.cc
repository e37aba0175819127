#include "options.h"

#include <cstring>
#include <string_view>

#include "tlog/conf_proof.h"
#include "tlog/policy/paths.h"

namespace pam_tlog {
namespace {

// Arguments longer than this are certainly garbage; logging them whole would
// let a broken configuration flood the log.
constexpr size_t kMaxArg = 4096;

bool take(std::string_view arg, std::string_view name, std::string_view* value) {
    if (arg.size() <= name.size() || arg.substr(0, name.size()) != name || arg[name.size()] != '=') return false;
    *value = arg.substr(name.size() + 1);
    return true;
}

}  // namespace

const char* audit_mode_name(AuditMode m) {
    switch (m) {
        case AuditMode::Off: return "off";
        case AuditMode::Optional: return "optional";
        case AuditMode::Required: return "required";
    }
    return "?";
}

Options parse_options(int argc, const char** argv) {
    Options o;
    o.cache = tlog::policy::kDefaultCachePath;
    o.key = tlog::rec::conf_proof_key_path();
    for (int i = 0; argv && i < argc; ++i) {
        if (!argv[i]) continue;
        const size_t n = strnlen(argv[i], kMaxArg + 1);
        if (n > kMaxArg) {
            o.unknown.emplace_back(std::string(argv[i], 64) + "... (argument too long)");
            continue;
        }
        const std::string_view a(argv[i], n);
        std::string_view v;
        if (a == "debug")
            o.debug = true;
        else if (take(a, "cache", &v) || take(a, "config", &v)) {
            if (!v.empty() && v[0] == '/')
                o.cache = std::string(v);
            else
                o.unknown.emplace_back(std::string(a) + " (not an absolute path)");
        } else if (take(a, "key", &v)) {
            if (!v.empty() && v[0] == '/')
                o.key = std::string(v);
            else
                o.unknown.emplace_back(std::string(a) + " (not an absolute path)");
        } else if (take(a, "rundir", &v)) {
            if (!v.empty() && v[0] == '/')
                o.rundir = std::string(v);
            else
                o.unknown.emplace_back(std::string(a) + " (not an absolute path)");
        } else if (take(a, "shells", &v)) {
            if (!v.empty() && v[0] == '/')
                o.shells = std::string(v);
            else
                o.unknown.emplace_back(std::string(a) + " (not an absolute path)");
        } else if (take(a, "audit", &v)) {
            if (v == "off")
                o.audit = AuditMode::Off;
            else if (v == "optional")
                o.audit = AuditMode::Optional;
            else if (v == "required")
                o.audit = AuditMode::Required;
            else
                o.unknown.emplace_back(std::string(a) + " (expected off, optional or required)");
        } else if (take(a, "audit_rules", &v)) {
            if (v == "session")
                o.session_audit_rules = true;
            else if (v == "off")
                o.session_audit_rules = false;
            else
                o.unknown.emplace_back(std::string(a) + " (expected session or off)");
        } else if (take(a, "fail", &v)) {
            if (v == "closed")
                o.fail_closed = true;
            else if (v == "open")
                o.fail_closed = false;
            else
                o.unknown.emplace_back(std::string(a) + " (expected closed or open)");
        } else if (take(a, "shell_check", &v)) {
            if (v == "yes")
                o.shell_check = true;
            else if (v == "no")
                o.shell_check = false;
            else
                o.unknown.emplace_back(std::string(a) + " (expected yes or no)");
        } else if (take(a, "proof_lifetime", &v)) {
            int s = 0;
            bool ok = !v.empty() && v.size() <= 4;
            for (char c : v) ok = ok && c >= '0' && c <= '9', s = s * 10 + (c - '0');
            if (ok && s >= 1 && s <= 3600)
                o.proof_lifetime = s;
            else
                o.unknown.emplace_back(std::string(a) + " (expected 1..3600 seconds)");
        } else {
            o.unknown.emplace_back(std::string(a));
        }
    }
    return o;
}

}  // namespace pam_tlog
