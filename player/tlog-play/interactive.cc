#include "interactive.h"

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>
#include <thread>

#include "background_index.h"
#include "background_search.h"
#include "keys.h"
#include "screen_view.h"
#include "terminal.h"
#include "tlog/error.h"
#include "tlog/play/convert.h"
#include "tlog/play/playback.h"
#include "tlog/play/screen_search.h"

namespace tlog::play::cli {

namespace {

uint64_t now_ms() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

constexpr uint64_t kFrameMs = 33;  // redraw at most ~30 times a second
constexpr uint64_t kNoticeMs = 3000;
constexpr uint64_t kFollowPollMs = 250;
constexpr double kMinSpeed = 1.0 / 16, kMaxSpeed = 16;

class Player {
public:
    Player(const Options& o, const std::string& path, const RecordingIndex& idx, const CacheOptions* background)
        : o_(o), path_(path), idx_(&idx), pb_(path, idx, o.follow), speed_(std::clamp(o.speed, kMinSpeed, kMaxSpeed)) {
        if (background) bg_ = std::make_unique<BackgroundIndex>(path, *background);
        pb_.on_gap = [this](const Gap& g) {
            gaps_seen_++;
            say("gap: messages " + std::to_string(g.first_id) + ".." + std::to_string(g.last_id) + " missing at " +
                format_ms(g.pos_ms));
        };
        pb_.on_withheld = [this](const WithheldNotice& n) {
            say(withheld::describe(n.input, n.span) + " at " + format_ms(n.span.pos_ms) +
                (n.span.reason.empty() ? "" : " (" + n.span.reason + ")"));
        };
    }

    int run() {
        keys_ = ::isatty(STDIN_FILENO);
        Terminal term(keys_, !o_.persist);
        term_ = &term;
        update_size();
        paused_ = o_.paused;
        pb_.advance_to(0);  // what the recording shows at its start, even paused
        if (!o_.go.empty()) {
            auto t = parse_time(o_.go);
            seek(t ? *t : end_time());
        }
        anchor();
        int status = 0;
        bool stdin_open = keys_;
        for (;;) {
            uint64_t now = now_ms();
            if (view_.tick(now)) dirty_ = true;
            if (bg_ && bg_->done() && !index_ready()) {
                try {
                    full_ = std::make_unique<RecordingIndex>(bg_->take());
                } catch (const InputError& e) {
                    failure_ =
                        std::string(e.what()) + "\ntlog-play: the recording is damaged there; --lax plays through it";
                    status = 1;
                    break;
                } catch (const std::exception& e) {
                    failure_ = e.what();
                    status = 1;
                    break;
                }
                bg_.reset();
                idx_ = full_.get();
                pb_.set_index(*full_);
                say("index ready: " + format_ms(end_time()));
            }
            if (search_) {
                if (search_->done())
                    finish_search();
                else
                    show_search_progress(now);
            }
            if (resize_asked_at_ && now - resize_asked_at_ >= 300) {
                check_size_result();
                dirty_ = true;
            }
            int timeout = -1;
            if (!paused_) {
                uint64_t target = clock(now);
                auto next = pb_.next_time();
                if (o_.stop_ms && (!next || *next > *o_.stop_ms)) {
                    // Strict mode: what precedes the gap was played; stop
                    // there with its error.
                    draw(true);
                    failure_ = o_.stop_error;
                    status = 1;
                    break;
                }
                if (!next) {
                    if ((!o_.follow || pb_.ended()) && !search_) {
                        pb_.advance_to(std::max(target, pb_.position()));
                        draw(true);
                        break;  // the end: tlog-play exits here too
                    }
                    // A search still running keeps the player at the end
                    // until it says where its hit is.
                    timeout = static_cast<int>(kFollowPollMs);
                } else {
                    cap_idle(*next);
                    target = clock(now);
                    if (*next <= target) {
                        pb_.advance_to(target);
                        dirty_ = true;
                        next = pb_.next_time();
                    }
                    if (next && *next > target)
                        timeout = static_cast<int>(
                            std::min<double>(std::ceil(static_cast<double>(*next - target) / speed_), 1000.0));
                    else
                        timeout = 0;
                }
            }
            if (dirty_) {
                if (now - last_draw_ >= kFrameMs || timeout < 0 || timeout > static_cast<int>(kFrameMs))
                    draw(false);
                else
                    timeout = timeout < 0 ? static_cast<int>(kFrameMs) : std::min(timeout, static_cast<int>(kFrameMs));
            }
            if (parser_.pending()) timeout = timeout < 0 ? 50 : std::min(timeout, 50);
            // Notices expire and resize answers come without input: wake
            // now and then (twice a second is not spinning).
            timeout = timeout < 0 ? 500 : std::min(timeout, 500);
            if (search_) timeout = std::min(timeout, 50);  // notice its end soon
            struct pollfd fds[2] = {{term.signal_fd(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
            int nfds = stdin_open ? 2 : 1;
            int rc = ::poll(fds, static_cast<nfds_t>(nfds), timeout);
            if (rc < 0 && errno != EINTR) break;
            if (rc > 0 && (fds[0].revents & POLLIN)) {
                bool resized = false, suspend = false;
                if (term.take_signals(resized, suspend)) {
                    status = 1;
                    break;
                }
                if (suspend) {
                    term.suspend();
                    view_.invalidate();
                    anchor();  // the stop does not count as playback time
                    resized = true;
                }
                if (resized) update_size();
            }
            std::vector<Key> keys;
            if (stdin_open && rc > 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                char buf[256];
                ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
                if (n > 0)
                    parser_.feed(std::string_view(buf, static_cast<size_t>(n)), keys);
                else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                    stdin_open = false;  // EOF: never poll it again
            } else if (rc == 0 && parser_.pending()) {
                parser_.timeout(keys);
            }
            if (handle(keys)) break;
        }
        search_.reset();  // stops a search still running
        term.restore();
        term_ = nullptr;
        bg_.reset();  // stops a build still running
        if (!failure_.empty()) std::fprintf(stderr, "tlog-play: %s\n", failure_.c_str());
        if (size_notice_) std::fprintf(stderr, "tlog-play: %s\n", size_message_.c_str());
        if (gaps_seen_)
            std::fprintf(stderr, "tlog-play: played through %llu gap(s) in the recording\n",
                         static_cast<unsigned long long>(gaps_seen_));
        return status;
    }

private:
    // Recording time now, from the anchor.
    uint64_t clock(uint64_t now) const {
        return anchor_pos_ + static_cast<uint64_t>(static_cast<double>(now - anchor_real_) * speed_);
    }
    void anchor() {
        anchor_real_ = now_ms();
        anchor_pos_ = pb_.position();
    }
    // --idle-limit: a pause longer than the limit is played as the limit.
    void cap_idle(uint64_t next) {
        if (!o_.idle_limit_ms || capped_for_ == next) return;
        uint64_t pos = pb_.position();
        if (next > pos + o_.idle_limit_ms) {
            anchor_pos_ += next - pos - o_.idle_limit_ms;
            capped_for_ = next;
        }
    }
    uint64_t end_time() const { return idx_->summary.duration_ms; }
    bool index_ready() const { return !bg_; }
    // Seeks that need the whole index (its length, or keyframes behind the
    // current position) wait for the background build.
    bool need_index() {
        if (index_ready()) return true;
        say("indexing the recording: " + std::to_string(bg_->percent()) +
            "% (seeking back and by percentage once it is done)");
        return false;
    }

    void say(const std::string& s) {
        said_at_ = now_ms();
        view_.notice(s, said_at_ + kNoticeMs);
        dirty_ = true;
    }

    void update_size() {
        uint16_t r = 0, c = 0;
        if (!Terminal::size(r, c)) {
            r = pb_.model().rows();
            c = pb_.model().cols();
        }
        term_rows_ = r;
        term_cols_ = c;
        view_.set_size(r, c);
        dirty_ = true;
    }

    // The recording's size: ask the terminal for it once per size; if the
    // terminal does not follow, say so once.
    void check_size() {
        uint16_t rr = pb_.model().rows(), rc = pb_.model().cols();
        if (rr == want_rows_ && rc == want_cols_) return;
        want_rows_ = rr;
        want_cols_ = rc;
        if (rr == term_rows_ && rc == term_cols_) return;
        if (term_) term_->request_size(rr, rc);
        resize_asked_at_ = now_ms();
    }
    void check_size_result() {
        if (!resize_asked_at_ || now_ms() - resize_asked_at_ < 300) return;
        resize_asked_at_ = 0;
        update_size();
        if ((term_rows_ < want_rows_ || term_cols_ < want_cols_) && !size_notice_) {
            size_notice_ = true;
            size_message_ = "the recording is " + std::to_string(want_cols_) + "x" + std::to_string(want_rows_) +
                            ", this terminal is " + std::to_string(term_cols_) + "x" + std::to_string(term_rows_) +
                            " and cannot be resized: the screen is cut";
            say(size_message_);
        }
    }

    void draw(bool force) {
        (void)force;
        check_size();
        Terminal::write(view_.render(pb_.model()));
        last_draw_ = now_ms();
        dirty_ = false;
    }

    void seek(uint64_t ms) {
        uint64_t end = end_time();
        if (!o_.follow && index_ready() && ms > end) ms = end;
        pb_.seek(ms);
        anchor();
        capped_for_ = 0;
        dirty_ = true;
    }
    void seek_by(int64_t delta) {
        int64_t t = static_cast<int64_t>(pb_.position()) + delta;
        seek(t < 0 ? 0 : static_cast<uint64_t>(t));
    }

    void set_speed(double s) {
        anchor();
        speed_ = std::clamp(s, kMinSpeed, kMaxSpeed);
        char buf[64];
        if (speed_ >= 1)
            std::snprintf(buf, sizeof buf, "speed x%g", speed_);
        else
            std::snprintf(buf, sizeof buf, "speed x1/%g", 1 / speed_);
        say(buf);
    }

    using Dir = BackgroundSearch::Direction;

    static char prompt_char(Dir d) { return d == Dir::Forward ? '/' : '?'; }

    // Starts a search beside playback (one at a time: a new one replaces a
    // running one). Forward finds the first hit after the current time,
    // backward the last hit before it.
    void search(const std::string& pattern, Dir dir) {
        if (pattern.empty()) return;
        last_search_ = pattern;
        search_.reset();
        try {
            auto re = std::make_unique<Regex>(pattern, o_.ignore_case, o_.fixed_string);
            uint64_t from = dir == Dir::Forward ? pb_.position() + 1 : pb_.position();
            search_pattern_ = pattern;
            search_ = std::make_unique<BackgroundSearch>(path_, *idx_, std::move(re), from, dir);
            search_shown_ = 0;
            said_at_ = 0;
            show_search_progress(now_ms());
        } catch (const std::invalid_argument& e) {
            say(e.what());
        }
    }

    // The search's progress on the notice row; a notice said meanwhile
    // (a key's answer) stays readable for a while first.
    void show_search_progress(uint64_t now) {
        if (!search_ || now - search_shown_ < 250 || (said_at_ > search_shown_ && now - said_at_ < 1500)) return;
        search_shown_ = now;
        char c = prompt_char(search_->direction());
        view_.notice("searching " + std::string(1, c) + search_pattern_ + c + " at " + format_ms(search_->at()) +
                         " (ESC cancels)",
                     now + kNoticeMs);
        dirty_ = true;
    }

    void cancel_search() {
        if (!search_) return;
        search_.reset();
        say("search cancelled");
    }

    // The search thread finished: jump to its hit and say so.
    void finish_search() {
        std::unique_ptr<BackgroundSearch> s = std::move(search_);
        char c = prompt_char(s->direction());
        std::string shown = std::string(1, c) + search_pattern_ + c;
        try {
            if (auto hit = s->take()) {
                seek(hit->pos_ms);
                say(shown + " at " + format_ms(hit->pos_ms) + " row " + std::to_string(hit->row + 1));
            } else {
                say(shown + ": no match " + (s->direction() == Dir::Forward ? "after " : "before ") +
                    format_ms(s->from() ? s->from() - (s->direction() == Dir::Forward ? 1 : 0) : 0));
            }
        } catch (const std::exception& e) {
            say(shown + ": " + e.what());
        }
    }

    // Returns true to quit.
    bool handle(const std::vector<Key>& keys) {
        using T = Key::Type;
        for (const Key& k : keys) {
            if (prompting_) {
                if (k.type == T::Enter) {
                    prompting_ = false;
                    view_.clear_prompt();
                    search(prompt_, prompt_dir_);
                } else if (k.type == T::Escape || (k.type == T::Char && (k.ch == 3 || k.ch == 7))) {
                    prompting_ = false;
                    view_.clear_prompt();
                } else if (k.type == T::Backspace) {
                    if (!prompt_.empty()) prompt_.pop_back();
                    view_.set_prompt(prompt_char(prompt_dir_) + prompt_);
                } else if (k.type == T::Char && k.ch >= 0x20 && k.ch < 0x7f) {
                    prompt_ += k.ch;
                    view_.set_prompt(prompt_char(prompt_dir_) + prompt_);
                }
                dirty_ = true;
                continue;
            }
            // While a search runs, ESC, q and ^C stop it (not the player);
            // every other key works as usual.
            if (search_ && (k.type == T::Escape || (k.type == T::Char && (k.ch == 'q' || k.ch == 3)))) {
                cancel_search();
                continue;
            }
            int64_t step = 0;
            switch (k.type) {
                case T::Left: step = -5000; break;
                case T::Right: step = 5000; break;
                case T::ShiftLeft:
                case T::ShiftDown:
                case T::Down:
                case T::PageDown: step = -60000; break;
                case T::ShiftRight:
                case T::ShiftUp:
                case T::Up:
                case T::PageUp: step = 60000; break;
                case T::Home: seek(0); break;
                case T::End:
                    if (need_index()) seek(end_time());
                    break;
                case T::Backspace: set_speed(1); break;
                case T::Enter:
                case T::Escape:
                case T::Char: break;
            }
            if (k.type != T::Char) typed_.clear();
            if (step < 0 && !need_index()) continue;
            if (step) {
                seek_by(step);
                say(format_ms(pb_.position()));
            }
            if (k.type != T::Char) continue;
            char c = k.ch;
            // A typed time is digits, ':' and '.' in quick succession, then G.
            uint64_t now = now_ms();
            if ((c != 'G' && !((c >= '0' && c <= '9') || c == ':' || c == '.')) || now - typed_at_ > 3000)
                typed_.clear();
            typed_at_ = now;
            switch (c) {
                case ' ':
                case 'p':
                    paused_ = !paused_;
                    anchor();
                    if (paused_) say("paused at " + format_ms(pb_.position()));
                    break;
                case '}': set_speed(speed_ * 2); break;
                case '{': set_speed(speed_ / 2); break;
                case '.':
                    if (!typed_.empty() && typed_.find('.') == std::string::npos && typed_.back() != ':') {
                        typed_ += c;  // a fraction of a typed time
                        break;
                    }
                    typed_.clear();
                    if (paused_) {
                        pb_.step();
                        dirty_ = true;
                    }
                    break;
                case 'G': {
                    if (!need_index()) {
                        typed_.clear();
                        break;
                    }
                    std::optional<uint64_t> t;
                    try {
                        if (!typed_.empty()) t = parse_time(typed_);
                    } catch (const std::invalid_argument&) {
                        say("bad time: " + typed_);
                    }
                    typed_.clear();
                    seek(t ? *t : end_time());
                    say("at " + format_ms(pb_.position()));
                    break;
                }
                case ':': typed_ += c; break;
                case '/':
                case '?':
                    prompting_ = true;
                    prompt_dir_ = c == '/' ? Dir::Forward : Dir::Backward;
                    prompt_.clear();
                    view_.set_prompt(std::string(1, c));
                    dirty_ = true;
                    break;
                case 'n': search(last_search_, Dir::Forward); break;
                case 'N': search(last_search_, Dir::Backward); break;
                case 'q':
                case 3:  // ^C: the keyboard's interrupt, read as a key
                    if (!o_.persist) return true;
                    break;
                default:
                    if (c >= '0' && c <= '9') {
                        typed_ += c;
                        if (!need_index()) break;
                        seek(end_time() * static_cast<uint64_t>(c - '0') / 10);
                        say(std::string(1, c) + "0%: " + format_ms(pb_.position()));
                    }
                    break;
            }
        }
        return false;
    }

    const Options& o_;
    std::string path_;
    const RecordingIndex* idx_;
    std::unique_ptr<RecordingIndex> full_;
    std::unique_ptr<BackgroundIndex> bg_;
    std::string failure_;
    Playback pb_;
    ScreenView view_;
    KeyParser parser_;
    Terminal* term_ = nullptr;
    bool keys_ = false;
    double speed_;
    bool paused_ = false;
    bool dirty_ = true;
    uint64_t anchor_real_ = 0, anchor_pos_ = 0, capped_for_ = 0, last_draw_ = 0;
    uint16_t term_rows_ = 24, term_cols_ = 80, want_rows_ = 0, want_cols_ = 0;
    uint64_t resize_asked_at_ = 0;
    bool size_notice_ = false;
    std::string size_message_;
    uint64_t gaps_seen_ = 0;
    bool prompting_ = false;
    Dir prompt_dir_ = Dir::Forward;
    std::string prompt_, last_search_, typed_;
    // Declared after the index it reads and destroyed (cancelled, joined)
    // before it.
    std::unique_ptr<BackgroundSearch> search_;
    std::string search_pattern_;
    uint64_t search_shown_ = 0, said_at_ = 0;
    uint64_t typed_at_ = 0;
};

}  // namespace

int play_interactive(const Options& o, const std::string& path, const RecordingIndex& idx,
                     const CacheOptions* background) {
    Player p(o, path, idx, background);
    return p.run();
}

}  // namespace tlog::play::cli
