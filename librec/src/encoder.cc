#include "tlog/encoder.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "tlog/detail/swar.h"
#include "tlog/json.h"
#include "tlog/utf8.h"

namespace tlog {

namespace {

size_t digits(uint64_t v) {
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

void append_uint(std::string& out, uint64_t v) {
    char buf[24];
    char* e = buf + sizeof buf;
    char* p = e;
    do {
        *--p = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    out.append(p, e - p);
}

// Encoded size of a byte in a *_bin array, without the separating comma.
constexpr uint8_t bin_len(uint8_t b) { return b >= 100 ? 3 : b >= 10 ? 2 : 1; }

// JSON-escaped length of each byte when it stands alone (ASCII); bytes >= 0x80
// are part of a multi-byte character and cost one each.
struct CostTable {
    uint8_t cost[256];
    constexpr CostTable() : cost() {
        for (int i = 0; i < 256; i++) cost[i] = 1;
        for (int i = 0; i < 0x20; i++) cost[i] = 6;
        cost[0x7f] = 6;
        for (unsigned char c : {'"', '\\', '\b', '\f', '\n', '\r', '\t'}) cost[c] = 2;
    }
};
constexpr CostTable kCost;

enum class Run : uint8_t { None, Valid, Invalid };

// One direction (input or output) of the message being built.
struct Stream {
    Stream(char valid, char invalid) : valid_mark(valid), invalid_mark(invalid) {}
    char valid_mark, invalid_mark;
    std::string json;     // text of this message, escaped as it goes into the line
    std::string txt;      // the same unescaped, kept only for the integrity chain
    std::string bin;      // raw bytes of invalid sequences
    Run run = Run::None;  // the run of timing not yet written
    uint64_t run_chars = 0, run_bytes = 0;
    uint8_t part[4] = {};  // start of a character cut by the end of a write
    size_t part_len = 0;
};

}  // namespace

struct TLOG_LOCAL Encoder::Impl {
    RecordingInfo info;
    EncoderOptions opts;
    MessageSink& sink;
    int64_t start_mono_ns;
    int64_t start_real_ms;

    std::string header;  // {"ver":...,"session":N,"id":  (escaped once)
    std::string timing;
    Stream in{'<', '['};
    Stream out{'>', ']'};
    size_t used = 0;     // encoded payload bytes, with room reserved for the open run's record
    size_t run_reserve;  // room one open run record may need: marker, count, '/', count
    bool empty = true;   // no event in the current message yet
    uint64_t first_ms = 0, last_ms = 0;
    int64_t pending_since = 0;
    uint64_t next_id = 1;
    bool finished = false;
    bool have_window = false;
    uint16_t width = 0, height = 0;

    Encoder::Annotations annotations;  // for the next message
    std::function<void(Encoder::Annotations&)> annotator;
    std::string ext;

    std::unique_ptr<integrity::Chain> chain;
    integrity::Mac prev_mac = integrity::zero_mac();
    std::string line;

    Impl(RecordingInfo i, EncoderOptions o, MessageSink& s, int64_t mono, int64_t real)
        : info(std::move(i)), opts(o), sink(s), start_mono_ns(mono), start_real_ms(real / 1000000) {
        if (opts.payload < kMinPayload) throw std::invalid_argument("payload below " + std::to_string(kMinPayload));
        run_reserve = 2 * (1 + digits(opts.payload));
        header = "{\"ver\":\"2.3\",\"host\":" + json::quote(info.host) + ",\"rec\":" + json::quote(info.rec) +
                 ",\"user\":" + json::quote(info.user) + ",\"term\":" + json::quote(info.term) +
                 ",\"session\":" + std::to_string(info.session) + ",\"id\":";
        if (opts.chain)
            chain = std::make_unique<integrity::Chain>(opts.key ? integrity::Alg::HmacSha256 : integrity::Alg::Sha256,
                                                       opts.key);
        for (Stream* s2 : {&in, &out}) {
            s2->json.reserve(opts.payload);
            if (opts.chain) s2->txt.reserve(opts.payload);
            s2->bin.reserve(opts.payload);
        }
        timing.reserve(opts.payload);
        line.reserve(opts.payload * 2 + 512);
    }

    uint64_t to_ms(int64_t mono_ns) {
        int64_t d = mono_ns - start_mono_ns;
        uint64_t ms = d > 0 ? static_cast<uint64_t>(d) / 1000000 : 0;
        // Time never goes back inside a recording, whatever the caller passes.
        return std::max(ms, last_ms);
    }

    // Writes the timing record of a stream's open run.
    void close_run(Stream& s) {
        if (s.run == Run::None) return;
        size_t before = timing.size();
        timing.push_back(s.run == Run::Valid ? s.valid_mark : s.invalid_mark);
        append_uint(timing, s.run_chars);
        if (s.run == Run::Invalid) {
            timing.push_back('/');
            append_uint(timing, s.run_bytes);
        }
        used = used - run_reserve + (timing.size() - before);
        s.run = Run::None;
        s.run_chars = s.run_bytes = 0;
    }

    void write_window_record() {
        timing.push_back('=');
        size_t before = timing.size() - 1;
        append_uint(timing, width);
        timing.push_back('x');
        append_uint(timing, height);
        used += timing.size() - before;
    }

    // Makes room for an event at `ms` that needs `need` more bytes (with
    // its run record) and writes the delay record. Starts a new message when
    // the current one is full.
    void begin_event(uint64_t ms, size_t need, int64_t mono_ns) {
        if (!empty) {
            uint64_t delay = ms - last_ms;
            size_t delay_len = delay ? 1 + digits(delay) : 0;
            if (used + delay_len + need > opts.payload) {
                emit("");
            } else {
                if (delay) {
                    close_run(in);
                    close_run(out);
                    timing.push_back('+');
                    append_uint(timing, delay);
                    used += delay_len;
                }
                last_ms = ms;
                return;
            }
        }
        empty = false;
        first_ms = last_ms = ms;
        pending_since = mono_ns;
        // Every message starts with the window size so it plays on its own.
        if (opts.log_window && have_window) write_window_record();
    }

    // Opens (or continues) a run of kind `k` on stream `s`; the other
    // stream's run is closed first so records stay in the order of events.
    void open_run(Stream& s, Run k) {
        Stream& other = &s == &in ? out : in;
        if (other.run != Run::None) close_run(other);
        if (s.run != k) {
            close_run(s);
            s.run = k;
            used += run_reserve;
        }
    }

    void add_char(Stream& s, uint64_t ms, int64_t mono_ns, const uint8_t* p, size_t n) {
        begin_event(ms, n + run_reserve, mono_ns);
        open_run(s, Run::Valid);
        s.json.append(reinterpret_cast<const char*>(p), n);
        if (chain) s.txt.append(reinterpret_cast<const char*>(p), n);
        s.run_chars++;
        used += n;
    }

    void add_invalid(Stream& s, uint64_t ms, int64_t mono_ns, const uint8_t* p, size_t n) {
        size_t cost = utf8::kReplacement.size();
        for (size_t i = 0; i < n; i++) cost += bin_len(p[i]) + 1;
        begin_event(ms, cost + run_reserve, mono_ns);
        open_run(s, Run::Invalid);
        s.json.append(utf8::kReplacement);
        if (chain) s.txt.append(utf8::kReplacement);
        s.run_chars++;
        used += utf8::kReplacement.size();
        for (size_t i = 0; i < n; i++) {
            if (!s.bin.empty()) used++;  // the comma
            s.bin.push_back(static_cast<char>(p[i]));
            used += bin_len(p[i]);
        }
        s.run_bytes += n;
    }

    // Consecutive invalid sequences (binary output) in one run: one U+FFFD and
    // the raw bytes each. Stops at valid text or a cut sequence at the end.
    size_t add_invalid_run(Stream& s, uint64_t ms, int64_t mono_ns, const uint8_t* p, const uint8_t* end) {
        const uint8_t* start = p;
        for (;;) {
            size_t bad = utf8::invalid_length(p, end);
            add_invalid(s, ms, mono_ns, p, bad);  // the first one may start a message
            p += bad;
            size_t room = opts.payload - used;
            while (p < end) {
                bool incomplete = false;
                if (*p < 0x80 || utf8::valid_prefix(p, end, &incomplete) || incomplete) return p - start;
                bad = utf8::invalid_length(p, end);
                size_t cost = utf8::kReplacement.size();
                for (size_t i = 0; i < bad; i++) cost += bin_len(p[i]) + 1;
                if (cost > room) break;
                s.json.append(utf8::kReplacement);
                if (chain) s.txt.append(utf8::kReplacement);
                s.bin.append(reinterpret_cast<const char*>(p), bad);
                s.run_chars++;
                s.run_bytes += bad;
                used += cost;
                room -= cost;
                p += bad;
            }
            if (p >= end) return p - start;
        }
    }

    // The hot path: valid text (ASCII and complete UTF-8 characters), taken
    // in as large pieces as fit. Stops at an invalid or cut sequence.
    size_t add_text(Stream& s, uint64_t ms, int64_t mono_ns, const uint8_t* p, const uint8_t* end) {
        const uint8_t* start = p;
        while (p < end) {
            size_t first = *p < 0x80 ? kCost.cost[*p] : utf8::valid_prefix(p, end);
            if (!first) break;
            begin_event(ms, first + run_reserve, mono_ns);
            open_run(s, Run::Valid);
            size_t room = opts.payload - used;
            const uint8_t* q = p;
            const uint8_t* plain = p;  // start of bytes not yet copied to s.json
            size_t n = 0;
            uint64_t chars = 0;
            bool stop = false;
            while (q < end) {
                if (end - q >= 8 && n + 8 <= room) {
                    uint64_t m = swar::json_nonplain_mask(swar::load8(q));
                    size_t k = m ? swar::first_marked(m) : 8;
                    q += k;
                    n += k;
                    chars += k;
                    if (k == 8) continue;
                }
                size_t len = 1, cost;
                if (*q < 0x80) {
                    cost = kCost.cost[*q];
                } else {
                    len = cost = utf8::valid_prefix(q, end);
                    if (!len) {
                        stop = true;
                        break;
                    }
                }
                if (n + cost > room) break;
                if (cost > len) {  // a byte JSON escapes
                    s.json.append(reinterpret_cast<const char*>(plain), q - plain);
                    json::append_escape(s.json, *q);
                    plain = q + 1;
                }
                n += cost;
                q += len;
                chars++;
            }
            s.json.append(reinterpret_cast<const char*>(plain), q - plain);
            if (chain) s.txt.append(reinterpret_cast<const char*>(p), q - p);
            s.run_chars += chars;
            used += n;
            p = q;
            if (stop) break;
        }
        return p - start;
    }

    void add(Stream& s, int64_t mono_ns, std::string_view data) {
        if (finished) throw std::logic_error("encoder: write after finish");
        if (data.empty()) return;
        uint64_t ms = to_ms(mono_ns);
        auto p = reinterpret_cast<const uint8_t*>(data.data());
        auto end = p + data.size();
        // Complete a character cut by the end of the previous write.
        while (s.part_len && p < end) {
            uint8_t buf[4];
            std::memcpy(buf, s.part, s.part_len);
            size_t have = s.part_len;
            size_t take = std::min<size_t>(4 - have, end - p);
            std::memcpy(buf + have, p, take);
            bool incomplete = false;
            size_t n = utf8::valid_prefix(buf, buf + have + take, &incomplete);
            if (incomplete) {  // still cut: keep waiting
                std::memcpy(s.part + have, p, take);
                s.part_len += take;
                return;
            }
            s.part_len = 0;
            if (n) {
                add_char(s, ms, mono_ns, buf, n);
                p += n - have;
            } else {
                size_t bad = utf8::invalid_length(buf, buf + have + take);
                add_invalid(s, ms, mono_ns, buf, bad);
                if (bad > have)
                    p += bad - have;
                else if (bad < have) {  // bytes kept back are examined again
                    std::memmove(s.part, buf + bad, have - bad);
                    s.part_len = have - bad;
                }
            }
        }
        while (p < end) {
            p += add_text(s, ms, mono_ns, p, end);
            if (p == end) break;
            bool incomplete = false;
            utf8::valid_prefix(p, end, &incomplete);
            if (incomplete) {
                std::memcpy(s.part, p, end - p);
                s.part_len = end - p;
                if (empty) pending_since = mono_ns;
                return;
            } else {
                p += add_invalid_run(s, ms, mono_ns, p, end);
            }
        }
    }

    void flush_partials(uint64_t ms, int64_t mono_ns) {
        for (Stream* s : {&in, &out}) {
            // A cut character that never completed is invalid: its bytes go to *_bin.
            size_t i = 0;
            while (i < s->part_len) {
                size_t bad = utf8::invalid_length(s->part + i, s->part + s->part_len);
                add_invalid(*s, ms, mono_ns, s->part + i, bad);
                i += bad;
            }
            s->part_len = 0;
        }
    }

    static void append_bin(std::string& line, const std::string& bin) {
        line.push_back('[');
        for (size_t i = 0; i < bin.size(); i++) {
            if (i) line.push_back(',');
            append_uint(line, static_cast<uint8_t>(bin[i]));
        }
        line.push_back(']');
    }

    void emit(std::string_view end_reason) {
        close_run(in);
        close_run(out);
        line.clear();
        line += header;
        append_uint(line, next_id);
        line += ",\"pos\":";
        append_uint(line, first_ms);
        uint64_t time_ms = static_cast<uint64_t>(start_real_ms) + first_ms;
        line += ",\"time\":";
        append_uint(line, time_ms / 1000);
        char frac[5] = {'.', static_cast<char>('0' + time_ms / 100 % 10), static_cast<char>('0' + time_ms / 10 % 10),
                        static_cast<char>('0' + time_ms % 10), 0};
        line.append(frac, 4);
        line += ",\"timing\":\"";
        line += timing;  // timing records never need escaping
        line += "\",\"in_txt\":\"";
        line += in.json;
        line += "\",\"in_bin\":";
        append_bin(line, in.bin);
        line += ",\"out_txt\":\"";
        line += out.json;
        line += "\",\"out_bin\":";
        append_bin(line, out.bin);
        if (!end_reason.empty()) {
            line += ",\"end\":";
            line += json::quote(end_reason);
        }
        Encoder::Annotations fields = std::move(annotations);
        annotations.clear();
        if (annotator) annotator(fields);
        ext.clear();
        if (!fields.empty()) {
            std::string names;
            for (const auto& [name, value] : fields) {
                std::string canonical = json::dump(json::parse(value, "annotation '" + name + "'"));
                line += ',';
                line += json::quote(name);
                line += ':';
                line += canonical;
                integrity::append_ext(ext, name, canonical);
                names += (names.empty() ? "" : ",") + json::quote(name);
            }
            if (chain) line += ",\"mac_fields\":[" + names + "]";
        }
        integrity::Mac mac{};
        if (chain) {
            const char* alg = integrity::alg_name(chain->alg());
            std::string_view key_id = opts.key ? std::string_view(opts.key->id) : std::string_view();
            line += ",\"mac_alg\":\"";
            line += alg;
            line += '"';
            if (opts.key) {
                line += ",\"mac_key\":";
                line += json::quote(key_id);
            }
            integrity::Fields f{info.host, info.rec,   info.user, info.term, info.session, next_id,
                                first_ms,  time_ms,    timing,    in.txt,    in.bin,       out.txt,
                                out.bin,   end_reason, alg,       key_id,    ext};
            mac = chain->compute(prev_mac, f);
            line += ",\"mac\":\"";
            line += integrity::to_hex(mac);
            line += '"';
        }
        line += "}\n";
        try {
            sink.write(EncodedMessage{line, next_id, !end_reason.empty()});
        } catch (...) {
            annotations = std::move(fields);  // they go with the retry
            throw;
        }
        // Only a message the writer took counts.
        prev_mac = mac;
        next_id++;
        timing.clear();
        in.txt.clear();
        in.json.clear();
        in.bin.clear();
        out.txt.clear();
        out.json.clear();
        out.bin.clear();
        used = 0;
        empty = true;
    }
};

Encoder::Encoder(RecordingInfo info, EncoderOptions opts, MessageSink& sink, int64_t start_mono_ns,
                 int64_t start_real_ns)
    : impl_(std::make_unique<Impl>(std::move(info), opts, sink, start_mono_ns, start_real_ns)) {}

Encoder::~Encoder() = default;

void Encoder::window(int64_t mono_ns, uint16_t width, uint16_t height) {
    Impl& m = *impl_;
    if (m.finished) throw std::logic_error("encoder: write after finish");
    if (!m.opts.log_window) return;
    if (m.have_window && width == m.width && height == m.height) return;
    uint64_t ms = m.to_ms(mono_ns);
    m.close_run(m.in);
    m.close_run(m.out);
    bool was_empty = m.empty;
    uint64_t id_before = m.next_id;
    m.have_window = true;
    m.width = width;
    m.height = height;
    m.begin_event(ms, 12, mono_ns);  // "=65535x65535"
    // A message's start writes the current size by itself.
    if (!was_empty && m.next_id == id_before) m.write_window_record();
}

void Encoder::input(int64_t mono_ns, std::string_view bytes) {
    if (impl_->opts.log_input) impl_->add(impl_->in, mono_ns, bytes);
}

void Encoder::output(int64_t mono_ns, std::string_view bytes) {
    if (impl_->opts.log_output) impl_->add(impl_->out, mono_ns, bytes);
}

void Encoder::flush() {
    if (!impl_->empty) impl_->emit("");
}

void Encoder::write_now(int64_t mono_ns) {
    Impl& m = *impl_;
    if (m.finished) throw std::logic_error("encoder: write after finish");
    if (m.empty) m.begin_event(m.to_ms(mono_ns), 0, mono_ns);
    m.emit("");
}

void Encoder::finish(int64_t mono_ns, std::string_view reason) {
    Impl& m = *impl_;
    if (m.finished) return;
    if (reason.empty()) reason = "exit";
    uint64_t ms = m.to_ms(mono_ns);
    m.flush_partials(ms, mono_ns);
    // The last message says when the session ended: a delay record up to
    // `mono_ns` (or, in an empty message, its position).
    m.begin_event(ms, 0, mono_ns);
    m.emit(reason);
    m.finished = true;
}

namespace {
bool reserved_name(std::string_view name) {
    for (std::string_view f : {"ver", "host", "rec", "user", "term", "session", "id", "pos", "time", "timing", "in_txt",
                               "in_bin", "out_txt", "out_bin", "end", "mac", "mac_alg", "mac_key", "mac_fields"})
        if (name == f) return true;
    return name.empty();
}
}  // namespace

void Encoder::annotate(std::string name, std::string json) {
    if (reserved_name(name)) throw std::invalid_argument("annotation name '" + name + "' is reserved");
    for (auto& a : impl_->annotations)
        if (a.first == name) {
            a.second = std::move(json);
            return;
        }
    impl_->annotations.emplace_back(std::move(name), std::move(json));
}

void Encoder::set_annotator(std::function<void(Annotations&)> fn) { impl_->annotator = std::move(fn); }

bool Encoder::pending() const { return !impl_->empty || impl_->in.part_len || impl_->out.part_len; }
int64_t Encoder::pending_since_ns() const { return impl_->pending_since; }
uint64_t Encoder::next_id() const { return impl_->next_id; }
const RecordingInfo& Encoder::info() const { return impl_->info; }

}  // namespace tlog
