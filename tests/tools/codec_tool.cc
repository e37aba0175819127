// codec-tool: drives librec's encoder and decoder from the command line for
// the interop tests, the main job's demo and the benchmarks. Not installed.
//
//   codec-tool encode-raw RAW OUT [--chunk N] [--step-ms MS] [--size WxH] [--payload N] [--key FILE] [--no-chain]
//   codec-tool encode-script SCRIPT OUT [--payload N] [--key FILE] [--no-chain] [--log-input]
//       script lines: "+MS" (advance time), "o HEX", "i HEX", "w WxH", "end REASON"
//   codec-tool decode LOG [--rec ID] [--lax] [--key FILE] [--events] [--input]
//       writes the output bytes (or input bytes, or an event dump) to stdout,
//       the integrity verdict to stderr
//   codec-tool verify LOG [--key FILE] [--lax]   exit 0 only when intact
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "tlog/decoder.h"
#include "tlog/encoder.h"

namespace {

struct FileSink : tlog::MessageSink {
    int fd;
    explicit FileSink(int f) : fd(f) {}
    void write(const tlog::EncodedMessage& m) override {
        const char* p = m.line.data();
        size_t n = m.line.size();
        while (n) {
            ssize_t w = ::write(fd, p, n);
            if (w < 0) throw std::runtime_error(std::string("write: ") + strerror(errno));
            p += w;
            n -= static_cast<size_t>(w);
        }
    }
};

std::string opt(std::vector<std::string>& args, const std::string& name, const std::string& dflt = "") {
    for (size_t i = 0; i + 1 < args.size(); i++)
        if (args[i] == name) {
            std::string v = args[i + 1];
            args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
            return v;
        }
    return dflt;
}

bool flag(std::vector<std::string>& args, const std::string& name) {
    for (size_t i = 0; i < args.size(); i++)
        if (args[i] == name) {
            args.erase(args.begin() + static_cast<long>(i));
            return true;
        }
    return false;
}

std::string unhex(const std::string& h) {
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
    return out;
}

tlog::RecordingInfo demo_info() { return tlog::RecordingInfo{"demo-host", "demo-rec-1", "demo", "xterm", 42}; }

int encode(std::vector<std::string> args, bool script) {
    std::string payload = opt(args, "--payload", std::to_string(tlog::kDefaultPayload));
    std::string keyfile = opt(args, "--key");
    std::string chunk_s = opt(args, "--chunk", "4096");
    std::string step_s = opt(args, "--step-ms", "0");
    std::string size = opt(args, "--size", "80x24");
    std::string rec = opt(args, "--rec", "demo-rec-1");
    bool no_chain = flag(args, "--no-chain");
    bool log_input = flag(args, "--log-input");
    if (args.size() != 2) throw std::runtime_error("usage: encode-raw|encode-script IN OUT [options]");
    std::optional<tlog::integrity::Key> key;
    if (!keyfile.empty()) key = tlog::integrity::load_key_file(keyfile);
    tlog::EncoderOptions o;
    o.payload = std::stoul(payload);
    o.chain = !no_chain;
    o.key = key ? &*key : nullptr;
    o.log_input = log_input || script;
    int fd = ::open(args[1].c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + args[1]);
    FileSink sink(fd);
    tlog::RecordingInfo info = demo_info();
    info.rec = rec;
    const int64_t start_real = 1700000000000000000LL;
    tlog::Encoder enc(info, o, sink, 0, start_real);
    int64_t t = 0;
    if (!script) {
        std::ifstream in(args[0], std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        unsigned w = 80, h = 24;
        std::sscanf(size.c_str(), "%ux%u", &w, &h);
        enc.window(0, static_cast<uint16_t>(w), static_cast<uint16_t>(h));
        size_t chunk = std::stoul(chunk_s);
        int64_t step = std::stoll(step_s) * 1000000;
        for (size_t off = 0; off < data.size(); off += chunk) {
            enc.output(t, std::string_view(data).substr(off, chunk));
            t += step;
        }
        enc.finish(t, "exit");
    } else {
        std::ifstream in(args[0]);
        std::string line;
        std::string end = "exit";
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#') continue;
            if (line[0] == '+')
                t += std::stoll(line.substr(1)) * 1000000;
            else if (line.rfind("o ", 0) == 0)
                enc.output(t, unhex(line.substr(2)));
            else if (line.rfind("i ", 0) == 0)
                enc.input(t, unhex(line.substr(2)));
            else if (line.rfind("w ", 0) == 0) {
                unsigned w = 0, h = 0;
                std::sscanf(line.c_str() + 2, "%ux%u", &w, &h);
                enc.window(t, static_cast<uint16_t>(w), static_cast<uint16_t>(h));
            } else if (line.rfind("flush", 0) == 0)
                enc.flush();
            else if (line.rfind("end ", 0) == 0)
                end = line.substr(4);
            else
                throw std::runtime_error("bad script line: " + line);
        }
        enc.finish(t, end);
    }
    ::close(fd);
    return 0;
}

struct DumpSink : tlog::EventSink {
    bool events = false, input = false;
    std::string buf;
    void event(const tlog::Event& ev) override {
        if (events) {
            static const char* names[] = {"i", "o", "w"};
            buf += std::to_string(ev.pos_ms) + " " + names[static_cast<int>(ev.type)] + " ";
            if (ev.type == tlog::Event::Type::Window) {
                buf += std::to_string(ev.width) + "x" + std::to_string(ev.height);
            } else {
                static const char hex[] = "0123456789abcdef";
                for (unsigned char c : ev.data) {
                    buf.push_back(hex[c >> 4]);
                    buf.push_back(hex[c & 15]);
                }
            }
            buf.push_back('\n');
        } else if ((ev.type == tlog::Event::Type::Input) == input && ev.type != tlog::Event::Type::Window) {
            buf.append(ev.data);
        }
        if (buf.size() > (1 << 20)) drain();
    }
    void gap(uint64_t a, uint64_t b) override { std::cerr << "gap: messages " << a << ".." << b << " missing\n"; }
    void problem(const tlog::Problem& p) override { std::cerr << "problem: " << p.str() << "\n"; }
    void drain() {
        fwrite(buf.data(), 1, buf.size(), stdout);
        buf.clear();
    }
};

int decode(std::vector<std::string> args, bool verify_only) {
    tlog::ReadOptions ro;
    ro.rec = opt(args, "--rec");
    std::string keyfile = opt(args, "--key");
    ro.decode.lax = flag(args, "--lax");
    DumpSink sink;
    sink.events = flag(args, "--events");
    sink.input = flag(args, "--input");
    if (args.size() != 1) throw std::runtime_error("usage: decode|verify LOG [options]");
    tlog::integrity::Keyring keys;
    if (!keyfile.empty()) keys.add(tlog::integrity::load_key_file(keyfile));
    ro.decode.keys = &keys;
    tlog::IntegrityReport r = tlog::decode_file(args[0], ro, sink);
    if (!verify_only) sink.drain();
    fflush(stdout);
    std::cerr << "integrity: " << r.str() << "\n";
    if (verify_only) return r.verdict == tlog::IntegrityReport::Verdict::Intact ? 0 : 1;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << "usage: codec-tool encode-raw|encode-script|decode|verify ...\n";
        return 2;
    }
    std::string cmd = args[0];
    args.erase(args.begin());
    try {
        if (cmd == "encode-raw") return encode(args, false);
        if (cmd == "encode-script") return encode(args, true);
        if (cmd == "decode") return decode(args, false);
        if (cmd == "verify") return decode(args, true);
        std::cerr << "codec-tool: unknown command " << cmd << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "codec-tool: " << e.what() << "\n";
        return 1;
    }
}
