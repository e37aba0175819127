// tlog-server's web console: signs in (POST /api/v1/login), asks who the
// viewer is and what they may do (GET /api/v1/me), and shows one tab per
// thing they may use. Everything shown comes from recordings and audit
// trails that recorded users control: it is only ever put in the page as
// text (textContent, text nodes, attribute values), never as markup.
// No framework, no build step: a tab is a function that fills its pane.

const RIGHTS_OF_TAB = {
  sessions: ["search", "view"],
  holds: ["hold"],
  retention: ["purge"],
  access: ["manage"],
};
const TAB_TITLES = { sessions: "Sessions", holds: "Holds", retention: "Retention", access: "Access log" };

const state = { me: null, tab: null };

// ---- DOM ------------------------------------------------------------------

// el("td", {class: "data"}, "text", node...): strings become text nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "hidden") e.hidden = true;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  return add(e, ...children);
}

function $(id) {
  return document.getElementById(id);
}

function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

// Appends the children that are there (null, undefined, false: nothing),
// strings as text.
function add(node, ...children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function fill(node, ...children) {
  return add(clear(node), ...children);
}

function show(node, visible) {
  node.hidden = !visible;
}

function time(ms) {
  if (ms === null || ms === undefined) return "";
  const d = new Date(Number(ms));
  return isNaN(d) ? String(ms) : d.toISOString().replace(".000Z", "Z");
}

function duration(ms) {
  if (ms === null || ms === undefined) return "";
  let s = Math.round(Number(ms) / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
}

function table(headers, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
}

function errorLine(text) {
  return el("p", { class: "error", role: "alert" }, text);
}

function formValues(form) {
  const out = {};
  for (const input of form.querySelectorAll("input[name], select[name]")) {
    if (input.type === "checkbox") out[input.name] = input.checked;
    else if (input.value.trim() !== "") out[input.name] = input.value.trim();
  }
  return out;
}

function field(name, label, attrs) {
  return el("label", {}, label, el("input", Object.assign({ name, "data-field": name }, attrs || {})));
}

// ---- the API --------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message, headers) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

// Every request carries the session cookie (same origin only); a POST
// sends JSON, the only body type the server takes from a browser.
async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (method === "POST") {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body === undefined ? {} : body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "the server did not answer (" + e.message + ")");
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = JSON.parse(text).error || text;
    } catch (e) {
      // not JSON: the text as it is
    }
    if (res.status === 401 && path !== "/api/v1/login" && state.me) signedOut("Your session ended: sign in again.");
    throw new ApiError(res.status, message, res.headers);
  }
  return { text, headers: res.headers, json: () => JSON.parse(text) };
}

function lines(text) {
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? "?" + s : "";
}

function may(right) {
  return !!state.me && state.me.rights.includes(right);
}

// ---- signing in and out ---------------------------------------------------

function signInError(e) {
  if (e.status === 401) return "Sign-in failed: wrong user or password, or this account may not sign in now.";
  if (e.status === 429) {
    const after = e.headers && e.headers.get("Retry-After");
    return "Too many failed sign-ins: try again" + (after ? " in " + after + " seconds." : " later.");
  }
  if (e.status === 503) return "The server could not complete the sign-in now: " + e.message;
  return "Sign-in failed: " + (e.status ? e.status + " " : "") + e.message;
}

function showSignIn(message) {
  state.me = null;
  show($("app"), false);
  show($("who"), false);
  clear($("panes"));
  clear($("tabs"));
  show($("signin"), true);
  const err = $("signin-error");
  err.textContent = message || "";
  show(err, !!message);
  $("signin-password").value = "";
  $("signin-user").focus();
}

function signedOut(message) {
  showSignIn(message);
}

async function signIn(ev) {
  ev.preventDefault();
  const user = $("signin-user").value;
  const password = $("signin-password").value;
  const button = $("signin-submit");
  button.disabled = true;
  show($("signin-error"), false);
  try {
    await api("POST", "/api/v1/login", { user, password });
    $("signin-password").value = "";
    await start();
  } catch (e) {
    $("signin-password").value = "";
    $("signin-error").textContent = signInError(e);
    show($("signin-error"), true);
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  try {
    await api("POST", "/api/v1/logout", {});
  } catch (e) {
    // The cookie is cleared by the answer; a failure leaves it to expire.
  }
  showSignIn("");
  const n = $("notice");
  n.textContent = "Signed out.";
  show(n, true);
}

// ---- the frame: who, tabs -------------------------------------------------

async function start() {
  let me;
  try {
    me = (await api("GET", "/api/v1/me")).json();
  } catch (e) {
    showSignIn(e.status === 401 ? "" : "The server cannot say who you are: " + e.message);
    return;
  }
  state.me = me;
  show($("signin"), false);
  show($("notice"), false);
  $("whoami").textContent = "Signed in as " + me.viewer;
  show($("who"), true);
  const tabs = clear($("tabs"));
  const visible = Object.keys(RIGHTS_OF_TAB).filter((t) => RIGHTS_OF_TAB[t].some(may));
  for (const t of visible) {
    add(tabs, el("button", { type: "button", "data-tab": t, role: "tab", onclick: () => openTab(t) }, TAB_TITLES[t]));
  }
  show($("app"), true);
  if (visible.length === 0) {
    fill($("panes"), el("p", { id: "no-rights" },
      "The access rules give " + me.viewer + " no right over any recording."));
    return;
  }
  openTab(visible[0]);
}

function openTab(t) {
  state.tab = t;
  for (const b of $("tabs").querySelectorAll("button")) b.setAttribute("aria-selected", String(b.dataset.tab === t));
  const pane = el("section", { id: "tab-" + t });
  fill($("panes"), pane);
  ({ sessions: sessionsTab, holds: holdsTab, retention: retentionTab, access: accessTab })[t](pane);
}

// ---- sessions -------------------------------------------------------------

function sessionsTab(pane) {
  if (may("search")) {
    const results = el("div", { id: "sessions-results" });
    const form = el("form", { id: "sessions-form" },
      field("user", "User"), field("host", "Host"), field("group", "Group"), field("host_group", "Host group"),
      field("since", "Since", { placeholder: "2026-12-01T00:00:00Z" }),
      field("until", "Until", { placeholder: "2026-12-05T23:59:59Z" }),
      field("text", "Text on screen"),
      el("label", {}, "State", el("select", { name: "state" }, ["", "live", "ended", "interrupted"].map(
        (s) => el("option", { value: s }, s || "any")))),
      el("button", { type: "submit" }, "Search"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      searchSessions(results, formValues(form), null, []);
    });
    add(pane, el("h2", {}, "Sessions"), form, results);
    searchSessions(results, {}, null, []);
  }
  if (may("view")) {
    const form = el("form", { id: "open-form" }, field("rec", "Recording id", { required: true }), field("host", "Host"),
      el("button", { type: "submit" }, "Open"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const v = formValues(form);
      openRecording({ rec: v.rec, host: v.host || "" });
    });
    add(pane, el("h3", {}, "Open a recording by its id"), form);
  }
}

// `before`: the cursors of the pages before this one, for "Previous".
async function searchSessions(results, filters, cursor, before) {
  fill(results, el("p", { class: "muted" }, "Searching…"));
  let page;
  try {
    page = (await api("GET", "/api/v1/sessions" + query(Object.assign({ limit: 50, cursor }, filters)))).json();
  } catch (e) {
    fill(results, errorLine("Search failed: " + e.message));
    return;
  }
  const rows = page.sessions.map((s) => {
    const verdict = (s.integrity && s.integrity.verdict) || "";
    return el("tr", { "data-rec": s.rec, "data-host": s.host },
      el("td", { class: "data" }, s.host), el("td", { class: "data" }, s.user), el("td", {}, time(s.start_ms)),
      el("td", {}, time(s.end_ms)), el("td", {}, duration(s.duration_ms)), el("td", {}, s.state),
      el("td", { class: "verdict-" + verdict }, (s.integrity && s.integrity.label) || verdict),
      el("td", {}, may("view") ? el("button", { type: "button", class: "open", onclick: () => openRecording(s) }, "Open")
        : ""));
  });
  const pager = el("div", { class: "pager" },
    before.length ? el("button", { type: "button", id: "sessions-prev",
      onclick: () => searchSessions(results, filters, before[before.length - 1], before.slice(0, -1)) }, "Previous")
      : null,
    page.next_cursor ? el("button", { type: "button", id: "sessions-next",
      onclick: () => searchSessions(results, filters, page.next_cursor, before.concat([cursor])) }, "Next page")
      : null,
    el("span", { class: "muted", id: "sessions-count" }, page.sessions.length + " session(s) on this page"));
  fill(results, 
    page.sessions.length ? table(["Host", "User", "Start", "Last message", "Duration", "State", "Integrity", ""], rows)
      : el("p", { class: "muted" }, "No session matches."),
    pager);
}

// A recording: `s` is its row of the search ({rec, host, ...}) or just
// {rec, host} when opened by id.
function openRecording(s) {
  const pane = clear($("panes").firstChild);
  const hostq = s.host ? { host: s.host } : {};
  const base = "/api/v1/sessions/" + encodeURIComponent(s.rec);
  add(pane, el("button", { type: "button", id: "back", onclick: () => openTab("sessions") }, "← Sessions"),
    el("h2", {}, "Recording"));
  const keys = ["rec", "host", "user", "term", "session", "start_ms", "end_ms", "duration_ms", "messages", "bytes",
    "gaps", "state", "service", "tty", "rhost", "ses", "failed_auth", "groups"];
  const details = el("dl", { class: "details", id: "rec-details" });
  for (const k of keys) {
    if (!(k in s)) continue;
    let v = s[k];
    if (k === "start_ms" || k === "end_ms") v = time(v) + " (" + v + ")";
    else if (k === "duration_ms") v = duration(v);
    else if (Array.isArray(v)) v = v.join(", ");
    else if (v === null) v = "";
    add(details, el("dt", {}, k), el("dd", {}, String(v)));
  }
  if (s.integrity) add(details, el("dt", {}, "integrity (index)"), el("dd", {}, s.integrity.label || s.integrity.verdict));
  add(pane, details);

  // The player, the audit trail beside it.
  let player = null;
  let trail = null;
  if (may("view")) {
    player = new Player(base, hostq);
    trail = auditTrail(player);
    add(pane, el("section", { class: "block", id: "play" }, el("h3", {}, "Play"),
      el("div", { class: "play-layout" }, player.node,
        el("div", { class: "trail-box" }, el("h3", {}, "Audit trail"), trail.node))));
    player.seek(0);
  }

  // Integrity now, export, hold.
  const verifyOut = el("div", { id: "verify-result" });
  const actions = el("div", { class: "pager" },
    el("button", { type: "button", id: "verify", onclick: () => verifyRecording(base, hostq, verifyOut) }, "Verify now"),
    may("export") ? el("a", { id: "export", href: base + "/export" + query(hostq), download: "" }, "Export evidence (tar)")
      : null);
  add(pane, el("section", { class: "block" }, actions, verifyOut));
  if (may("hold")) {
    const out = el("div", { id: "hold-result" });
    const form = el("form", { id: "hold-rec-form" }, field("reason", "Reason for a legal hold", { required: true }),
      el("button", { type: "submit" }, "Hold this recording"));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { rec: s.rec, reason: formValues(form).reason };
      if (s.host) body.host = s.host;
      try {
        const r = (await api("POST", "/api/v1/holds", body)).json();
        fill(out, el("p", { class: "ok" }, "Hold " + r.id + " set."));
      } catch (e) {
        fill(out, errorLine("Hold failed: " + e.message));
      }
    });
    add(pane, el("section", { class: "block" }, el("h3", {}, "Legal hold"), form, out));
  }

  // Text seen on screen.
  const textOut = el("div", { id: "text-result" });
  const textForm = el("form", { id: "text-form" }, field("q", "Text seen on screen", { required: true }),
    el("button", { type: "submit" }, "Find"));
  textForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clear(textOut);
    try {
      const r = (await api("GET", base + "/text" + query(Object.assign({ q: formValues(textForm).q }, hostq)))).json();
      add(textOut, r.hits.length
        ? table(["Position", "Row", "Text"], r.hits.map((h) => el("tr", {}, el("td", {}, player
          ? el("button", { type: "button", class: "seek", "data-pos": h.pos_ms, onclick: () => player.seek(h.pos_ms) },
            duration(h.pos_ms))
          : duration(h.pos_ms)),
          el("td", {}, h.row), el("td", { class: "data" }, h.text))))
        : el("p", { class: "muted" }, "Not seen on screen."),
      r.more ? el("p", { class: "muted" }, "More hits than shown.") : null);
    } catch (e) {
      add(textOut, errorLine(e.status === 409 ? "Not indexed yet: try again shortly." : "Search failed: " + e.message));
    }
  });
  add(pane, el("section", { class: "block" }, el("h3", {}, "Text on screen"), textForm, textOut));

  // Audit events.
  const auditOut = el("div", { id: "audit-result" });
  add(pane, el("section", { class: "block" }, el("h3", {}, "Audit events"), auditOut));
  const audit = { text: null, busy: false, again: false };
  const readAudit = () => loadAudit(base, auditOut, audit, trail ? (events) => showTrail(s, events, player, trail) : null);
  readAudit();
  if (player) {
    // While following, the events stored meanwhile (shipped apart from the
    // recording, with no screen change to wait for) are read again every
    // few seconds, and once more at the end.
    let readAt = performance.now();
    player.onPoll((ended) => {
      const now = performance.now();
      if (!ended && now - readAt < FOLLOW_AUDIT_MS) return;
      readAt = now;
      readAudit();
    });
  }
}

// The trail needs the recording's start: its row of the search, or (opened
// by id) what the frames' first answer says.
async function showTrail(s, events, player, trail) {
  let start = s.start_ms === undefined || s.start_ms === null ? null : Number(s.start_ms);
  if (start === null) start = await player.ready;
  trail.show(events, start);
}

async function verifyRecording(base, hostq, out) {
  fill(out, el("p", { class: "muted" }, "Verifying…"));
  try {
    const r = (await api("GET", base + "/verify" + query(hostq))).json();
    fill(out, el("p", { class: r.intact ? "ok" : "error", id: "verify-verdict" },
      (r.intact ? "Intact: " : "Not intact: ") + r.label + " (" + r.messages + " messages, host " + r.host + ")"),
    r.checkpoint ? el("p", {}, "Checkpoint " + r.checkpoint.seq + (r.checkpoint.covered ? " covers it" : "")) : null,
    r.problems && r.problems.length ? el("ul", {}, r.problems.map((p) => el("li", { class: "data" }, p))) : null);
  } catch (e) {
    fill(out, errorLine("Verify failed: " + e.message));
  }
}

// An event's fields as text, one "name: value" a line (strings as they
// are, so that what was logged is read as it was logged).
function fields(obj) {
  return Object.entries(obj).map(([k, v]) => k + ": " + (typeof v === "string" ? v : JSON.stringify(v))).join("\n");
}

// `onEvents`: also given the events read (the player's trail). `last`
// ({text, busy, again}) is this recording's: one read out at a time (one
// asked meanwhile is made after it), and an answer the same as the last
// one changes nothing in the page.
async function loadAudit(base, out, last, onEvents) {
  if (last.busy) {
    last.again = true;
    return;
  }
  const limit = 1000;
  let events;
  let more;
  last.busy = true;
  try {
    const r = await api("GET", base + "/audit" + query({ limit }));
    if (r.text === last.text) return;
    last.text = r.text;
    events = lines(r.text);
    more = r.headers.get("Tlog-Next-Cursor");
  } catch (e) {
    last.text = null;
    fill(out, errorLine("Audit events: " + e.message));
    return;
  } finally {
    last.busy = false;
    if (last.again) {
      last.again = false;
      setTimeout(() => loadAudit(base, out, last, onEvents), 0);
    }
  }
  if (onEvents) onEvents(events);
  if (!events.length) {
    fill(out, el("p", { class: "muted" }, "No audit event stored for this recording."));
    return;
  }
  const rows = events.map((ev) => {
    const before = ev.before_session;
    const e = before ? before.event || {} : ev;
    return el("tr", {},
      el("td", {}, before ? (before.time || "") : (e.time || "")),
      el("td", { class: "data" }, before ? "failed before the session" : (e.type || "")),
      el("td", { class: "data" }, fields(before ? before : e)));
  });
  fill(out, table(["Time", "Type", "Event"], rows),
    more ? el("p", { class: "muted" }, "The first " + limit + " events.") : null);
}

// ---- the player -----------------------------------------------------------

// The recording played in the page from GET .../frames: the server replays
// it through its terminal model and sends each row as runs of styled text
// ({t, w} and the pen's non-default members); the page only makes spans of
// them (text nodes, colours through the CSSOM), so nothing the recording
// holds is ever interpreted here.
const PLAYER_WINDOW_MS = 30000; // recording time fetched per request
const PLAYER_TICK_MS = 50;
// Following a session still running: one .../frames request this often
// (each replays from the nearest keyframe on the server), over the
// widest window the server takes (frames.cc's kMaxWindowMs) so that a
// long pause in the session is crossed in one request, at the widest
// interval: the frames are drawn at once, so those between are work only.
const FOLLOW_POLL_MS = 1000;
const FOLLOW_WINDOW_MS = 600000;
const FOLLOW_INTERVAL_MS = 10000;
const FOLLOW_AUDIT_MS = 3000; // the audit trail re-read this often while following
const IDLE_LIMIT_MS = 2000; // tlog-play's --idle-limit: longer pauses played as this
const SPEEDS = [0.25, 0.5, 1, 2, 4, 8, 16];
const HEX_COLOR = /^#[0-9a-f]{6}$/;

// The xterm palette beyond the 16 colours the style sheet names (fg0..fg15).
function paletteColor(n) {
  if (n < 232) {
    const v = [0, 95, 135, 175, 215, 255];
    const i = n - 16;
    const hex = (x) => x.toString(16).padStart(2, "0");
    return "#" + hex(v[Math.floor(i / 36)]) + hex(v[Math.floor(i / 6) % 6]) + hex(v[i % 6]);
  }
  const g = (8 + (n - 232) * 10).toString(16).padStart(2, "0");
  return "#" + g + g + g;
}

// A colour of a run on a span: a class for the 16 base colours, the style
// otherwise; anything else (never sent) is left at the default.
function setColor(span, which, c) {
  if (Number.isInteger(c) && c >= 0 && c < 16) span.classList.add(which + c);
  else if (Number.isInteger(c) && c >= 16 && c < 256) span.style[which === "fg" ? "color" : "backgroundColor"] = paletteColor(c);
  else if (typeof c === "string" && HEX_COLOR.test(c)) span.style[which === "fg" ? "color" : "backgroundColor"] = c;
}

function runSpan(r) {
  const span = el("span", {}, String(r.t));
  let fg = r.fg;
  let bg = r.bg;
  if (r.r) {
    // Inverse: the colours swapped, a default one becoming the other default.
    [fg, bg] = [bg === undefined ? "default-bg" : bg, fg === undefined ? "default-fg" : fg];
  }
  if (fg === "default-bg") span.classList.add("fg-inverse");
  else if (fg !== undefined) setColor(span, "fg", fg);
  if (bg === "default-fg") span.classList.add("bg-inverse");
  else if (bg !== undefined) setColor(span, "bg", bg);
  for (const [k, cls] of [["b", "bold"], ["d", "dim"], ["i", "italic"], ["u", "underline"], ["uu", "underline"],
    ["k", "blink"], ["h", "invisible"], ["s", "strike"], ["o", "overline"]]) {
    if (r[k] === true) span.classList.add(cls);
  }
  return span;
}

// The last stored position a frames answer's first line gives (null: unknown).
function storedEnd(head) {
  return head.end_ms === null || head.end_ms === undefined ? null : Number(head.end_ms);
}

function clock(ms) {
  const s = Math.max(0, Math.floor(Number(ms) / 1000));
  return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
}

class Player {
  constructor(base, hostq) {
    this.base = base;
    this.hostq = hostq;
    this.pos = 0; // ms from the recording's start shown
    this.total = null; // the last position stored
    this.playing = false;
    this.speed = 1;
    this.idleLimit = false;
    this.win = null; // the window being played: {from, until, frames, i, next}
    this.ahead = null; // the next window's request (a promise), once asked
    this.gen = 0; // seeks and follows begun: answers to an older one are dropped
    this.timer = null;
    this.listeners = [];
    this.pollListeners = [];
    this.live = false; // following the session as it is stored
    this.polling = false; // a follow poll is out (never more than one)
    this.pollTimer = null;
    this.drawn = []; // each row's runs as drawn (JSON), so a row the same again is left alone
    this.cursor = { row: 0, col: 0, visible: true };
    // The recording's start (wall clock, ms) once the first answer came
    // (null: unknown or not answered).
    this.ready = new Promise((resolve) => { this.resolveReady = resolve; });

    this.screen = el("div", { class: "term", id: "player-screen", role: "img", "aria-label": "The recorded screen" });
    this.cursorBox = el("div", { class: "term-cursor", id: "player-cursor" });
    this.playButton = el("button", { type: "button", id: "player-play", onclick: () => this.toggle() }, "Play");
    this.speedSelect = el("select", { id: "player-speed", "aria-label": "Speed" },
      SPEEDS.map((v) => el("option", { value: v, selected: v === 1 }, v + "×")));
    this.speedSelect.addEventListener("change", () => { this.speed = Number(this.speedSelect.value); });
    this.idleBox = el("input", { type: "checkbox", id: "player-idle-limit" });
    this.idleBox.addEventListener("change", () => { this.idleLimit = this.idleBox.checked; });
    this.slider = el("input", { type: "range", id: "player-slider", min: 0, max: 0, step: 100, value: 0,
      "aria-label": "Position" });
    this.slider.addEventListener("change", () => this.seek(Number(this.slider.value)));
    this.timeText = el("span", { id: "player-time", class: "data" }, "00:00");
    this.status = el("span", { id: "player-status", class: "muted" });
    // Shown while the recording has no end stored.
    this.liveButton = el("button", { type: "button", id: "player-live", hidden: true, "aria-pressed": "false",
      title: "Go to the newest screen and follow the session", onclick: () => this.follow() }, "Live");
    this.node = el("div", { class: "player", id: "player", tabindex: 0 },
      el("div", { class: "term-box" }, this.screen, this.cursorBox),
      el("div", { class: "pager" }, this.playButton, this.liveButton, this.speedSelect, this.slider, this.timeText,
        el("label", { class: "inline" }, el("span", {}, this.idleBox, " Idle limit (pauses over 2 s shown as 2 s)")),
        this.status));
    this.node.addEventListener("keydown", (ev) => {
      if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement) return;
      if (ev.key === " ") this.toggle();
      else if (ev.key === "ArrowLeft") this.seek(Math.max(0, this.pos - 5000));
      else if (ev.key === "ArrowRight") this.seek(this.pos + 5000);
      else return;
      ev.preventDefault();
    });
  }

  // Called with the position whenever it changes (the audit trail).
  onPosition(fn) {
    this.listeners.push(fn);
  }

  // Called after each answer while following, with whether the session ended.
  onPoll(fn) {
    this.pollListeners.push(fn);
  }

  request(from, span, interval) {
    const until = from + (span || PLAYER_WINDOW_MS);
    return api("GET", this.base + "/frames" + query(Object.assign({ from, until, interval }, this.hostq)))
      .then((r) => {
        const l = lines(r.text);
        const tail = l.length > 1 ? l[l.length - 1] : { next: null };
        return { head: l[0], frames: l.slice(1, -1), next: tail.next, from, until: tail.next === null ? null : tail.next };
      });
  }

  // The screen at `t`, and playing goes on from there if it was playing.
  async seek(t) {
    this.stopFollowing();
    const gen = ++this.gen;
    if (this.total !== null) t = Math.min(t, this.total);
    t = Math.max(0, Math.round(t));
    this.status.textContent = "Loading…";
    this.node.dataset.state = "loading";
    let w;
    try {
      w = await this.request(t);
    } catch (e) {
      if (gen !== this.gen) return;
      this.pause();
      this.status.textContent = e.status === 409 ? "Not indexed yet: try again shortly." : "Cannot play: " + e.message;
      this.node.dataset.state = "error";
      this.resolveReady(null);
      return;
    }
    if (gen !== this.gen) return;
    this.resolveReady(Number.isInteger(w.head.start_ms) ? w.head.start_ms : null);
    this.total = storedEnd(w.head);
    this.slider.max = this.total === null ? 0 : this.total;
    this.liveButton.hidden = w.head.ended !== false;
    this.drawScreen(w.head.rows, w.head.cols, w.head.screen);
    this.setCursor(w.head.cursor);
    this.start(w, t);
    this.status.textContent = "";
    this.node.dataset.state = "ready";
  }

  start(w, t) {
    w.i = 0;
    this.win = w;
    this.ahead = null;
    this.pos = t;
    this.lastFrame = t;
    this.apply();
    this.showPosition();
  }

  // Rows are made again only when the size changed: a poll's screen is
  // mostly the one shown, and a row left alone keeps the viewer's selection.
  drawScreen(rows, cols, screen) {
    if (rows !== this.screen.children.length || cols !== this.cols) {
      this.cols = cols;
      this.screen.style.width = cols + "ch";
      fill(this.screen, Array.from({ length: rows }, () => el("div", { class: "term-row" })));
      this.drawn = [];
    }
    for (let r = 0; r < rows; r++) this.drawRow(r, (screen || [])[r]);
  }

  drawRow(r, runs) {
    const row = this.screen.children[r];
    const json = JSON.stringify(runs || []);
    if (!row || this.drawn[r] === json) return;
    fill(row, (runs || []).map(runSpan));
    this.drawn[r] = json;
  }

  drawFrame(f) {
    if (f.size) this.drawScreen(f.size[0], f.size[1], []);
    for (const [r, runs] of Object.entries(f.rows || {})) this.drawRow(Number(r), runs);
    if (f.cursor) this.setCursor(f.cursor);
  }

  setCursor(c) {
    this.cursor = c;
    this.cursorBox.hidden = !c.visible;
    this.cursorBox.style.left = Number(c.col) + "ch";
    this.cursorBox.style.top = Number(c.row) * 1.2 + "em";
  }

  // Every frame of the window up to the position drawn.
  apply() {
    const w = this.win;
    while (w.i < w.frames.length && w.frames[w.i].t <= this.pos) {
      const f = w.frames[w.i++];
      this.lastFrame = f.t;
      this.drawFrame(f);
    }
  }

  showPosition() {
    this.timeText.textContent = clock(this.pos) + " / " + (this.total === null ? "--:--" : clock(this.total));
    this.node.dataset.pos = String(this.pos);
    if (document.activeElement !== this.slider) this.slider.value = String(this.pos);
    for (const fn of this.listeners) fn(this.pos);
  }

  toggle() {
    if (this.live) this.stopFollowing("Paused: press Live to follow again.");
    else if (this.playing) this.pause();
    else this.play();
  }

  play() {
    if (this.playing || !this.win) return;
    if (this.total !== null && this.pos >= this.total) {
      this.seek(0).then(() => this.play());
      return;
    }
    this.playing = true;
    this.playButton.textContent = "Pause";
    this.last = performance.now();
    this.timer = setInterval(() => this.tick(), PLAYER_TICK_MS);
  }

  pause() {
    this.playing = false;
    this.playButton.textContent = "Play";
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  tick() {
    if (!this.node.isConnected) {
      this.pause(); // the page moved on
      return;
    }
    const now = performance.now();
    let step = (now - this.last) * this.speed;
    this.last = now;
    if (this.node.dataset.state !== "ready") return; // a seek is loading: time stands still
    const w = this.win;
    // The next change known: a frame, or the end of this window.
    const next = w.i < w.frames.length ? w.frames[w.i].t : w.next;
    if (this.idleLimit && next !== null && next - this.lastFrame > IDLE_LIMIT_MS &&
        this.pos + step > this.lastFrame + IDLE_LIMIT_MS) {
      step = Math.max(step, next - this.pos); // a long pause: jumped over past its limit
    }
    let pos = this.pos + step;
    if (w.until !== null && pos > w.until) pos = w.until;
    if (this.total !== null) pos = Math.min(pos, this.total);
    this.pos = pos;
    this.apply();
    // The next window asked for before this one ends.
    if (w.next !== null && !this.ahead && pos > w.from + PLAYER_WINDOW_MS / 3) this.ahead = this.request(w.next);
    if (w.next !== null && w.i >= w.frames.length && pos >= w.until) this.advance();
    else if (w.next === null && w.i >= w.frames.length && (this.total === null || pos >= this.total)) this.pause();
    this.showPosition();
  }

  // On to the prefetched window: its first screen is where this one ended.
  async advance() {
    if (this.advancing) return;
    this.advancing = true;
    const gen = this.gen;
    const w = this.win;
    try {
      if (!this.ahead) this.ahead = this.request(w.next);
      const next = await this.ahead;
      if (gen !== this.gen || this.win !== w) return;
      this.win = Object.assign(next, { i: 0 });
      this.ahead = null;
    } catch (e) {
      this.pause();
      this.status.textContent = "Cannot play on: " + e.message;
    } finally {
      this.advancing = false;
    }
  }

  // Live: from the newest stored screen on, what is stored next is asked
  // for every FOLLOW_POLL_MS and drawn at once, not in its own timing: a
  // poll brings at most the last second or so (or a shipper's batch), and
  // timing it would only put the viewer further behind the session.
  follow() {
    if (this.live) return;
    this.pause();
    this.gen++; // a seek's answer still out is dropped
    this.live = true;
    this.node.dataset.live = "1";
    this.liveButton.setAttribute("aria-pressed", "true");
    this.playButton.textContent = "Pause";
    this.status.textContent = "Live";
    this.livePos = Math.max(this.pos, this.total || 0);
    this.poll();
  }

  // Ends following (a pause, a seek, the end, a 404, the page left);
  // `message`, when given, is put in the status.
  stopFollowing(message) {
    if (!this.live) return;
    this.live = false;
    this.node.dataset.live = "0";
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.liveButton.setAttribute("aria-pressed", "false");
    this.playButton.textContent = "Play";
    if (message !== undefined) this.status.textContent = message;
  }

  async poll() {
    this.pollTimer = null;
    if (!this.live || this.polling) return;
    if (!this.node.isConnected) {
      this.stopFollowing(); // the page moved on
      return;
    }
    const gen = this.gen;
    const from = this.livePos;
    let w = null;
    let err = null;
    this.polling = true;
    try {
      w = await this.request(from, FOLLOW_WINDOW_MS, FOLLOW_INTERVAL_MS);
    } catch (e) {
      err = e;
    }
    this.polling = false;
    if (!this.live) return;
    if (gen !== this.gen) {
      this.poll(); // stopped and followed again while it was out: its answer may be older than the new start
      return;
    }
    if (err && err.status === 404) {
      this.stopFollowing("Live ended: the recording is no longer there for you (" + err.message + ").");
      return;
    }
    if (err) {
      // Still live: the next poll tries again.
      this.status.textContent = "Live: the last update failed (" + (err.status ? err.status + " " : "") +
        err.message + "); trying again.";
      this.pollTimer = setTimeout(() => this.poll(), FOLLOW_POLL_MS);
      return;
    }
    // The first line is the screen at `from` with every event at `from`
    // applied, those stored since the last poll too: drawn over the
    // screen shown, it changes only what changed.
    this.drawScreen(w.head.rows, w.head.cols, w.head.screen);
    this.setCursor(w.head.cursor);
    for (const f of w.frames) this.drawFrame(f);
    const last = w.frames.length ? w.frames[w.frames.length - 1].t : from;
    this.total = Math.max(storedEnd(w.head) ?? 0, last, from);
    // `next`: the request stopped at its cap and goes on from there at
    // once; otherwise every stored event was drawn and the newest stored
    // position is where the screen is.
    this.livePos = w.next !== null ? w.next : this.total;
    this.pos = this.livePos;
    this.lastFrame = last;
    this.win = { head: w.head, frames: [], i: 0, from: this.pos, until: null, next: null };
    this.ahead = null;
    this.slider.max = this.total;
    this.node.dataset.state = "ready";
    this.showPosition();
    const ended = w.head.ended === true && w.next === null;
    for (const fn of this.pollListeners) fn(ended);
    if (ended) {
      this.liveButton.hidden = true;
      this.stopFollowing("The session ended.");
      return;
    }
    this.status.textContent = "Live";
    this.pollTimer = setTimeout(() => this.poll(), w.next !== null ? 0 : FOLLOW_POLL_MS);
  }
}

// A recording's audit events beside the player, at their offsets from
// its start: the one at or before the position is marked, a click seeks.
// show() puts the events read (again, while following) in its place.
function auditTrail(player) {
  const node = el("div", { id: "player-trail" });
  let items = [];
  let current = null;
  const mark = (pos) => {
    let at = null;
    for (const it of items) if (it.offset <= pos && (at === null || it.offset >= at.offset)) at = it;
    if (at === current) return;
    if (current) current.li.classList.remove("current");
    if (at) at.li.classList.add("current");
    current = at;
  };
  player.onPosition(mark);
  const show = (events, startMs) => {
    items = [];
    current = null;
    if (!events.length) {
      fill(node, el("p", { class: "muted" }, "No audit event."));
      return;
    }
    fill(node, trailList(events, startMs, player, items),
      startMs === null ? el("p", { class: "muted" }, "The recording's start is unknown: no offsets.") : null);
    mark(player.pos);
  };
  return { node, show };
}

// The trail's list; `items` gets those that have an offset.
function trailList(events, startMs, player, items) {
  const list = el("ol", { class: "trail", id: "player-audit" });
  for (const ev of events) {
    const before = ev.before_session;
    const e = before ? before.event || {} : ev;
    const t = Date.parse(before ? before.time : e.time);
    const offset = startMs === null || isNaN(t) ? null : t - startMs;
    const label = before ? "failed before the session" : String(e.type || "");
    const summary = fields(before ? before : e).replace(/\n/g, "  ");
    const li = el("li", { class: "trail-item", title: fields(before ? before : e) },
      el("span", { class: "trail-time" }, offset === null ? "" : offset < 0 ? "before" : clock(offset)), " ",
      el("span", { class: "trail-type" }, label), " ",
      el("span", { class: "trail-text" }, summary.length > 160 ? summary.slice(0, 160) + "…" : summary));
    if (offset !== null && offset >= 0) {
      li.dataset.offset = String(offset);
      li.tabIndex = 0;
      li.addEventListener("click", () => player.seek(offset));
      li.addEventListener("keydown", (k) => { if (k.key === "Enter") player.seek(offset); });
      items.push({ offset, li });
    }
    add(list, li);
  }
  return list;
}

// ---- holds ----------------------------------------------------------------

function holdsTab(pane) {
  const out = el("div", { id: "holds-result" });
  const msg = el("div", { id: "holds-message" });
  const all = el("input", { type: "checkbox", name: "all", id: "holds-all" });
  const setForm = el("form", { id: "hold-form" }, field("user", "User"), field("host", "Host"), field("rec", "Recording id"),
    field("reason", "Reason", { required: true }), el("button", { type: "submit" }, "Set hold"));
  setForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = formValues(setForm);
    try {
      const r = (await api("POST", "/api/v1/holds", v)).json();
      fill(msg, el("p", { class: "ok" }, "Hold " + r.id + " set."));
      setForm.reset();
    } catch (e) {
      fill(msg, errorLine("Hold failed: " + e.message));
    }
    loadHolds(out, msg, all.checked);
  });
  all.addEventListener("change", () => loadHolds(out, msg, all.checked));
  add(pane, el("h2", {}, "Legal holds"),
    el("p", { class: "muted" }, "A hold keeps every matching recording from retention, those stored later too."),
    setForm, msg, el("label", {}, el("span", {}, all, " Show cleared holds too")), out);
  loadHolds(out, msg, false);
}

async function loadHolds(out, msg, all) {
  let holds;
  try {
    holds = (await api("GET", "/api/v1/holds" + (all ? "?all=true" : ""))).json().holds;
  } catch (e) {
    fill(out, errorLine("Holds: " + e.message));
    return;
  }
  const rows = holds.map((h) => {
    let action = "";
    if (!h.cleared_ms) {
      const reason = el("input", { name: "clear-reason", placeholder: "why it is cleared", required: true });
      const form = el("form", { class: "hold-clear", "data-hold": h.id }, reason,
        el("button", { type: "submit", class: "danger" }, "Clear"));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        try {
          await api("POST", "/api/v1/holds/" + encodeURIComponent(h.id) + "/clear", { reason: reason.value.trim() });
          fill(msg, el("p", { class: "ok" }, "Hold " + h.id + " cleared."));
        } catch (e) {
          fill(msg, errorLine("Clear failed: " + e.message));
        }
        loadHolds(out, msg, all);
      });
      action = form;
    }
    return el("tr", { "data-hold": h.id },
      el("td", {}, h.id), el("td", { class: "data" }, h.host || ""), el("td", { class: "data" }, h.rec || ""),
      el("td", { class: "data" }, h.user || ""), el("td", { class: "data" }, h.reason),
      el("td", {}, (h.set_by || "") + " " + time(h.set_ms)),
      el("td", {}, h.cleared_ms ? (h.cleared_by || "") + " " + time(h.cleared_ms) + ": " + (h.clear_reason || "") : ""),
      el("td", {}, action));
  });
  fill(out, holds.length
    ? table(["Id", "Host", "Recording", "User", "Reason", "Set", "Cleared", ""], rows)
    : el("p", { class: "muted", id: "holds-none" }, "No hold in force."));
}

// ---- retention ------------------------------------------------------------

function retentionTab(pane) {
  const out = el("div", { id: "retention-result" });
  const confirm = el("div", { class: "confirm", id: "retention-confirm", hidden: true },
    el("p", {}, "Purge now every recording the retention rules say is due? Purged recordings cannot be restored; " +
      "each leaves a tombstone."),
    el("button", { type: "button", class: "danger", id: "retention-confirm-yes", onclick: () => {
      show(confirm, false);
      runRetention(false, out, tombs);
    } }, "Purge now"),
    " ",
    el("button", { type: "button", id: "retention-confirm-no", onclick: () => show(confirm, false) }, "Cancel"));
  const tombs = el("div", { id: "tombstones" });
  add(pane, el("h2", {}, "Retention"),
    el("div", { class: "pager" },
      el("button", { type: "button", id: "retention-dry", onclick: () => runRetention(true, out, tombs) },
        "Dry run (what would be purged)"),
      el("button", { type: "button", class: "danger", id: "retention-run", onclick: () => show(confirm, true) },
        "Run retention…")),
    confirm, out, el("h3", {}, "Tombstones"), tombs);
  loadTombstones(tombs);
}

async function runRetention(dryRun, out, tombs) {
  fill(out, el("p", { class: "muted" }, dryRun ? "Dry run…" : "Running…"));
  let r;
  try {
    r = (await api("POST", "/api/v1/retention/run", { dry_run: dryRun })).json();
  } catch (e) {
    fill(out, errorLine("Retention run failed: " + e.message));
    return;
  }
  const items = r.items || [];
  fill(out, 
    el("p", { id: "retention-summary" }, (r.dry_run ? "Dry run: " : "Run: ") + items.length + " item(s), " +
      (r.sessions === undefined ? "" : r.sessions + " session(s) considered")),
    items.length ? table(["Outcome", "Host", "Recording", "User", "Class", "Reason", "Messages", "Bytes"],
      items.map((i) => el("tr", { "data-rec": i.rec },
        el("td", {}, i.outcome), el("td", { class: "data" }, i.host), el("td", { class: "data" }, i.rec),
        el("td", { class: "data" }, i.user), el("td", {}, i.class || ""), el("td", {}, i.reason || ""),
        el("td", {}, i.messages === undefined ? "" : i.messages), el("td", {}, i.bytes === undefined ? "" : i.bytes))))
      : el("p", { class: "muted" }, "Nothing is due."));
  if (!dryRun) loadTombstones(tombs);
}

async function loadTombstones(out) {
  let list;
  try {
    list = lines((await api("GET", "/api/v1/retention/tombstones")).text);
  } catch (e) {
    fill(out, errorLine("Tombstones: " + e.message));
    return;
  }
  fill(out, list.length
    ? table(["Id", "Purged", "Who", "Host", "Recording", "User", "Messages", "Class", "Reason"],
      list.map((t) => el("tr", { "data-rec": t.rec },
        el("td", {}, t.id), el("td", {}, t.purged || time(t.purged_ms)), el("td", { class: "data" }, t.who),
        el("td", { class: "data" }, t.host), el("td", { class: "data" }, t.rec), el("td", { class: "data" }, t.user),
        el("td", {}, t.messages), el("td", {}, t.class || ""), el("td", {}, t.reason || ""))))
    : el("p", { class: "muted" }, "No recording has been purged."));
}

// ---- access log -----------------------------------------------------------

function accessTab(pane) {
  const out = el("div", { id: "access-result" });
  const form = el("form", { id: "access-form" }, field("viewer", "Viewer"), field("rec", "Recording id"),
    field("since", "Since", { placeholder: "2026-12-01T00:00:00Z" }), field("until", "Until"),
    el("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    loadAccessLog(out, formValues(form), null, []);
  });
  add(pane, el("h2", {}, "Access log"), form, out);
  loadAccessLog(out, {}, null, []);
}

async function loadAccessLog(out, filters, cursor, before) {
  let page;
  try {
    page = (await api("GET", "/api/v1/access-log" + query(Object.assign({ limit: 100, cursor }, filters)))).json();
  } catch (e) {
    fill(out, errorLine("Access log: " + e.message));
    return;
  }
  const rows = page.entries.map((e) => el("tr", {},
    el("td", {}, time(e.time_ms)), el("td", { class: "data" }, e.viewer), el("td", {}, e.remote),
    el("td", {}, e.action), el("td", { class: "data" }, e.route), el("td", { class: "data" }, e.host),
    el("td", { class: "data" }, e.rec), el("td", {}, e.outcome), el("td", { class: "data" }, JSON.stringify(e.detail))));
  fill(out, 
    page.entries.length ? table(["Time", "Viewer", "Remote", "Action", "Route", "Host", "Recording", "Outcome", "Detail"],
      rows) : el("p", { class: "muted" }, "No entry."),
    el("div", { class: "pager" },
      before.length ? el("button", { type: "button", id: "access-prev",
        onclick: () => loadAccessLog(out, filters, before[before.length - 1], before.slice(0, -1)) }, "Previous")
        : null,
      page.next_cursor ? el("button", { type: "button", id: "access-next",
        onclick: () => loadAccessLog(out, filters, page.next_cursor, before.concat([cursor])) }, "Next page")
        : null));
}

// ---- start ----------------------------------------------------------------

$("signin-form").addEventListener("submit", signIn);
$("signout").addEventListener("click", signOut);
start();
