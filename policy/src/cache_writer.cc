#include "tlog/policy/cache_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>

#include "tlog/policy/cache_format.h"
#include "tlog/policy/evaluator.h"

namespace tlog::policy {
namespace {

class Strings {
public:
    Strings() { data_.push_back('\0'); }  // offset 0 is ""
    uint32_t add(const std::string& s) {
        auto it = index_.find(s);
        if (it != index_.end()) return it->second;
        const auto off = static_cast<uint32_t>(data_.size());
        data_.insert(data_.end(), s.begin(), s.end());
        data_.push_back('\0');
        index_.emplace(s, off);
        return off;
    }
    const std::vector<char>& data() const { return data_; }

private:
    std::vector<char> data_;
    std::map<std::string, uint32_t> index_;
};

template <class T>
void append(std::string& out, const T* items, size_t n, cache::Section& s) {
    while (out.size() % 8) out.push_back('\0');
    s.offset = static_cast<uint32_t>(out.size());
    s.count = static_cast<uint32_t>(n);
    out.append(reinterpret_cast<const char*>(items), n * sizeof(T));
}

}  // namespace

CompileResult compile_cache(const Policy& policy, const std::string& host, const std::string& default_recorder,
                            const GroupResolver& groups, uint64_t created) {
    CompileResult result;
    std::vector<std::string> services = named_services(policy);
    services.push_back("");
    if (services.size() * 3 > cache::kMaxClasses)
        throw InputError(Location{policy.source, 0, 0, "services"}, "too many distinct services named by rules (" +
                                                                        std::to_string(services.size() - 1) +
                                                                        ", at most 20 can be compiled)");
    const auto nclasses = static_cast<uint32_t>(services.size() * 3);

    Strings strings;
    std::vector<cache::Rule> rules;
    std::map<std::string, std::set<uint32_t>> by_name;
    std::map<uint32_t, std::set<uint32_t>> by_uid, by_gid;
    std::vector<cache::Range> ranges;
    std::vector<uint32_t> all_users;
    std::map<std::string, std::optional<GroupInfo>> group_cache;

    for (int index : rank_rules(policy)) {
        const Rule& r = policy.rules[index];
        if (!rule_matches_host(policy, r, host)) continue;  // resolved here, once
        const auto rank = static_cast<uint32_t>(rules.size());
        cache::Rule cr{};
        for (size_t s = 0; s < services.size(); ++s) {
            if (!rule_matches_service(r, services[s])) continue;
            for (unsigned k = 0; k < 3; ++k)
                if (r.kinds & (1u << k)) cr.class_mask |= 1ull << (s * 3 + k);
        }
        cr.name = strings.add(r.name);
        cr.settings = strings.add(r.settings.to_json());
        cr.retention = strings.add(r.retention);
        cr.action = r.action == Action::Record ? 0 : 1;
        cr.audit = static_cast<uint8_t>(r.audit);
        rules.push_back(cr);
        if (r.all_users) all_users.push_back(rank);
        for (const auto& u : r.users) by_name[u].insert(rank);
        for (const auto& u : r.uids) {
            if (u.lo == u.hi)
                by_uid[u.lo].insert(rank);
            else
                ranges.push_back(cache::Range{u.lo, u.hi, rank});
        }
        for (const auto& g : r.groups) {
            auto it = group_cache.find(g);
            if (it == group_cache.end()) it = group_cache.emplace(g, groups(g)).first;
            if (!it->second) {
                result.warnings.push_back(r.where.str() + ": group '" + g + "' does not resolve; it matches nobody");
                continue;
            }
            if (it->second->has_gid) by_gid[it->second->gid].insert(rank);
            for (const auto& m : it->second->members) by_name[m].insert(rank);
        }
    }

    std::vector<uint32_t> lists;
    std::vector<cache::Key> names, uids, gids;
    for (const auto& [name, set] : by_name) {  // std::map order = strcmp order for std::string
        names.push_back(
            cache::Key{strings.add(name), static_cast<uint32_t>(lists.size()), static_cast<uint32_t>(set.size())});
        lists.insert(lists.end(), set.begin(), set.end());
    }
    for (const auto& pair : {std::make_pair(&by_uid, &uids), std::make_pair(&by_gid, &gids)}) {
        for (const auto& [id, set] : *pair.first) {
            pair.second->push_back(
                cache::Key{id, static_cast<uint32_t>(lists.size()), static_cast<uint32_t>(set.size())});
            lists.insert(lists.end(), set.begin(), set.end());
        }
    }
    std::vector<uint32_t> class_services;
    for (const auto& s : services) class_services.push_back(strings.add(s));

    cache::Header h{};
    std::memcpy(h.magic, cache::kMagic, sizeof h.magic);
    h.version = cache::kVersion;
    h.byte_order = cache::kByteOrderMark;
    h.header_size = sizeof(cache::Header);
    h.flags = (policy.default_action == Action::Record ? uint32_t(cache::kDefaultRecord) : 0u) |
              (policy.nss_answer_unrecorded ? uint32_t(cache::kAnswerUnrecorded) : 0u);
    h.created = created;
    h.nclasses = nclasses;
    h.recorder = strings.add(policy.recorder.empty() ? default_recorder : policy.recorder);
    h.host = strings.add(host);
    h.source = strings.add(policy.source);

    std::string out(sizeof h, '\0');
    append(out, strings.data().data(), strings.data().size(), h.strings);
    append(out, rules.data(), rules.size(), h.rules);
    append(out, names.data(), names.size(), h.names);
    append(out, uids.data(), uids.size(), h.uids);
    append(out, gids.data(), gids.size(), h.gids);
    append(out, ranges.data(), ranges.size(), h.uid_ranges);
    append(out, all_users.data(), all_users.size(), h.all_users);
    append(out, lists.data(), lists.size(), h.lists);
    append(out, class_services.data(), class_services.size(), h.class_services);
    while (out.size() % 8) out.push_back('\0');
    if (out.size() > (size_t(1) << 31)) throw std::runtime_error("compiled policy too large");
    h.file_size = out.size();
    std::memcpy(out.data(), &h, sizeof h);
    h.checksum = cache::file_checksum(reinterpret_cast<const unsigned char*>(out.data()), out.size());
    std::memcpy(out.data(), &h, sizeof h);
    result.bytes = std::move(out);
    return result;
}

namespace {
// Closes a descriptor on every path out of write_atomically.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};
[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}
}  // namespace

void write_atomically(const std::string& path, const std::string& bytes) {
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    std::string tmp = path + ".XXXXXX";
    Fd f;
    f.fd = mkostemp(tmp.data(), O_CLOEXEC);
    if (f.fd < 0) fail("cannot create temporary file next to", path);
    bool renamed = false;
    try {
        if (fchmod(f.fd, 0644) != 0) fail("cannot chmod", tmp);
        size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(f.fd, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) fail("cannot write", tmp);
            done += static_cast<size_t>(n);
        }
        if (fsync(f.fd) != 0) fail("cannot fsync", tmp);
        if (::close(f.fd) != 0) {
            f.fd = -1;
            fail("cannot close", tmp);
        }
        f.fd = -1;
        if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename over", path);
        renamed = true;
        Fd d;
        d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d.fd < 0 || fsync(d.fd) != 0) fail("cannot fsync directory", dir);
    } catch (...) {
        if (!renamed) ::unlink(tmp.c_str());
        throw;
    }
}

}  // namespace tlog::policy
