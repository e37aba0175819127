// The strict YAML reading of the rules files (yaml_reader.h).
#include "tlog/policy/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace tlog::policy {

Location YamlReader::at(const YAML::Node& n, const std::string& key) const {
    Location l;
    l.file = source_;
    const YAML::Mark m = n.Mark();
    if (m.line >= 0) {
        l.line = static_cast<uint64_t>(m.line) + 1;
        l.column = static_cast<uint64_t>(m.column) + 1;
    }
    l.field = key;
    return l;
}

void YamlReader::fail(const YAML::Node& n, const std::string& key, const std::string& msg) const {
    throw InputError(at(n, key), msg);
}

void YamlReader::only_keys(const YAML::Node& map, const std::string& path,
                           std::initializer_list<const char*> keys) const {
    std::set<std::string> seen;
    for (const auto& kv : map) {
        if (!kv.first.IsScalar()) fail(kv.first, path, "keys must be plain names");
        const std::string k = kv.first.Scalar();
        if (std::none_of(keys.begin(), keys.end(), [&](const char* a) { return k == a; }))
            fail(kv.first, join(path, k), "unknown key");
        if (!seen.insert(k).second) fail(kv.first, join(path, k), "duplicate key");
    }
}

std::string YamlReader::scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "expected a string");
    return n.Scalar();
}

bool YamlReader::boolean(const YAML::Node& n, const std::string& key) const {
    const std::string s = scalar(n, key);
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail(n, key, "expected true or false, got '" + s + "'");
}

uint64_t YamlReader::unsigned_number(const YAML::Node& n, const std::string& key, uint64_t max) const {
    const std::string s = scalar(n, key);
    if (s.empty() || s.size() > 20 || !std::all_of(s.begin(), s.end(), ::isdigit))
        fail(n, key, "expected a non-negative integer, got '" + s + "'");
    errno = 0;
    const unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
    if (errno == ERANGE || v > max) fail(n, key, "number out of range: " + s);
    return v;
}

int YamlReader::integer(const YAML::Node& n, const std::string& key) const {
    std::string s = scalar(n, key);
    bool neg = !s.empty() && s[0] == '-';
    std::string digits = neg ? s.substr(1) : s;
    if (digits.empty() || digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), ::isdigit))
        fail(n, key, "expected an integer between -999999999 and 999999999, got '" + s + "'");
    const int v = std::stoi(digits);
    return neg ? -v : v;
}

bool YamlReader::names_or_all(const YAML::Node& n, const std::string& key, std::vector<std::string>& out) const {
    if (n.IsScalar()) {
        if (n.Scalar() == "all") return true;
        fail(n, key, "expected a list or 'all'");
    }
    if (!n.IsSequence()) fail(n, key, "expected a list or 'all'");
    for (const auto& item : n) {
        std::string s = scalar(item, key);
        if (s.empty()) fail(item, key, "empty name");
        if (s == "all") fail(item, key, "'all' must be the whole value (" + key + ": all), not a list item");
        out.push_back(std::move(s));
    }
    return false;
}

void YamlReader::names(const YAML::Node& n, const std::string& key, std::vector<std::string>& out) const {
    if (names_or_all(n, key, out)) fail(n, key, "'all' is not allowed here");
}

YAML::Node YamlReader::parse(const std::string& text) const {
    try {
        return YAML::Load(text);
    } catch (const YAML::ParserException& e) {
        Location l;
        l.file = source_;
        if (e.mark.line >= 0) {
            l.line = static_cast<uint64_t>(e.mark.line) + 1;
            l.column = static_cast<uint64_t>(e.mark.column) + 1;
        }
        throw InputError(l, "YAML syntax error: " + e.msg);
    }
}

std::string read_yaml_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(Location{path, 0, 0, ""}, std::string("cannot read: ") + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw InputError(Location{path, 0, 0, ""}, "read error");
    return ss.str();
}

}  // namespace tlog::policy
