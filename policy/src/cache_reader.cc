#include "tlog/policy/cache_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <initializer_list>

namespace tlog::policy::cache {
namespace {

bool section_ok(const Section& s, size_t elem, size_t align, uint64_t file_size, uint32_t header_size) {
    if (s.count == 0) return true;
    if (s.offset < header_size || s.offset % align) return false;
    const uint64_t end = uint64_t(s.offset) + uint64_t(s.count) * elem;
    return end <= file_size;
}

template <class T>
const T* at(const void* base, const Section& s) {
    return reinterpret_cast<const T*>(static_cast<const char*>(base) + s.offset);
}

}  // namespace

const char* View::open(const void* data, size_t size, View* out) {
    *out = View();
    if (size < sizeof(Header)) return "file too short for a policy cache";
    if (reinterpret_cast<uintptr_t>(data) % 8) return "cache not aligned";
    const Header* h = static_cast<const Header*>(data);
    if (std::memcmp(h->magic, kMagic, sizeof kMagic) != 0) return "not a tlog policy cache (bad magic)";
    if (h->byte_order != kByteOrderMark) return "policy cache written with another byte order";
    if (h->version != kVersion) return "unsupported policy cache version";
    if (h->header_size != sizeof(Header)) return "unexpected policy cache header size";
    if (h->file_size != size) return "policy cache size does not match its header (truncated?)";
    const auto* bytes = static_cast<const unsigned char*>(data);
    if (file_checksum(bytes, size) != h->checksum) return "policy cache checksum mismatch";
    if (h->flags & ~uint32_t(kDefaultRecord | kAnswerUnrecorded)) return "unknown policy cache flags";
    if (h->nclasses == 0 || h->nclasses > kMaxClasses || h->nclasses % 3) return "bad class count";
    const uint32_t hs = h->header_size;
    if (!section_ok(h->strings, 1, 8, size, hs) || h->strings.count == 0 ||
        !section_ok(h->rules, sizeof(Rule), 8, size, hs) || !section_ok(h->names, sizeof(Key), 4, size, hs) ||
        !section_ok(h->uids, sizeof(Key), 4, size, hs) || !section_ok(h->gids, sizeof(Key), 4, size, hs) ||
        !section_ok(h->uid_ranges, sizeof(Range), 4, size, hs) || !section_ok(h->all_users, 4, 4, size, hs) ||
        !section_ok(h->lists, 4, 4, size, hs) || !section_ok(h->class_services, 4, 4, size, hs))
        return "policy cache section out of bounds";
    if (h->class_services.count * 3 != h->nclasses) return "class table does not match class count";

    View v;
    v.h_ = h;
    v.strings_ = at<char>(data, h->strings);
    v.rules_ = at<Rule>(data, h->rules);
    v.names_ = at<Key>(data, h->names);
    v.uids_ = at<Key>(data, h->uids);
    v.gids_ = at<Key>(data, h->gids);
    v.ranges_ = at<Range>(data, h->uid_ranges);
    v.all_ = at<uint32_t>(data, h->all_users);
    v.lists_ = at<uint32_t>(data, h->lists);
    v.services_ = at<uint32_t>(data, h->class_services);

    // Strings: the section ends with NUL, so every in-range offset is a C string.
    const uint32_t ns = h->strings.count;
    if (v.strings_[ns - 1] != '\0') return "string section not terminated";
    auto str_ok = [&](uint32_t off) { return off < ns; };
    if (!str_ok(h->recorder) || !str_ok(h->host) || !str_ok(h->source)) return "bad string offset";
    if (v.recorder()[0] != '/') return "recorder is not an absolute path";
    const uint32_t nr = h->rules.count;
    const uint64_t all_mask = h->nclasses == 64 ? ~0ull : ((1ull << h->nclasses) - 1);
    for (uint32_t i = 0; i < nr; ++i) {
        const Rule& r = v.rules_[i];
        if (!str_ok(r.name) || !str_ok(r.settings) || !str_ok(r.retention)) return "bad string offset in rule";
        if (r.action > 1 || r.audit > 2 || (r.class_mask & ~all_mask)) return "bad rule record";
    }
    auto list_ok = [&](uint32_t first, uint32_t n) {
        if (uint64_t(first) + n > h->lists.count) return false;
        for (uint32_t i = 0; i < n; ++i)
            if (v.lists_[first + i] >= nr) return false;
        return true;
    };
    for (uint32_t i = 0; i < h->names.count; ++i) {
        const Key& k = v.names_[i];
        if (!str_ok(k.key) || !list_ok(k.list, k.count)) return "bad name index entry";
        if (i && std::strcmp(v.str(v.names_[i - 1].key), v.str(k.key)) >= 0) return "name index not sorted";
    }
    for (const Section* s : {&h->uids, &h->gids}) {
        const Key* keys = at<Key>(data, *s);
        for (uint32_t i = 0; i < s->count; ++i) {
            if (!list_ok(keys[i].list, keys[i].count)) return "bad id index entry";
            if (i && keys[i - 1].key >= keys[i].key) return "id index not sorted";
        }
    }
    for (uint32_t i = 0; i < h->uid_ranges.count; ++i)
        if (v.ranges_[i].rule >= nr || v.ranges_[i].lo > v.ranges_[i].hi) return "bad uid range";
    for (uint32_t i = 0; i < h->all_users.count; ++i)
        if (v.all_[i] >= nr) return "bad all-users entry";
    const uint32_t* cs = at<uint32_t>(data, h->class_services);
    for (uint32_t i = 0; i < h->class_services.count; ++i)
        if (!str_ok(cs[i])) return "bad class service";
    *out = v;
    return nullptr;
}

const Key* View::find_name(const char* name) const {
    uint32_t lo = 0, hi = h_->names.count;
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo) / 2;
        const int c = std::strcmp(str(names_[mid].key), name);
        if (c == 0) return &names_[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return nullptr;
}

const Key* View::find_id(const Key* keys, uint32_t n, uint32_t id) {
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo) / 2;
        if (keys[mid].key == id) return &keys[mid];
        if (keys[mid].key < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return nullptr;
}

void View::take(const uint32_t* list, uint32_t n, uint32_t* best) const {
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t r = list[i];
        for (uint64_t m = rules_[r].class_mask; m; m &= m - 1) {
            const int c = __builtin_ctzll(m);
            if (r < best[c]) best[c] = r;
        }
    }
}

void View::decide(const char* name, uid_t uid, gid_t gid, uint32_t* best) const {
    for (uint32_t c = 0; c < kMaxClasses; ++c) best[c] = kNone;
    take(all_, h_->all_users.count, best);
    if (const Key* k = find_name(name)) take(lists_ + k->list, k->count, best);
    if (const Key* k = find_id(uids_, h_->uids.count, uid)) take(lists_ + k->list, k->count, best);
    if (const Key* k = find_id(gids_, h_->gids.count, gid)) take(lists_ + k->list, k->count, best);
    for (uint32_t i = 0; i < h_->uid_ranges.count; ++i)
        if (uid >= ranges_[i].lo && uid <= ranges_[i].hi) take(&ranges_[i].rule, 1, best);
}

uint32_t View::service_index(const char* service) const {
    // The class table lists the services the rules name and "" for every
    // other service (the compiler puts it last).
    const uint32_t n = h_->class_services.count;
    uint32_t other = n - 1;
    for (uint32_t i = 0; i < n; ++i) {
        const char* s = str(services_[i]);
        if (*s == '\0')
            other = i;
        else if (std::strcmp(service, s) == 0)
            return i;
    }
    return other;
}

Decision View::decision(const char* name, uid_t uid, gid_t gid, const char* service, Kind kind) const {
    uint32_t best[kMaxClasses];
    decide(name, uid, gid, best);
    const bool default_record = h_->flags & kDefaultRecord;
    // The classes asked about: one service's three (or every service's),
    // one kind of them unless the kind is unknown.
    uint32_t from = 0, to = h_->nclasses;
    if (service != kAnyService) {
        from = 3 * service_index(service);
        to = from + 3;
    }
    const bool unknown = kind == Kind::Unknown;
    const uint32_t step = unknown ? 1 : 3;
    if (!unknown) from += static_cast<uint32_t>(kind);
    auto records = [&](uint32_t c) {
        const uint32_t r = best[c];
        return r == kNone ? default_record : rules_[r].action == 0;
    };
    // The first recorded class: the answer, and for one kind all of it.
    uint32_t first = from;
    while (first < to && !records(first)) first += step;
    Decision d;
    d.per_kind = unknown;
    if (first < to) {
        d.recorded = true;
        d.kind_recorded[first % 3] = true;
        // The unknown kind: which other kinds are recorded too.
        for (uint32_t c = first + 1; unknown && c < to; ++c) {
            if (!d.kind_recorded[c % 3] && records(c)) d.kind_recorded[c % 3] = true;
            if (d.kind_recorded[0] && d.kind_recorded[1] && d.kind_recorded[2]) break;
        }
    }
    // The rule named: the first recorded class's, else the first class's
    // (for one service: interactive, command, transfer in that order).
    d.rank = best[d.recorded ? first : from];
    if (d.rank != kNone) {
        const Rule& r = rules_[d.rank];
        d.rule = str(r.name);
        d.settings = str(r.settings);
        d.retention = str(r.retention);
        d.audit = r.audit;
    }
    return d;
}

bool View::recorded(const char* name, uid_t uid, gid_t gid, uint32_t* rule) const {
    const Decision d = decision(name, uid, gid, kAnyService, Kind::Unknown);
    if (d.recorded && rule) *rule = d.rank;
    return d.recorded;
}

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::Interactive: return "interactive";
        case Kind::Command: return "command";
        case Kind::Transfer: return "transfer";
        case Kind::Unknown: return "interactive or command";
    }
    return "?";
}

size_t Decision::reason(char* buf, size_t n) const {
    // snprintf-like without stdio: the length of the whole text is returned,
    // at most n - 1 bytes of it are written.
    size_t len = 0;
    auto put = [&](const char* s) {
        for (; *s; ++s, ++len)
            if (len + 1 < n) buf[len] = *s;
    };
    put(recorded ? "recorded" : "not recorded");
    if (rank == kNone) {
        put(" by the default: no rule matches");
    } else {
        put(" by rule '");
        put(rule);
        put("'");
    }
    if (per_kind && recorded && !(kind_recorded[0] && kind_recorded[1] && kind_recorded[2])) {
        put(" (kinds recorded:");
        if (kind_recorded[0]) put(" interactive");
        if (kind_recorded[1]) put(" command");
        if (kind_recorded[2]) put(" transfer");
        put(")");
    }
    if (n) buf[len < n ? len : n - 1] = '\0';
    return len;
}

const char* map_file(const char* path, Mapping* out) {
    *out = Mapping{};
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return "cannot open policy cache";
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return "policy cache is not a regular file";
    }
    // Whoever can write the cache decides who is recorded: accept it only from
    // root (or the reading process's own user, for tests and tools) and only
    // if nobody else can write it.
    if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        ::close(fd);
        return "policy cache is writable by another user (must be owned by root, mode 0644)";
    }
    if (st.st_size < static_cast<off_t>(sizeof(Header)) || st.st_size > (off_t(1) << 31)) {
        ::close(fd);
        return "policy cache has an implausible size";
    }
    void* addr = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (addr == MAP_FAILED) return "cannot map policy cache";
    View v;
    if (const char* err = View::open(addr, static_cast<size_t>(st.st_size), &v)) {
        munmap(addr, static_cast<size_t>(st.st_size));
        return err;
    }
    out->addr = addr;
    out->size = static_cast<size_t>(st.st_size);
    out->dev = st.st_dev;
    out->ino = st.st_ino;
    out->mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    out->view = v;
    return nullptr;
}

void unmap(Mapping* m) {
    if (m->addr) munmap(const_cast<void*>(m->addr), m->size);
    *m = Mapping{};
}

bool same_file(const char* path, const Mapping& m) {
    struct stat st;
    if (stat(path, &st) != 0) return false;
    return st.st_dev == m.dev && st.st_ino == m.ino &&
           int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec == m.mtime_ns &&
           static_cast<size_t>(st.st_size) == m.size;
}

}  // namespace tlog::policy::cache
