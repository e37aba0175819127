// Fuzz target: the rules loader, and the invariant that every policy it
// accepts compiles into a cache the reader accepts and that agrees with the
// evaluator.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tlog/policy/cache_reader.h"
#include "tlog/policy/cache_writer.h"
#include "tlog/policy/evaluator.h"
#include "tlog/policy/loader.h"

using namespace tlog::policy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Policy p;
    try {
        p = load_policy_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
    } catch (const tlog::InputError&) {
        return 0;
    }
    GroupResolver groups = [](const std::string& name) -> std::optional<GroupInfo> {
        if (name == "wheel") return GroupInfo{10, {"alice"}};
        return std::nullopt;
    };
    CompileResult c;
    try {
        c = compile_cache(p, "h1", "/usr/bin/tlog-rec-session", groups, 0);
    } catch (const tlog::InputError&) {
        return 0;  // too many services: refused with a message
    }
    std::string bytes = c.bytes;  // std::string storage is suitably aligned for 8
    cache::View v;
    if (cache::View::open(bytes.data(), bytes.size(), &v) != nullptr) abort();
    Subject s;
    for (const char* name : {"alice", "bob", "root"}) {
        s.name = name;
        s.uid = s.gid = name[0] == 'r' ? 0 : 1000;
        s.groups = name[0] == 'a' ? std::vector<std::string>{"wheel"} : std::vector<std::string>{};
        if (name[0] == 'a') s.gid = 1000;
        const bool want = recorded_anywhere(evaluate_all_classes(p, s, "h1"));
        if (v.recorded(s.name.c_str(), s.uid, s.gid) != want) abort();
    }
    return 0;
}
