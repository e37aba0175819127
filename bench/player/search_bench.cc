// The search benchmark: libplay's search_screen against a brute-force
// reference (every row of every event rendered and compared with the same
// line's previous text) over one recording, with the same rule, so both
// report the same hits. Prints hits, the time to the first and to all
// hits, hits/s and events/s.
//
//   bench-player-search LOG REGEX
#include <chrono>
#include <cstdio>
#include <string>
#include <unordered_map>

#include "tlog/play/playback.h"
#include "tlog/play/recording_index.h"
#include "tlog/play/screen_search.h"

using namespace tlog::play;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s LOG REGEX\n", argv[0]);
        return 2;
    }
    std::string log = argv[1];
    Regex re(argv[2]);
    double t0 = now();
    RecordingIndex idx = build_index(log, IndexOptions{});
    std::printf("index build: %.2f s\n", now() - t0);
    {
        Playback pb(log, idx);
        uint64_t hits = 0;
        double start = now(), first = 0;
        search_screen(pb, re, 0, [&](const SearchHit&) {
            if (!hits++) first = now() - start;
            return true;
        });
        double all = now() - start;
        std::printf("search_screen: %llu hits, first after %.3f s, all after %.2f s, %.0f hits/s\n",
                    static_cast<unsigned long long>(hits), first, all, hits / all);
    }
    {
        Playback pb(log, idx);
        pb.rewind();
        TermModel& m = pb.model();
        std::unordered_map<uint64_t, std::string> before, render;
        uint64_t hits = 0, events = 0;
        double start = now(), first = 0;
        for (int r = 0; r < m.rows(); r++) before[m.line_id(r)] = m.row_text(r);
        while (auto t = pb.next_time()) {
            pb.advance_to(*t);
            events++;
            render.clear();
            for (int r = 0; r < m.rows(); r++) {
                std::string text = m.row_text(r);
                auto it = before.find(m.line_id(r));
                if ((it == before.end() ? !text.empty() : it->second != text) && re.search(text))
                    if (!hits++) first = now() - start;
                render[m.line_id(r)] = std::move(text);
            }
            std::swap(before, render);
        }
        double all = now() - start;
        std::printf("brute force:   %llu hits, first after %.3f s, all after %.2f s, %.0f hits/s (%llu events)\n",
                    static_cast<unsigned long long>(hits), first, all, hits / all,
                    static_cast<unsigned long long>(events));
    }
    return 0;
}
