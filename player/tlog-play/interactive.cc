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
        pb_.on_event = [this](const PlayEvent& ev) {
            if (ev.type == Event::Type::Input) add_input(ev.data);
        };
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
        // Scripts (no keys) and --persist (q is ignored) cannot leave an
        // end-of-recording state: they exit at the end, as tlog does.
        exit_at_end_ = !keys_ || o_.persist || o_.exit_at_end;
        // Started paused, a key is needed anyway: an auditor at work.
        interacted_ = o_.paused;
        status_on_ = o_.status;
        input_on_ = o_.show_input;
        last_icase_ = o_.ignore_case;
        last_fixed_ = o_.fixed_string;
        Terminal term(keys_, !o_.persist);
        term_ = &term;
        update_size();
        paused_ = o_.paused;
        pb_.advance_to(0);  // what the recording shows at its start, even paused
        if (!o_.go.empty()) {
            auto t = parse_time(o_.go);
            seek(t ? *t : end_time());
        }
        if (o_.speed < kMinSpeed || o_.speed > kMaxSpeed)
            say("speed " + speed_text(speed_) + ": the limit (x1/16 to x16)");
        anchor();
        int status = 0;
        stdin_open_ = keys_;
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
                    if ((!o_.follow || pb_.ended()) && !search_ && !stays_at_end()) {
                        pb_.advance_to(std::max(target, pb_.position()));
                        draw(true);
                        break;  // the end: tlog-play exits here too
                    }
                    // The end-of-recording state waits for keys; a search
                    // still running keeps the player at the end until it
                    // says where its hit is.
                    timeout = static_cast<int>(kFollowPollMs);
                } else {
                    cap_idle(*next);
                    target = clock(now);
                    if (*next <= target) {
                        pb_.advance_to(target);
                        dirty_ = true;
                        next = pb_.next_time();
                    }
                    // The status line's clock runs between events too.
                    if (status_on_ && next && *next > target) pb_.advance_to(target);
                    if (next && *next > target)
                        timeout = static_cast<int>(
                            std::min<double>(std::ceil(static_cast<double>(*next - target) / speed_), 1000.0));
                    else
                        timeout = 0;
                }
            }
            check_end();
            if (status_on_ && status_text() != status_shown_) dirty_ = true;
            if (status_on_ && !paused_ && !at_end_) timeout = timeout < 0 ? 250 : std::min(timeout, 250);
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
            int nfds = stdin_open_ ? 2 : 1;
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
            if (stdin_open_ && rc > 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                char buf[256];
                ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
                if (n > 0)
                    parser_.feed(std::string_view(buf, static_cast<size_t>(n)), keys);
                else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                    stdin_open_ = false;  // EOF: never poll it again
            } else if (rc == 0 && parser_.pending()) {
                parser_.timeout(keys);
            }
            if (handle(keys)) break;
        }
        // The last screen stays exactly as recorded: none of the player's
        // own lines are left on it.
        view_.clear_notice();
        view_.clear_prompt();
        view_.set_help({});
        status_on_ = input_on_ = false;
        draw(true);
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
                            " and cannot be resized: the screen is cut (Ctrl+arrows or H J K L pan)";
            // On the screen, short enough for 80 columns.
            say("the recording is " + std::to_string(want_cols_) + "x" + std::to_string(want_rows_) +
                ", the terminal " + std::to_string(term_cols_) + "x" + std::to_string(term_rows_) +
                ": Ctrl+arrows or H J K L pan");
        }
    }

    void draw(bool force) {
        (void)force;
        check_size();
        status_shown_ = status_on_ ? status_text() : std::string();
        view_.set_status(status_shown_);
        view_.set_input(input_on_ ? "input: " + input_tail() : std::string());
        clamp_origin();
        view_.set_origin(origin_row_, origin_col_);
        Terminal::write(view_.render(pb_.model()));
        last_draw_ = now_ms();
        dirty_ = false;
    }

    static std::string speed_text(double s) {
        char buf[32];
        if (s >= 1)
            std::snprintf(buf, sizeof buf, "x%g", s);
        else
            std::snprintf(buf, sizeof buf, "x1/%g", 1 / s);
        return buf;
    }

    // Whether the end of the recording is a state to seek back from or the
    // exit. It is the exit, as in tlog, for scripts: without a keyboard
    // (none, or at its end: nobody can press q), with --persist or
    // --exit-at-end, and while no key was pressed: a terminal driven by a
    // script (script(1) with stdin at its end keeps a terminal that never
    // sends a key) must not wait forever.
    bool stays_at_end() const { return !exit_at_end_ && stdin_open_ && interacted_; }

    // The recording has nothing more to play (follow: its end marker was
    // read): the end-of-recording state, left by seeking back.
    void check_end() {
        bool end = !pb_.next_time() && (!o_.follow || pb_.ended()) && !o_.stop_ms;
        if (end && !at_end_) {
            at_end_ = true;
            if (index_ready() && pb_.position() < end_time()) pb_.advance_to(end_time());
            if (stays_at_end()) say("end of recording: q quits, Home, Left or 0-9 seek back");
            dirty_ = true;
        } else if (!end && at_end_) {
            at_end_ = false;
            dirty_ = true;
        }
    }

    // Position / duration, percentage, speed, state, gaps, integrity,
    // user@host and recording id: what an auditor must know at any time.
    std::string status_text() const {
        const RecordingSummary& sum = idx_->summary;
        uint64_t pos = pb_.position();
        // Playback runs on the clock past the last event before it sees the end.
        if (index_ready() && !o_.follow) pos = std::min(pos, end_time());
        std::string s = format_ms(pos) + "/";
        if (index_ready()) {
            uint64_t end = end_time();
            s += format_ms(end) + " " + std::to_string(end ? std::min<uint64_t>(pos, end) * 100 / end : 100) + "%";
        } else {
            s += "? (indexing " + std::to_string(bg_->percent()) + "%)";
        }
        s += " " + speed_text(speed_);
        s += at_end_ ? " END" : paused_ ? " paused" : " playing";
        uint64_t gaps = std::max<uint64_t>(sum.gaps.size(), gaps_seen_);
        s += "  gaps " + std::to_string(gaps);
        s += std::string("  ") + (index_ready() ? IntegrityReport::name(sum.verdict) : "integrity not checked yet");
        s += "  " + (sum.user.empty() ? std::string("-") : sum.user) + "@" +
             (sum.host.empty() ? std::string("-") : sum.host);
        s += "  rec " + (sum.rec.empty() ? std::string("-") : sum.rec);
        const TermModel& m = pb_.model();
        if (m.rows() > term_rows_ || m.cols() > term_cols_)
            s += "  view row " + std::to_string(origin_row_ + 1) + " col " + std::to_string(origin_col_ + 1) + " of " +
                 std::to_string(m.cols()) + "x" + std::to_string(m.rows());
        return s;
    }

    // Recorded input as it would be typed: control keys as ^X. It is the
    // recorded user's bytes: the view keeps printable ASCII only.
    void add_input(const std::string& data) {
        for (unsigned char c : data) {
            if (c < 0x20 || c == 0x7f) {
                input_ += '^';
                input_ += static_cast<char>(c == 0x7f ? '?' : c + '@');
            } else {
                input_ += static_cast<char>(c);
            }
        }
        if (input_.size() > 1024) input_.erase(0, input_.size() - 512);
        if (input_on_) dirty_ = true;
    }
    std::string input_tail() const {
        size_t room = term_cols_ > 8 ? term_cols_ - 8u : 1u;
        return input_.size() > room ? input_.substr(input_.size() - room) : input_;
    }

    // The view over a recording larger than the terminal (or whose last
    // rows the status or input line cover): every cell can be brought into
    // view. A notice covers a row for a moment only: the view does not
    // move for it.
    int view_rows() const { return std::max(1, term_rows_ - view_.lasting_lines()); }
    void clamp_origin() {
        const TermModel& m = pb_.model();
        origin_row_ = std::clamp(origin_row_, 0, std::max(0, m.rows() - view_rows()));
        origin_col_ = std::clamp(origin_col_, 0, std::max(0, m.cols() - static_cast<int>(term_cols_)));
    }
    void pan(int drow, int dcol) {
        origin_row_ += drow * std::max(1, view_rows() / 2);
        origin_col_ += dcol * std::max(1, term_cols_ / 2);
        clamp_origin();
        const TermModel& m = pb_.model();
        say("view: rows " + std::to_string(origin_row_ + 1) + "-" +
            std::to_string(std::min<int>(m.rows(), origin_row_ + view_rows())) + ", columns " +
            std::to_string(origin_col_ + 1) + "-" + std::to_string(std::min<int>(m.cols(), origin_col_ + term_cols_)) +
            " of " + std::to_string(m.cols()) + "x" + std::to_string(m.rows()));
    }

    void seek(uint64_t ms) {
        // The input shown is what was typed shortly before the position:
        // the seek replays it (from the keyframe, or from where playback was).
        input_.clear();
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
        if (s < kMinSpeed || s > kMaxSpeed)
            say("speed " + speed_text(speed_) + ": the limit (x1/16 to x16)");
        else
            say("speed " + speed_text(speed_));
    }

    using Dir = BackgroundSearch::Direction;

    static char prompt_char(Dir d) { return d == Dir::Forward ? '/' : '?'; }

    // Starts a search beside playback (one at a time: a new one replaces a
    // running one). Forward finds the first hit after the current time,
    // backward the last hit before it; at a hit the search has just
    // landed on, the other rows hit at the same time come first.
    void search(const std::string& pattern, Dir dir, bool icase, bool fixed) {
        if (pattern.empty()) return;
        search_.reset();
        try {
            auto re = std::make_unique<Regex>(pattern, icase, fixed);
            bool same = last_hit_ && last_hit_->pos_ms == pb_.position() && pattern == last_search_ &&
                        icase == last_icase_ && fixed == last_fixed_;
            int row = same ? last_hit_->row : -1;
            last_search_ = pattern;
            last_icase_ = icase;
            last_fixed_ = fixed;
            search_shown_name_ =
                std::string(1, prompt_char(dir)) + pattern + prompt_char(dir) + (icase ? "I" : "") + (fixed ? "F" : "");
            search_ = std::make_unique<BackgroundSearch>(path_, *idx_, std::move(re), pb_.position(), dir, row);
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
        view_.notice("searching " + search_shown_name_ + " at " + format_ms(search_->at()) + " (ESC cancels)",
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
        const std::string& shown = search_shown_name_;
        try {
            if (auto hit = s->take()) {
                seek(hit->pos_ms);
                last_hit_ = SearchHit{hit->pos_ms, hit->row, {}};
                say(shown + " at " + format_ms(hit->pos_ms) + " row " + std::to_string(hit->row + 1));
            } else {
                say(shown + ": no match " + (s->direction() == Dir::Forward ? "after " : "before ") +
                    format_ms(s->from()));
            }
        } catch (const std::exception& e) {
            say(shown + ": " + e.what());
        }
    }

    void show_prompt() {
        view_.set_prompt(prompt_char(prompt_dir_) + prompt_,
                         std::string("   (TAB ignore case: ") + (prompt_icase_ ? "on" : "off") +
                             ", ^F fixed string: " + (prompt_fixed_ ? "on" : "off") + ")");
        dirty_ = true;
    }

    // The search prompt's keys.
    void prompt_key(const Key& k) {
        auto cmd = command_for(k, Binding::Where::Prompt);
        if (!cmd) {
            if (k.type == Key::Type::Char && k.ch >= 0x20 && k.ch < 0x7f) prompt_ += k.ch;
        } else {
            switch (*cmd) {
                case Command::PromptEnter:
                    prompting_ = false;
                    view_.clear_prompt();
                    search(prompt_, prompt_dir_, prompt_icase_, prompt_fixed_);
                    dirty_ = true;
                    return;
                case Command::PromptCancel:
                    prompting_ = false;
                    view_.clear_prompt();
                    dirty_ = true;
                    return;
                case Command::PromptErase:
                    if (!prompt_.empty()) prompt_.pop_back();
                    break;
                case Command::PromptIgnoreCase: prompt_icase_ = !prompt_icase_; break;
                case Command::PromptFixed: prompt_fixed_ = !prompt_fixed_; break;
                default: break;
            }
        }
        show_prompt();
    }

    void toggle_help() {
        if (view_.help_shown()) {
            view_.set_help({});
        } else {
            std::vector<std::string> lines = help_lines();
            lines.emplace_back("Any key closes this help.");
            view_.set_help(std::move(lines));
        }
        dirty_ = true;
    }

    // Returns true to quit.
    bool handle(const std::vector<Key>& keys) {
        using T = Key::Type;
        for (const Key& k : keys) {
            if (view_.help_shown()) {
                toggle_help();  // any key closes it, and does nothing else
                continue;
            }
            if (prompting_) {
                prompt_key(k);
                continue;
            }
            auto cmd = command_for(k, Binding::Where::Player);
            // Only a key that does something makes the end a place to stay:
            // the EOF character script(1) sends when its input ends is none.
            if (cmd) interacted_ = true;
            // While a search runs, the quit keys stop it (not the player);
            // every other key works as usual.
            if (search_ && (cmd == Command::StopSearch || cmd == Command::Quit)) {
                cancel_search();
                continue;
            }
            // A typed time is digits, ':' and '.' in quick succession, then G.
            uint64_t now = now_ms();
            bool time_key = cmd == Command::Percent || cmd == Command::TimeSep || cmd == Command::GoEnd ||
                            (cmd == Command::Step && !typed_.empty());
            if (!time_key || now - typed_at_ > 3000 || (cmd == Command::GoEnd && k.type != T::Char)) typed_.clear();
            typed_at_ = now;
            if (cmd && run_command(*cmd, k)) return true;
        }
        return false;
    }

    // Returns true to quit.
    bool run_command(Command cmd, const Key& k) {
        int64_t step = 0;
        switch (cmd) {
            case Command::Back5s: step = -5000; break;
            case Command::Forward5s: step = 5000; break;
            case Command::Back1min: step = -60000; break;
            case Command::Forward1min: step = 60000; break;
            case Command::Start: seek(0); break;
            case Command::NormalSpeed: set_speed(1); break;
            case Command::Pause:
                paused_ = !paused_;
                anchor();
                if (paused_) say("paused at " + format_ms(pb_.position()));
                dirty_ = true;
                break;
            case Command::Faster: set_speed(speed_ * 2); break;
            case Command::Slower: set_speed(speed_ / 2); break;
            case Command::Step:
                if (!typed_.empty() && typed_.find('.') == std::string::npos && typed_.back() != ':') {
                    typed_ += '.';  // a fraction of a typed time
                    break;
                }
                typed_.clear();
                if (paused_) {
                    pb_.step();
                    dirty_ = true;
                }
                break;
            case Command::GoEnd: {
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
            case Command::TimeSep: typed_ += ':'; break;
            case Command::Percent: {
                char c = k.ch;
                typed_ += c;
                if (!need_index()) break;
                seek(end_time() * static_cast<uint64_t>(c - '0') / 10);
                say(std::string(1, c) + "0%: " + format_ms(pb_.position()));
                break;
            }
            case Command::SearchForward:
            case Command::SearchBackward:
                prompting_ = true;
                prompt_dir_ = cmd == Command::SearchForward ? Dir::Forward : Dir::Backward;
                prompt_.clear();
                prompt_icase_ = last_icase_;
                prompt_fixed_ = last_fixed_;
                show_prompt();
                break;
            case Command::NextHit: search(last_search_, Dir::Forward, last_icase_, last_fixed_); break;
            case Command::PreviousHit: search(last_search_, Dir::Backward, last_icase_, last_fixed_); break;
            case Command::Status:
                status_on_ = !status_on_;
                dirty_ = true;
                break;
            case Command::Input:
                input_on_ = !input_on_;
                say(input_on_ ? "recorded input shown (it can hold passwords)" : "recorded input hidden");
                break;
            case Command::Help: toggle_help(); break;
            case Command::PanLeft: pan(0, -1); break;
            case Command::PanRight: pan(0, 1); break;
            case Command::PanUp: pan(-1, 0); break;
            case Command::PanDown: pan(1, 0); break;
            case Command::Quit:
                if (!o_.persist) return true;
                break;
            default: break;
        }
        if (step < 0 && !need_index()) return false;
        if (step) {
            seek_by(step);
            say(format_ms(pb_.position()));
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
    // The search flags: the prompt's (toggled there) and the last search's
    // (n and N reuse them); -I and -F set them at the start.
    bool prompt_icase_ = false, prompt_fixed_ = false, last_icase_ = false, last_fixed_ = false;
    // Where the last search landed: n and N go on from its row.
    std::optional<SearchHit> last_hit_;
    bool exit_at_end_ = true, at_end_ = false, interacted_ = false, stdin_open_ = false;
    bool status_on_ = false, input_on_ = false;
    std::string status_shown_, input_;
    int origin_row_ = 0, origin_col_ = 0;
    // Declared after the index it reads and destroyed (cancelled, joined)
    // before it.
    std::unique_ptr<BackgroundSearch> search_;
    std::string search_shown_name_;
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
