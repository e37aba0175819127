// server/openapi.yaml documents exactly the routes tlog-server registers
// (its one route table, api_routes()): a route added to the server and not
// to the file, or left in the file after it went from the server, fails
// here. The file is also checked as OpenAPI 3: every operation has
// responses, every path parameter is declared, every local $ref resolves.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <string>
#include <utility>

#include "cmocka_cxx.h"
#include "tlog/server/http.h"

using namespace tlog::server;

namespace {

YAML::Node load() {
    const char* path = std::getenv("OPENAPI_FILE");
    assert_non_null(path);
    return YAML::LoadFile(path != nullptr ? path : "");
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

const std::set<std::string> kMethods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

std::set<std::pair<std::string, std::string>> documented(const YAML::Node& doc) {
    std::set<std::pair<std::string, std::string>> out;
    for (const auto& path : doc["paths"])
        for (const auto& op : path.second)
            if (kMethods.count(op.first.as<std::string>()))
                out.emplace(upper(op.first.as<std::string>()), path.first.as<std::string>());
    return out;
}

void test_routes_match(void**) {
    std::set<std::pair<std::string, std::string>> registered;
    for (const auto& r : api_routes()) registered.emplace(r.method, r.path);
    assert_true(registered.size() >= 10);  // control: the table is what the server registers
    assert_true(registered.count({"GET", "/metrics"}) == 1);
    auto docs = documented(load());
    std::string missing, extra;
    for (const auto& r : registered)
        if (!docs.count(r)) missing += " " + r.first + " " + r.second;
    for (const auto& d : docs)
        if (!registered.count(d)) extra += " " + d.first + " " + d.second;
    if (!missing.empty()) fail_msg("registered but not in openapi.yaml:%s", missing.c_str());
    if (!extra.empty()) fail_msg("in openapi.yaml but not registered:%s", extra.c_str());
}

// Walks every node; each {"$ref": "#/a/b"} must name a node of the file.
void check_refs(const YAML::Node& root, const YAML::Node& n, const std::string& where) {
    if (n.IsMap()) {
        for (const auto& kv : n) {
            std::string key = kv.first.as<std::string>();
            if (key == "$ref") {
                std::string ref = kv.second.as<std::string>();
                if (ref.rfind("#/", 0) != 0) fail_msg("%s: $ref %s is not local", where.c_str(), ref.c_str());
                YAML::Node at = YAML::Clone(root);
                size_t i = 2;
                while (i <= ref.size()) {
                    size_t slash = ref.find('/', i);
                    std::string part = ref.substr(i, slash == std::string::npos ? std::string::npos : slash - i);
                    if (!at.IsMap() || !at[part]) fail_msg("%s: $ref %s does not resolve", where.c_str(), ref.c_str());
                    at = at[part];
                    if (slash == std::string::npos) break;
                    i = slash + 1;
                }
            } else {
                check_refs(root, kv.second, where + "/" + key);
            }
        }
    } else if (n.IsSequence()) {
        for (size_t i = 0; i < n.size(); i++) check_refs(root, n[i], where + "/" + std::to_string(i));
    }
}

void test_openapi_shape(void**) {
    YAML::Node doc = load();
    assert_true(doc["openapi"].as<std::string>().rfind("3.", 0) == 0);
    assert_true(doc["info"]["title"].IsDefined() && doc["info"]["version"].IsDefined());
    for (const auto& path : doc["paths"]) {
        std::string p = path.first.as<std::string>();
        for (const auto& op : path.second) {
            std::string m = op.first.as<std::string>();
            if (!kMethods.count(m)) continue;
            if (!op.second["responses"] || op.second["responses"].size() == 0)
                fail_msg("%s %s has no responses", m.c_str(), p.c_str());
            // Each {name} of the path is a declared path parameter.
            for (size_t at = p.find('{'); at != std::string::npos; at = p.find('{', at + 1)) {
                std::string name = p.substr(at + 1, p.find('}', at) - at - 1);
                bool declared = false;
                for (const auto& param : op.second["parameters"])
                    declared |= param["in"] && param["in"].as<std::string>() == "path" &&
                                param["name"].as<std::string>() == name;
                if (!declared) fail_msg("%s %s: path parameter {%s} not declared", m.c_str(), p.c_str(), name.c_str());
            }
        }
    }
    check_refs(doc, doc, "");
}

}  // namespace

// Every route declares what it asks (the table's permission column), the
// file says the same in x-tlog-permission, and each route that asks a
// viewer's right documents the 401 of a request without credentials.
void test_permissions_match(void**) {
    auto doc = load();
    size_t viewer_routes = 0;
    for (const auto& r : api_routes()) {
        std::string op = r.method == "GET" ? "get" : "post";
        auto node = doc["paths"][r.path][op];
        if (!node) continue;  // test_routes_match names it
        std::string where = r.method + " " + r.path;
        assert_false(r.permission.empty() || r.permission == "?");
        if (!node["x-tlog-permission"]) fail_msg("%s: no x-tlog-permission", where.c_str());
        auto documented = node["x-tlog-permission"].as<std::string>();
        if (documented != r.permission) {
            fail_msg("%s: openapi.yaml says %s, the route table %s", where.c_str(), documented.c_str(),
                     r.permission.c_str());
        }
        bool open = r.permission == "none" || r.permission == "host";
        if (!open) {
            ++viewer_routes;
            if (!node["responses"]["401"])
                fail_msg("%s: asks %s but documents no 401", where.c_str(), documented.c_str());
        } else if (!node["security"] || node["security"].size() != 0) {
            fail_msg("%s: open to %s but not marked security: []", where.c_str(), r.permission.c_str());
        }
    }
    assert_true(viewer_routes >= 8);  // control: the reading routes ask a viewer
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_match),
        cmocka_unit_test(test_openapi_shape),
        cmocka_unit_test(test_permissions_match),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
