// libauparse's event assembly and record splitting (auparse.c, ellist.c of
// audit 3.0.9), rewritten over one buffer per record. Its quirks are kept
// on purpose: the converter's output must not change with the reader, and
// the differential test (tests/audit) compares the two on every log.
#include "raw_reader.h"

#include <libaudit.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

namespace tlog::audit::raw {

// The records of an event come one after the other: the last time stamp's
// text and what it read as.
struct LastStamp {
    // The text last parsed; nothing until a first line is read (an empty
    // stamp, "audit()", is a text like any other and must be parsed once).
    std::optional<std::string> text;
    time_t sec = 0;
    unsigned milli = 0;
    unsigned long serial = 0;
    bool ok = false;
};

namespace {

// audit_strsplit_r: the next token between spaces; `saved` is null at the end.
char* strsplit(char* s, char** saved) {
    if (s) {
        *saved = s;
    } else {
        if (*saved == nullptr) return nullptr;
        *saved += 1;
    }
    for (;;) {
        char* sp = std::strchr(*saved, ' ');
        if (sp) {
            if (sp == *saved) {
                *saved += 1;
                continue;
            }
            s = *saved;
            *sp = 0;
            *saved = sp;
            return s;
        }
        s = *saved;
        *saved = nullptr;
        return *s == 0 ? nullptr : s;
    }
}

// strtoul(s, nullptr, base), and whether it set errno: plain digits here,
// the rest (spaces, signs, "0x", overflow) by strtoul itself.
unsigned long to_ulong(const char* s, int base, bool& err) {
    const auto digit = [base](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (base == 16 && c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (base == 16 && c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    const auto ubase = static_cast<unsigned long>(base);
    unsigned long v = 0;
    const char* p = s;
    int d = digit(*p);
    if (d >= 0 && !(base == 16 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))) {
        // Fifteen digits cannot overflow in either base: longer ones go
        // the slow way.
        for (; (d = digit(*p)) >= 0; ++p) {
            if (p - s >= 15) goto slow;
            v = v * ubase + static_cast<unsigned long>(d);
        }
        err = false;
        return v;
    }
slow:
    errno = 0;
    v = std::strtoul(s, nullptr, base);
    err = errno != 0;
    return v;
}

struct Stamp {
    time_t sec = 0;
    unsigned milli = 0;
    unsigned long serial = 0;
    bool has_host = false;
    std::string host;
};

// str2event: strtoul's leniency (signs, spaces, trailing text) included.
bool str2event(char* s, Stamp& e, time_t eoe_timeout) {
    // Stored as libauparse stores them: into a time_t ("-5" is -5) and an
    // unsigned int (cut to 32 bits) before the range checks.
    bool err = false;
    e.sec = static_cast<time_t>(to_ulong(s, 10, err));
    if (err || e.sec > LONG_MAX - eoe_timeout - 1) return false;
    char* p = std::strchr(s, '.');
    if (p) {
        ++p;
        e.milli = static_cast<unsigned>(to_ulong(p, 10, err));
        if (err || e.milli > 999) return false;
        s = p;
    } else {
        e.milli = 0;
    }
    p = std::strchr(s, ':');
    if (p) {
        ++p;
        e.serial = to_ulong(p, 10, err);
        if (err) return false;
    } else {
        e.serial = 0;
    }
    return true;
}

// extract_timestamp: from the first 80 bytes of the line (340 when it
// starts with a node name).
bool extract_timestamp(std::string_view line, Stamp& e, time_t eoe_timeout, LastStamp& last) {
    const size_t n = std::min(line.size(), line.starts_with('n') ? size_t{340} : size_t{80});
    char tmp[344];
    std::memcpy(tmp, line.data(), n);
    tmp[n] = 0;
    char* saved = nullptr;
    char* p = strsplit(tmp, &saved);
    if (!p) return false;
    if (*p == 'n' && strnlen(p, 8) > 5) {
        e.has_host = true;
        e.host = p + 5;
        (void)strsplit(nullptr, &saved);
    }
    p = strsplit(nullptr, &saved);
    if (!p || strnlen(p, 20) <= 18) return false;
    if (p[9] == '(')
        p += 9;
    else
        p = std::strchr(p, '(');
    if (!p) return false;
    ++p;
    if (char* end = std::strchr(p, ')')) *end = 0;
    if (last.text && *last.text == p) {
        e.sec = last.sec, e.milli = last.milli, e.serial = last.serial;
        return last.ok;
    }
    last.text = p;
    last.ok = str2event(p, e, eoe_timeout);
    last.sec = e.sec, last.milli = e.milli, last.serial = e.serial;
    return last.ok;
}

bool same_event(const Event& a, const Stamp& b) {
    if (a.serial != b.serial || a.milli != b.milli || a.sec != b.sec) return false;
    if (a.has_host && b.has_host) return a.host == b.host;
    return a.has_host == b.has_host;
}

int compare_time(const Event& a, const Event& b) {
    if (a.sec != b.sec) return a.sec > b.sec ? 1 : -1;
    if (a.milli != b.milli) return a.milli > b.milli ? 1 : -1;
    if (a.serial != b.serial) return a.serial > b.serial ? 1 : -1;
    return 0;
}

// Records that end their event by themselves (au_check_events).
bool single_record(int type) {
    return type == AUDIT_PROCTITLE || type == AUDIT_EOE || type < AUDIT_FIRST_EVENT || type >= AUDIT_FIRST_ANOM_MSG ||
           type == AUDIT_KERNEL || (type >= AUDIT_MAC_UNLBL_ALLOW && type <= AUDIT_MAC_CALIPSO_DEL);
}

std::unique_ptr<char[]> dup(const char* s, size_t n) {
    auto p = std::make_unique<char[]>(n + 1);
    std::memcpy(p.get(), s, n);
    p[n] = 0;
    return p;
}

unsigned char x2c(const unsigned char* b) {
    static const char kDigits[17] = "0123456789ABCDEF";
    unsigned char total = 0;
    if (const char* p = std::strchr(kDigits, std::toupper(b[0])))
        total = static_cast<unsigned char>((p - kDigits) & 0x0F) << 4;
    if (const char* p = std::strchr(kDigits, std::toupper(b[1])))
        total += static_cast<unsigned char>((p - kDigits) & 0x0F);
    return total;
}

// au_unescape: hex to bytes, "(...)" kept; null when too short.
std::unique_ptr<char[]> unescape(const char* buf) {
    const char* end = buf;
    if (*end == '(') {
        end = std::strchr(end, ')');
        if (!end) return nullptr;
        ++end;
    } else {
        while (std::isxdigit(static_cast<unsigned char>(*end))) ++end;
    }
    const size_t olen = std::strlen(buf);
    auto str = std::make_unique<char[]>(olen + 2);  // zeroed; +1: x2c may read the terminator's neighbour
    std::memcpy(str.get(), buf, static_cast<size_t>(end - buf));
    if (*buf == '(') return str;
    const size_t len = std::strlen(str.get());
    if (len < 2) return nullptr;
    char* out = str.get();
    for (size_t i = 0; i < len; i += 2) *out++ = static_cast<char>(x2c(reinterpret_cast<unsigned char*>(&str[i])));
    *out = 0;
    return str;
}

// ellist.c's escape(): a key as auditd would log it.
std::unique_ptr<char[]> escape_key(const char* s) {
    const size_t len = std::strlen(s);
    for (const auto* p = reinterpret_cast<const unsigned char*>(s); *p; ++p) {
        if (*p == '"' || *p < 0x21 || *p > 0x7e) {
            static const char kHex[] = "0123456789ABCDEF";
            auto out = std::make_unique<char[]>(2 * len + 1);
            for (size_t i = 0; i < len; ++i) {
                out[2 * i] = kHex[(s[i] & 0xF0) >> 4];
                out[2 * i + 1] = kHex[s[i] & 0x0F];
            }
            out[2 * len] = 0;
            return out;
        }
    }
    auto out = std::make_unique<char[]>(len + 3);
    out[0] = '"';
    std::memcpy(out.get() + 1, s, len);
    out[len + 1] = '"';
    out[len + 2] = 0;
    return out;
}

}  // namespace

Reader::Reader(time_t eoe_timeout, Callback cb)
    : eoe_timeout_(eoe_timeout), cb_(std::move(cb)), last_stamp_(std::make_unique<LastStamp>()) {}
Reader::~Reader() = default;
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;

time_t Reader::eoe_timeout() {
    std::ifstream in("/etc/audit/auditd.conf");
    std::string line;
    while (std::getline(in, line)) {
        const size_t eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string key = line.substr(0, eq);
        while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
        size_t k = 0;
        while (k < key.size() && (key[k] == ' ' || key[k] == '\t')) ++k;
        if (key.substr(k) != "end_of_event_timeout") continue;
        const char* v = line.c_str() + eq + 1;
        while (*v == ' ' || *v == '\t') ++v;
        char* end = nullptr;
        errno = 0;
        const unsigned long t = std::strtoul(v, &end, 10);
        if (!errno && end != v && t < 1000000) return static_cast<time_t>(t);
    }
    return 2;
}

// parse_up_record, over one copy of the line.
int Reader::msg_type(const char* name) {
    const std::string_view n(name);
    for (const auto& [known, type] : types_)
        if (known == n) return type;
    const int type = audit_name_to_msg_type(name);
    // Bounded: the names are the log's (any text after "type=").
    if (types_.size() < 64) types_.emplace_back(n, type);
    return type;
}

bool Reader::parse_record(std::string_view line, Record& r) {
    r.text.assign(line.begin(), line.end());
    r.text.push_back(0);
    char* rec = r.text.data();
    if (char* sep = std::strchr(rec, AUDIT_INTERP_SEPARATOR)) {
        *sep = 0;
        r.interp = sep + 1;
    }
    // An unknown type's name as the log has it, taken before the split.
    std::string_view type_text;
    {
        const std::string_view whole(rec);
        if (const size_t at = whole.find("type="); at != std::string_view::npos) {
            type_text = whole.substr(at + 5);
            type_text = type_text.substr(0, type_text.find(' '));
        }
    }
    std::string type_copy(type_text);
    unsigned offset = 0;
    char* saved = nullptr;
    char* ptr = strsplit(rec, &saved);
    if (!ptr) {
        r.unknown_type = std::move(type_copy);
        return false;
    }
    auto append = [&r](const char* name, const char* val, size_t name_len, size_t val_len) {
        r.fields.push_back({name, val, static_cast<uint32_t>(name_len), static_cast<uint32_t>(val_len)});
    };
    auto append_c = [&append](const char* name, const char* val) {
        append(name, val, std::strlen(name), val ? std::strlen(val) : 0);
    };
    do {
        // The token ends where strsplit put its NUL.
        char* const end = saved ? saved : ptr + std::strlen(ptr);
        char* val = static_cast<char*>(std::memchr(ptr, '=', static_cast<size_t>(end - ptr)));
        if (val) {
            if (*ptr == 'm' && std::strncmp(ptr, "msg=", 4) == 0) {
                if (ptr[4] == 'a') continue;
                if (ptr[4] == '\'') {
                    ptr += 5;
                    val = static_cast<char*>(std::memchr(ptr, '=', static_cast<size_t>(end - ptr)));
                    if (!val) continue;
                }
            }
            *val++ = 0;
            if (*ptr == '(') ++ptr;
            char* name = ptr;
            const size_t name_len = static_cast<size_t>(val - 1 - name);
            size_t len = static_cast<size_t>(end - val);
            if (!len) continue;
            if (val[len - 1] == ':') val[--len] = 0;
            if (len && val[len - 1] == ',') val[--len] = 0;
            if (len && val[len - 1] == '\'') val[--len] = 0;
            if (len && val[len - 1] == ')' && std::strcmp(val, "(none)") != 0 && std::strcmp(val, "(null)") != 0)
                val[--len] = 0;
            if (name_len == 3 && std::memcmp(name, "key", 3) == 0 && *val != '(') {
                if (*val == '"') {
                    append(name, val, name_len, len);
                } else {
                    // Several keys, hex-encoded and joined by 0x01: one
                    // "key" field each.
                    auto keys = unescape(val);
                    if (!keys) {
                        append_c(name, nullptr);
                        continue;
                    }
                    char* kept = nullptr;
                    static const char kSep[2] = {AUDIT_KEY_SEPARATOR, 0};
                    for (char* k = strtok_r(keys.get(), kSep, &kept); k; k = strtok_r(nullptr, kSep, &kept)) {
                        r.extra.push_back(escape_key(k));
                        append_c("key", r.extra.back().get());
                    }
                }
                continue;
            }
            append(name, val, name_len, len);
            const size_t cnt = r.fields.size();
            if (cnt == 1 && std::strcmp(name, "node") == 0) {
                offset = 1;
            } else if (cnt == 1 + offset && std::strcmp(name, "type") == 0) {
                r.type = msg_type(val);
            } else if ((cnt == 2 + offset || cnt == 11 + offset) && std::strcmp(name, "arch") == 0) {
                bool err = false;
                const unsigned long v = to_ulong(val, 16, err);
                r.machine = err ? -2 : audit_elf_to_machine(static_cast<unsigned>(v));
            } else if ((cnt == 3 + offset || cnt == 12 + offset) && std::strcmp(name, "syscall") == 0) {
                bool err = false;
                r.syscall = static_cast<int>(to_ulong(val, 10, err));
                if (err) r.syscall = -1;
            } else if (cnt == 6 + offset && std::strcmp(name, "a0") == 0) {
                bool err = false;
                r.a0 = to_ulong(val, 16, err);
                if (err) r.a0 = static_cast<unsigned long long>(-1LL);
            } else if (cnt == 7 + offset && std::strcmp(name, "a1") == 0) {
                bool err = false;
                r.a1 = to_ulong(val, 16, err);
                if (err) r.a1 = static_cast<unsigned long long>(-1LL);
            }
        } else if (r.type == AUDIT_AVC || r.type == AUDIT_USER_AVC) {
            // SELinux's avc messages leave two fields unnamed.
            const size_t cnt = r.fields.size();
            if (cnt == 1 + offset) {
                if (std::strncmp(ptr, "avc", 3) == 0) continue;
                append_c("seresult", ptr);
            } else if (cnt == 2 + offset && *ptr == '{') {
                std::string perms;
                ptr = strsplit(nullptr, &saved);
                while (ptr && *ptr != '}') {
                    const size_t len = std::strlen(ptr);
                    if (len + 1 >= 256 - perms.size()) {
                        if (r.type <= 0) r.unknown_type = std::move(type_copy);
                        return false;
                    }
                    if (!perms.empty()) perms += ',';
                    perms += ptr;
                    ptr = strsplit(nullptr, &saved);
                }
                r.extra.push_back(dup(perms.c_str(), perms.size()));
                append_c("seperms", r.extra.back().get());
            }
        }
    } while ((ptr = strsplit(nullptr, &saved)));
    if (r.type <= 0) r.unknown_type = std::move(type_copy);
    return true;
}

bool Reader::next_line(std::string_view& line) {
    if (held_) {
        held_ = false;
        line = std::string_view(buf_).substr(0, buf_.size() - 1);
    } else {
        const size_t nl = src_.find('\n', pos_);
        if (nl == std::string::npos) return false;
        line = src_.substr(pos_, nl - pos_);
        pos_ = nl + 1;
    }
    // libauparse copies the line with strncpy: nothing after a NUL.
    if (const size_t z = line.find('\0'); z != std::string_view::npos) line = line.substr(0, z);
    return true;
}

void Reader::check_events(time_t sec) {
    for (int i = 0; i <= maxi_; ++i) {
        Slot& s = slots_[static_cast<size_t>(i)];
        if (s.status != Status::building || s.ev.records.empty()) continue;
        if (s.ev.sec + eoe_timeout_ <= sec || single_record(s.ev.records.back().type)) {
            s.status = Status::complete;
            ++ready_;
        }
    }
}

void Reader::terminate_all() {
    for (int i = 0; i <= maxi_; ++i) {
        Slot& s = slots_[static_cast<size_t>(i)];
        if (s.status == Status::building) {
            s.status = Status::complete;
            ++ready_;
        }
    }
}

// au_get_ready_event: the oldest event, if it is complete.
bool Reader::ready_event() {
    if (ready_ == 0) return false;
    Slot* lowest = nullptr;
    for (int i = 0; i <= maxi_; ++i) {
        Slot& s = slots_[static_cast<size_t>(i)];
        if (s.status == Status::empty) continue;
        if (!lowest || compare_time(lowest->ev, s.ev) == 1) lowest = &s;
    }
    if (!lowest || lowest->status != Status::complete) return false;
    lowest->status = Status::empty;
    --ready_;
    current_ = lowest;
    return true;
}

// au_auparse_next_event over the fed text.
bool Reader::next_event() {
    if (current_) {
        for (Record& r : current_->ev.records)
            if (spare_.size() < 64 && r.text.capacity() <= 64 * 1024) spare_.push_back(std::move(r));
        current_->ev.records.clear();
        current_ = nullptr;
    }
    if (ready_event()) return true;
    std::string_view line;
    while (next_line(line)) {
        Stamp st;
        if (!extract_timestamp(line, st, eoe_timeout_, *last_stamp_)) continue;
        bool built = false;
        for (int i = 0; i <= maxi_; ++i) {
            Slot& s = slots_[static_cast<size_t>(i)];
            if (s.status != Status::building || !same_event(s.ev, st)) continue;
            // A record that fails to parse stays in its event, as with
            // libauparse, but does not complete it.
            s.ev.records.push_back(take());
            const bool ok = parse_record(line, s.ev.records.back());
            if (ok) check_events(st.sec);
            built = true;
            break;
        }
        if (built) continue;
        Record r = take();
        if (!parse_record(line, r) || r.type == AUDIT_EOE) {
            // Unreadable, or a lone EOE: its event was complete already.
            spare_.push_back(std::move(r));
            continue;
        }
        Slot* slot = nullptr;
        for (int i = 0; i < static_cast<int>(slots_.size()); ++i) {
            if (slots_[static_cast<size_t>(i)].status == Status::empty) {
                slot = &slots_[static_cast<size_t>(i)];
                maxi_ = std::max(maxi_, i);
                break;
            }
        }
        if (!slot) {
            slot = &slots_.emplace_back();
            maxi_ = static_cast<int>(slots_.size()) - 1;
        }
        slot->status = Status::building;
        Event& ev = slot->ev;
        ev.sec = st.sec;
        ev.milli = st.milli;
        ev.serial = st.serial;
        ev.has_host = st.has_host;
        ev.host = std::move(st.host);
        ev.records.clear();
        ev.records.push_back(std::move(r));
        check_events(st.sec);
        if (ready_event()) return true;
    }
    return false;
}

void Reader::deliver(Slot& s) { cb_(s.ev); }

Record Reader::take() {
    if (spare_.empty()) return {};
    Record r = std::move(spare_.back());
    spare_.pop_back();
    r.text.clear();
    r.extra.clear();
    r.interp = nullptr;
    r.unknown_type.clear();
    r.type = 0;
    r.machine = -1;
    r.syscall = -1;
    r.a0 = r.a1 = 0;
    r.fields.clear();
    return r;
}

void Reader::feed(std::string_view text) {
    // Whole lines are read where they are given (a record copies its
    // line); only a line cut between two calls is kept, in buf_, and
    // read before the new text once its end comes.
    bool cut = false;  // buf_ is still a line without its end
    if (!buf_.empty()) {
        const size_t nl = text.find('\n');
        cut = nl == std::string_view::npos;
        const size_t n = cut ? text.size() : nl + 1;
        buf_.append(text.substr(0, n));
        text.remove_prefix(n);
        held_ = !cut;
    }
    src_ = text;
    pos_ = 0;
    while (next_event()) deliver(*current_);
    if (!cut) buf_.assign(text.substr(pos_));
    src_ = {};
    pos_ = 0;
}

void Reader::age(time_t now) {
    check_events(now);
    while (next_event()) deliver(*current_);
}

void Reader::finish() {
    while (next_event()) deliver(*current_);
    terminate_all();
    while (next_event()) deliver(*current_);
}

}  // namespace tlog::audit::raw
