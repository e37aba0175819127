// ldap.yaml: where the directory is, how to bind, where its entries live.
// Strict like the rules loader: a typo in a base DN or a bind method would
// otherwise read no rules at all without a word.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "tlog/policy/ldap_source.h"

namespace tlog::policy {
namespace {

class ConfigLoader {
public:
    explicit ConfigLoader(std::string source) : source_(std::move(source)) {}

    [[noreturn]] void fail(const YAML::Node& n, const std::string& key, const std::string& msg) const {
        Location l{source_, 0, 0, key};
        const YAML::Mark m = n.Mark();
        if (m.line >= 0) {
            l.line = static_cast<uint64_t>(m.line) + 1;
            l.column = static_cast<uint64_t>(m.column) + 1;
        }
        throw InputError(l, msg);
    }

    void only_keys(const YAML::Node& map, const std::string& path, const std::set<std::string>& keys) const {
        if (!map.IsMap()) fail(map, path, "expected a mapping");
        std::set<std::string> seen;
        for (const auto& kv : map) {
            const std::string k = kv.first.Scalar();
            const std::string p = path.empty() ? k : path + "." + k;
            if (!keys.count(k)) fail(kv.first, p, "unknown key");
            if (!seen.insert(k).second) fail(kv.first, p, "duplicate key");
        }
    }

    std::string scalar(const YAML::Node& n, const std::string& key) const {
        if (!n.IsScalar()) fail(n, key, "expected a string");
        return n.Scalar();
    }

    LdapConfig load(const std::string& text) {
        YAML::Node root;
        try {
            root = YAML::Load(text);
        } catch (const YAML::Exception& e) {
            Location l{source_, e.mark.line >= 0 ? static_cast<uint64_t>(e.mark.line) + 1 : 0,
                       e.mark.column >= 0 ? static_cast<uint64_t>(e.mark.column) + 1 : 0, ""};
            throw InputError(l, e.msg);
        }
        LdapConfig c;
        c.source = source_;
        if (!root.IsMap()) throw InputError(Location{source_, 0, 0, ""}, "expected a mapping (uri:, base:, ...)");
        only_keys(root, "", {"uri", "base", "host", "bind", "tls", "timeout", "page_size", "deadline", "bases"});
        if (auto u = root["uri"]) {
            if (u.IsScalar())
                c.uris.push_back(u.Scalar());
            else if (u.IsSequence())
                for (const auto& i : u) c.uris.push_back(scalar(i, "uri"));
            else
                fail(u, "uri", "expected a URI or a list of URIs");
        }
        if (c.uris.empty()) throw InputError(Location{source_, 0, 0, "uri"}, "no server: uri is required");
        for (const auto& u : c.uris)
            if (u.rfind("ldap://", 0) && u.rfind("ldaps://", 0) && u.rfind("ldapi://", 0))
                fail(root["uri"], "uri", "expected ldap://, ldaps:// or ldapi:// URIs, got '" + u + "'");
        if (!root["base"]) throw InputError(Location{source_, 0, 0, "base"}, "base (the directory suffix) is required");
        c.base = scalar(root["base"], "base");
        if (auto h = root["host"]) c.host = scalar(h, "host");
        if (auto b = root["bind"]) {
            only_keys(b, "bind", {"method", "dn", "password_file", "keytab", "authzid"});
            const std::string m = b["method"] ? scalar(b["method"], "bind.method") : "none";
            if (m == "none")
                c.bind = BindMethod::None;
            else if (m == "simple")
                c.bind = BindMethod::Simple;
            else if (m == "external")
                c.bind = BindMethod::External;
            else if (m == "gssapi")
                c.bind = BindMethod::Gssapi;
            else
                fail(b["method"], "bind.method", "expected none, simple, external or gssapi, got '" + m + "'");
            if (auto v = b["dn"]) c.bind_dn = scalar(v, "bind.dn");
            if (auto v = b["password_file"]) c.password_file = scalar(v, "bind.password_file");
            if (auto v = b["keytab"]) c.keytab = scalar(v, "bind.keytab");
            if (auto v = b["authzid"]) c.sasl_authzid = scalar(v, "bind.authzid");
            if (c.bind == BindMethod::Simple && (c.bind_dn.empty() || c.password_file.empty()))
                fail(b, "bind", "method simple needs dn and password_file");
        }
        if (auto t = root["tls"]) {
            only_keys(t, "tls", {"starttls", "ca_file", "cert_file", "key_file"});
            if (auto v = t["starttls"]) {
                const std::string s = scalar(v, "tls.starttls");
                if (s != "true" && s != "false") fail(v, "tls.starttls", "expected true or false, got '" + s + "'");
                c.starttls = s == "true";
            }
            if (auto v = t["ca_file"]) c.ca_file = scalar(v, "tls.ca_file");
            if (auto v = t["cert_file"]) c.cert_file = scalar(v, "tls.cert_file");
            if (auto v = t["key_file"]) c.key_file = scalar(v, "tls.key_file");
        }
        if (auto v = root["timeout"]) {
            const std::string s = scalar(v, "timeout");
            char* end = nullptr;
            c.timeout = std::strtod(s.c_str(), &end);
            if (s.empty() || *end || !(c.timeout > 0) || c.timeout > 60)
                fail(v, "timeout", "expected seconds between 0 and 60, got '" + s + "'");
        }
        if (auto v = root["page_size"]) {
            const std::string s = scalar(v, "page_size");
            if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), ::isdigit) || std::stoi(s) < 1)
                fail(v, "page_size", "expected a number from 1 to 99999, got '" + s + "'");
            c.page_size = std::stoi(s);
        }
        if (auto v = root["deadline"]) {
            const std::string s = scalar(v, "deadline");
            if (s.empty() || s.size() > 4 || !std::all_of(s.begin(), s.end(), ::isdigit) || std::stoi(s) < 1 ||
                std::stoi(s) > 3600)
                fail(v, "deadline", "expected seconds from 1 to 3600, got '" + s + "'");
            c.deadline = std::stoi(s);
        }
        // FreeIPA's layout by default; plain directories name their own bases.
        const std::string& b = c.base;
        c.rules_base = "cn=rules,cn=sessionrecording," + b;
        c.users_base = "cn=users,cn=accounts," + b;
        c.groups_base = "cn=groups,cn=accounts," + b;
        c.hosts_base = "cn=computers,cn=accounts," + b;
        c.hostgroups_base = "cn=hostgroups,cn=accounts," + b;
        c.hbac_base = "cn=hbac," + b;
        c.services_base = "cn=hbacservices,cn=hbac," + b;
        c.servicegroups_base = "cn=hbacservicegroups,cn=hbac," + b;
        c.access_base = "cn=access,cn=sessionrecording," + b;
        c.retention_base = "cn=retention,cn=sessionrecording," + b;
        if (auto bs = root["bases"]) {
            only_keys(bs, "bases",
                      {"rules", "users", "groups", "hosts", "hostgroups", "hbac", "services", "servicegroups", "access",
                       "retention"});
            const std::pair<const char*, std::string*> keys[] = {
                {"rules", &c.rules_base},           {"users", &c.users_base},
                {"groups", &c.groups_base},         {"hosts", &c.hosts_base},
                {"hostgroups", &c.hostgroups_base}, {"hbac", &c.hbac_base},
                {"services", &c.services_base},     {"servicegroups", &c.servicegroups_base},
                {"access", &c.access_base},         {"retention", &c.retention_base}};
            for (const auto& [k, dst] : keys)
                if (auto v = bs[k]) *dst = scalar(v, std::string("bases.") + k);
        }
        return c;
    }

private:
    std::string source_;
};

}  // namespace

LdapConfig load_ldap_config_text(const std::string& text, const std::string& source) {
    return ConfigLoader(source).load(text);
}

LdapConfig load_ldap_config(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw InputError(Location{path, 0, 0, ""}, "cannot read the LDAP configuration");
    std::ostringstream ss;
    ss << f.rdbuf();
    return load_ldap_config_text(ss.str(), path);
}

}  // namespace tlog::policy
