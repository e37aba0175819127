// The strict YAML reading the rules files share (the recording rules'
// loader, tlog-server's access rules): every error a tlog::InputError
// naming the file, line, column and key; unknown and repeated keys are
// errors; `all` is a whole value, never a list item.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "tlog/error.h"

namespace tlog::policy {

class YamlReader {
public:
    explicit YamlReader(std::string source) : source_(std::move(source)) {}

    const std::string& source() const { return source_; }
    Location at(const YAML::Node& n, const std::string& key) const;
    [[noreturn]] void fail(const YAML::Node& n, const std::string& key, const std::string& msg) const;
    // Unknown and repeated keys are errors: yaml-cpp would silently use the
    // first of two equal keys, and a rule must not mean two things.
    void only_keys(const YAML::Node& map, const std::string& path, std::initializer_list<const char*> keys) const;
    static std::string join(const std::string& path, const std::string& k) { return path.empty() ? k : path + "." + k; }
    std::string scalar(const YAML::Node& n, const std::string& key) const;
    bool boolean(const YAML::Node& n, const std::string& key) const;
    uint64_t unsigned_number(const YAML::Node& n, const std::string& key, uint64_t max) const;
    int integer(const YAML::Node& n, const std::string& key) const;
    // A list of names, or the word `all` (returns true for all).
    bool names_or_all(const YAML::Node& n, const std::string& key, std::vector<std::string>& out) const;
    void names(const YAML::Node& n, const std::string& key, std::vector<std::string>& out) const;
    // The document of `text`; a syntax error names the place.
    YAML::Node parse(const std::string& text) const;

private:
    std::string source_;
};

// A file's whole text; InputError naming the file if it cannot be read.
std::string read_yaml_file(const std::string& path);

}  // namespace tlog::policy
