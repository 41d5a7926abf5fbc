// dangol console: the live feed of a page (GET /v1/live over a WebSocket).
//
// A page that follows the feed renders an element with
//   data-live-topics="advisor:R1 customer:C1"  the topics, space-separated
//   data-live-from="123"                        the read side's position when the
//                                               page was read (JSON, as the API
//                                               writes positions: 123 or "12/13")
// This script subscribes from that position, keeps the last position received
// (also in the element's data-live-position), and on each event dispatches
// on document
//   CustomEvent "dangol:event"  detail: the message {position, stream, type, id,
//                               recordedAt, topics, data}
// It shows its state in the layout's #live element (data-state connecting,
// live, reconnecting or ended; the text from that element's data-* attributes)
// and dispatches "dangol:live-state" (detail: {state}) on each change. After a
// drop it reconnects from the last position, backing off exponentially up to
// 30 s. Close code 4401 means the session ended: it stops and, after a moment,
// goes to the sign-in page. The browser gives no reason when an upgrade is
// refused, so after a connection that never opened it asks /live/status
// whether the session still lives.
"use strict";
// dangolRefresh(kind, url, swap) refreshes a page's part kind on each
// "dangol:event", debounced 250 ms: url() fetched with X-Dangol-Fragment:
// kind and Dangol-Min-Position (the event's position, so that the read side
// has applied it), the answer's HTML given to swap. A redirect (signed out)
// is this script's to show; a failure (the read side behind, a blip) is
// tried again up to 5 times, a second longer each time.
window.dangolRefresh = function (kind, url, swap) {
  var timer = 0, inFlight = false, again = false, position = null, retries = 0;
  document.addEventListener("dangol:event", function (e) {
    if (e.detail && e.detail.position !== undefined) position = e.detail.position;
    schedule(250);
  });
  function schedule(ms) { clearTimeout(timer); timer = setTimeout(refresh, ms); }
  function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    var headers = { "X-Dangol-Fragment": kind };
    if (position !== null) headers["Dangol-Min-Position"] = String(position);
    fetch(url(), { headers: headers, credentials: "same-origin", redirect: "manual", cache: "no-store" })
      .then(function (res) {
        if (res.type === "opaqueredirect") return null; // signed out: shown by the feed's state
        if (!res.ok || res.headers.get("X-Dangol-Fragment") !== kind) throw new Error("refresh: " + res.status);
        return res.text();
      })
      .then(function (html) { retries = 0; if (html !== null) swap(html); },
            function () { if (retries++ < 5) again = true; })
      .then(function () {
        inFlight = false;
        if (again) { again = false; schedule(retries ? 1000 * retries : 250); }
      });
  }
};
(function () {
  var root = document.querySelector("[data-live-topics]");
  if (!root || !window.WebSocket) return;
  var topics = root.getAttribute("data-live-topics").split(/\s+/).filter(Boolean);
  // Without a position the feed starts from now (never from the log's start).
  var last = root.getAttribute("data-live-from") || null;
  if (last !== null) {
    try { last = JSON.parse(last); } catch (e) { /* "12/13" unquoted: the API takes the string as it is */ }
  }
  if (!topics.length) return;

  var indicator = document.getElementById("live");
  var label = indicator && indicator.querySelector(".text");
  var state = "";
  function setState(s) {
    if (s === state) return;
    state = s;
    if (indicator) {
      indicator.hidden = false;
      indicator.setAttribute("data-state", s);
      if (label && label.hasAttribute("data-" + s)) label.textContent = label.getAttribute("data-" + s);
    }
    document.dispatchEvent(new CustomEvent("dangol:live-state", { detail: { state: s } }));
  }

  var BASE = 1000, CAP = 30000, STABLE = 10000;
  var attempts = 0, socket = null, timer = 0, leaving = false, ended = false;

  function url() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v1/live";
  }

  function end(signIn) {
    ended = true;
    clearTimeout(timer);
    setState("ended");
    if (signIn) {
      setTimeout(function () {
        location.assign("/login?reason=ended&next=" + encodeURIComponent(location.pathname + location.search));
      }, 1500);
    }
  }

  function connect() {
    if (ended || leaving) return;
    var opened = false, stable = 0;
    var ws = new WebSocket(url());
    socket = ws;
    ws.onopen = function () {
      opened = true;
      var sub = { subscribe: topics };
      if (last !== null) sub.fromPosition = last;
      ws.send(JSON.stringify(sub));
      setState("live");
      stable = setTimeout(function () { attempts = 0; }, STABLE);
    };
    ws.onmessage = function (e) {
      var msg;
      try { msg = JSON.parse(e.data); } catch (err) { return; }
      if (msg && msg.position !== undefined && msg.position !== null) {
        last = msg.position;
        root.setAttribute("data-live-position", JSON.stringify(last));
      }
      document.dispatchEvent(new CustomEvent("dangol:event", { detail: msg }));
    };
    ws.onclose = function (e) {
      clearTimeout(stable);
      if (socket === ws) socket = null;
      if (leaving || ended) return;
      if (e.code === 4401) return end(true); // the session ended
      if (e.code === 4400 || e.code === 4403) return end(false); // refused for good: retrying cannot help
      setState("reconnecting");
      if (opened) return retry();
      // Refused before opening: an ended session looks like any network
      // error from here. A redirect to sign in means it ended.
      fetch("/live/status", { headers: { "X-Dangol-Fragment": "probe" }, credentials: "same-origin", redirect: "manual", cache: "no-store" })
        .then(function (res) {
          if (res.type === "opaqueredirect" || res.status === 401) end(true);
          else retry();
        }, retry);
    };
  }

  function retry() {
    if (ended || leaving) return;
    var delay = Math.min(CAP, BASE * Math.pow(2, attempts));
    attempts++;
    delay = delay / 2 + Math.random() * delay / 2; // jitter: a restarted server is not hit by every page at once
    clearTimeout(timer);
    timer = setTimeout(connect, delay);
  }

  window.addEventListener("pagehide", function () {
    leaving = true;
    if (socket) socket.close(1000);
  });
  window.addEventListener("pageshow", function (e) {
    if (e.persisted && leaving) { leaving = false; connect(); } // back from the cache
  });
  setState("connecting");
  connect();
})();
