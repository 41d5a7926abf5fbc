// dangol console: the call player (templates/_player.html). Without this
// script the recording plays in the browser's own controls; with it the
// player draws the waveform from the decoded audio (Web Audio
// decodeAudioData on the bytes fetched once more, whole, beside the audio
// element's Range requests; playback does not wait for it), plays 1×–2×, takes keyboard
// shortcuts, draws the coaching points on the waveform, and, where the page
// adds points (data-add-points), a click on the waveform or "m" asks for a
// point at that second: the player dispatches "player:point" (detail.sec)
// on its element; unless a listener calls preventDefault, it fills the
// page's input[data-point-at] (seconds) and [data-point-at-shown] (mm:ss)
// and focuses [data-point-note].
//
// Keys (outside text fields): space or k play/pause, ←/→ 5 s, shift+←/→
// 1 s, [ and ] slower/faster, m a coaching point at the current second;
// on the focused waveform also Home and End.
// With several players on a page, the keys drive the one last used (the
// first until then).
"use strict";
(function () {
  if (window.dangolPlayer) return; // the partial may be on a page more than once
  var SPEEDS = [1, 1.25, 1.5, 1.75, 2];
  // BUCKETS is how finely the decoded audio is kept for the waveform: the
  // decoded samples (a 20-minute call at 8 kHz: 9.6 million floats, 38 MB a
  // channel) are reduced to this once and let go.
  var BUCKETS = 4096;
  var players = [];
  var active = null;

  // clock shows seconds as m:ss (h:mm:ss from an hour), as the server does.
  function clock(sec) {
    sec = Math.max(0, Math.floor(sec));
    var h = Math.floor(sec / 3600), m = Math.floor(sec / 60) % 60, s = sec % 60;
    var ss = (s < 10 ? "0" : "") + s;
    if (h > 0) return h + ":" + (m < 10 ? "0" : "") + m + ":" + ss;
    return (m < 10 ? "0" : "") + m + ":" + ss;
  }

  function Player(el) {
    this.el = el;
    this.audio = el.querySelector(".pl-audio");
    this.canvas = el.querySelector(".pl-canvas");
    this.playBtn = el.querySelector(".pl-play");
    this.speed = el.querySelector(".pl-speed");
    this.now = el.querySelector(".pl-now");
    this.dur = el.querySelector(".pl-dur");
    this.status = el.querySelector(".pl-status");
    this.duration = Number(el.dataset.duration) || 0;
    this.addPoints = el.hasAttribute("data-add-points");
    this.base = null;      // [min, max] per BUCKETS-th of the recording, from the decoded audio
    this.peaks = null;     // [min, max] per canvas column, from base
    this.extra = [];       // seconds the page marks besides the points listed (pending points)
    this.marks = Array.prototype.map.call(el.querySelectorAll(".pl-seek"), function (b) { return Number(b.dataset.sec); });
    this.hover = -1;
    this.init();
  }

  Player.prototype.init = function () {
    var p = this, a = this.audio, start = Number(this.el.dataset.start) || 0;
    a.controls = false;
    this.el.querySelector(".pl-wave").hidden = false;
    this.el.querySelector(".pl-controls").hidden = false;
    this.el.classList.add("pl-on");
    var seekStart = function () {
      if (start > 0 && a.currentTime < 0.01) a.currentTime = Math.min(start, a.duration || start);
      if (isFinite(a.duration) && a.duration > 0) { p.duration = a.duration; p.dur.textContent = clock(a.duration); }
      p.draw();
    };
    if (a.readyState >= 1) seekStart(); else a.addEventListener("loadedmetadata", seekStart);
    a.addEventListener("timeupdate", function () { p.tick(); });
    a.addEventListener("seeked", function () { p.tick(); });
    a.addEventListener("play", function () { p.playing(true); });
    a.addEventListener("pause", function () { p.playing(false); });
    a.addEventListener("ended", function () { p.playing(false); });
    // A recording that cannot be had (gone, refused) says so, not "it plays".
    a.addEventListener("error", function () { p.failed = true; p.status.textContent = p.el.dataset.textError || ""; });
    this.playBtn.addEventListener("click", function () { p.use(); p.toggle(); });
    this.el.querySelector(".pl-back").addEventListener("click", function () { p.use(); p.skip(-5); });
    this.el.querySelector(".pl-fwd").addEventListener("click", function () { p.use(); p.skip(5); });
    this.speed.addEventListener("change", function () { p.use(); a.playbackRate = Number(p.speed.value) || 1; });
    var mark = this.el.querySelector(".pl-mark");
    if (mark) mark.addEventListener("click", function () { p.use(); p.point(a.currentTime); });
    Array.prototype.forEach.call(this.el.querySelectorAll(".pl-seek"), function (b) {
      b.addEventListener("click", function () { p.use(); p.seek(Number(b.dataset.sec)); });
    });
    var c = this.canvas;
    c.addEventListener("click", function (e) {
      p.use();
      var sec = p.secAt(e);
      p.seek(sec);
      if (p.addPoints) p.point(sec);
    });
    c.addEventListener("mousemove", function (e) { p.hover = p.secAt(e); p.draw(); });
    c.addEventListener("mouseleave", function () { p.hover = -1; p.draw(); });
    c.addEventListener("focus", function () { p.use(); });
    window.addEventListener("resize", function () { p.draw(); });
    this.tick();
    this.load();
  };

  // load fetches the recording whole and decodes it for the waveform.
  Player.prototype.load = function () {
    var p = this, AC = window.AudioContext || window.webkitAudioContext;
    if (!AC || !window.fetch) { p.noWave(); return; }
    fetch(this.el.dataset.src, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { p.failed = true; throw new Error("recording " + r.status); }
      return r.arrayBuffer();
    }).then(function (buf) {
      // An OfflineAudioContext decodes without an output device and
      // without the autoplay policy's user gesture.
      var ctx = window.OfflineAudioContext ? new OfflineAudioContext(1, 1, 8000) : new AC();
      return new Promise(function (ok, fail) { ctx.decodeAudioData(buf, ok, fail); });
    }).then(function (audio) {
      p.base = reduce(audio, Math.min(BUCKETS, audio.length));
      if (!isFinite(p.audio.duration) || !(p.audio.duration > 0)) p.duration = audio.duration;
      p.el.dataset.wave = "drawn";
      p.draw();
    }).catch(function () { p.noWave(); });
  };

  Player.prototype.noWave = function () {
    this.el.dataset.wave = "none";
    this.status.textContent = (this.failed ? this.el.dataset.textError : this.el.dataset.textNowave) || "";
    this.draw();
  };

  // reduce keeps the decoded audio as a [min, max] pair per bucket (of n),
  // over every channel.
  function reduce(audio, n) {
    var ch = audio.numberOfChannels, len = audio.length, out = new Array(n);
    var data = [];
    for (var k = 0; k < ch; k++) data.push(audio.getChannelData(k));
    for (var i = 0; i < n; i++) {
      var from = Math.floor(i * len / n), to = Math.max(from + 1, Math.floor((i + 1) * len / n));
      var lo = 0, hi = 0;
      for (var j = from; j < to && j < len; j++) {
        for (k = 0; k < ch; k++) {
          var v = data[k][j];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
      out[i] = [lo, hi];
    }
    return out;
  }

  // peaksFor reduces the kept buckets to a [min, max] pair per column.
  Player.prototype.peaksFor = function (cols) {
    if (!this.base) return null;
    if (this.peaks && this.peaks.length === cols) return this.peaks;
    var b = this.base, n = b.length, out = new Array(cols);
    for (var i = 0; i < cols; i++) {
      var from = Math.min(n - 1, Math.floor(i * n / cols)), to = Math.max(from + 1, Math.floor((i + 1) * n / cols));
      var lo = 0, hi = 0;
      for (var j = from; j < to && j < n; j++) {
        if (b[j][0] < lo) lo = b[j][0];
        if (b[j][1] > hi) hi = b[j][1];
      }
      out[i] = [lo, hi];
    }
    this.peaks = out;
    return out;
  };

  Player.prototype.draw = function () {
    var c = this.canvas, dpr = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(c.clientWidth * dpr)), h = Math.round(88 * dpr);
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    var g = c.getContext("2d"), css = getComputedStyle(this.el);
    var ink = css.getPropertyValue("--pl-wave").trim() || "#9fb3c8";
    var played = css.getPropertyValue("--pl-played").trim() || "#1f5fa8";
    var markInk = css.getPropertyValue("--pl-mark").trim() || "#c2410c";
    var cols = Math.max(1, Math.floor(w / dpr / 2)); // a bar every 2 css px
    var peaks = this.peaksFor(cols), mid = h / 2, dur = this.duration || 1;
    var at = this.audio.currentTime / dur;
    g.clearRect(0, 0, w, h);
    for (var i = 0; i < cols; i++) {
      var x = i * w / cols, bw = Math.max(1, w / cols - dpr);
      var lo = peaks ? peaks[i][0] : 0, hi = peaks ? peaks[i][1] : 0;
      var top = mid - Math.max(hi, 0.01) * (mid - 4 * dpr), bottom = mid - Math.min(lo, -0.01) * (mid - 4 * dpr);
      g.fillStyle = (i + 0.5) / cols <= at ? played : ink;
      g.fillRect(x, top, bw, Math.max(dpr, bottom - top));
    }
    function line(sec, color, width) {
      var x = Math.round(sec / dur * w);
      g.fillStyle = color;
      g.fillRect(x - width * dpr / 2, 0, width * dpr, h);
    }
    this.marks.concat(this.extra).forEach(function (sec) {
      line(sec, markInk, 2);
      var x = Math.round(sec / dur * w);
      g.beginPath(); g.moveTo(x - 5 * dpr, 0); g.lineTo(x + 5 * dpr, 0); g.lineTo(x, 7 * dpr); g.closePath(); g.fill();
    });
    if (this.hover >= 0) line(this.hover, "rgba(29,35,43,.35)", 1);
    line(this.audio.currentTime, played, 2);
  };

  Player.prototype.secAt = function (e) {
    var r = this.canvas.getBoundingClientRect();
    var f = Math.min(1, Math.max(0, (e.clientX - r.left) / Math.max(1, r.width)));
    return Math.floor(f * (this.duration || 0));
  };

  Player.prototype.tick = function () {
    var t = this.audio.currentTime;
    this.now.textContent = clock(t);
    this.canvas.setAttribute("aria-valuenow", String(Math.floor(t)));
    this.canvas.setAttribute("aria-valuemax", String(Math.floor(this.duration)));
    this.canvas.setAttribute("aria-valuetext", clock(t) + " / " + clock(this.duration));
    this.el.dataset.time = String(Math.floor(t));
    this.draw();
  };

  Player.prototype.playing = function (on) {
    this.el.dataset.state = on ? "playing" : "paused";
    this.playBtn.textContent = on ? this.el.dataset.textPause : this.el.dataset.textPlay;
  };

  Player.prototype.toggle = function () {
    if (this.audio.paused) {
      var pr = this.audio.play();
      if (pr && pr.catch) pr.catch(function () {});
    } else this.audio.pause();
  };

  Player.prototype.seek = function (sec) {
    var max = isFinite(this.audio.duration) && this.audio.duration > 0 ? this.audio.duration : this.duration;
    this.audio.currentTime = Math.min(Math.max(0, sec), max);
    this.tick();
  };

  Player.prototype.skip = function (d) { this.seek(this.audio.currentTime + d); };

  Player.prototype.rate = function (step) {
    var i = SPEEDS.indexOf(Number(this.speed.value));
    i = Math.min(SPEEDS.length - 1, Math.max(0, (i < 0 ? 0 : i) + step));
    this.speed.value = String(SPEEDS[i]);
    this.audio.playbackRate = SPEEDS[i];
    this.el.dataset.speed = String(SPEEDS[i]);
  };

  // point asks the page for a coaching point at sec (see the top).
  Player.prototype.point = function (sec) {
    if (!this.addPoints) return;
    sec = Math.floor(sec);
    var ev = new CustomEvent("player:point", { bubbles: true, cancelable: true, detail: { sec: sec, clock: clock(sec) } });
    if (!this.el.dispatchEvent(ev)) return;
    var at = document.querySelector("input[data-point-at]");
    if (at) at.value = at.type === "number" || at.type === "hidden" ? String(sec) : clock(sec);
    var shown = document.querySelector("[data-point-at-shown]");
    if (shown) shown.textContent = clock(sec);
    var note = document.querySelector("[data-point-note]");
    if (note) setTimeout(function () { note.focus(); }, 0); // after the key that asked (m), not typed into it
  };

  // setExtra draws more marks (seconds), e.g. the points a page has not saved yet.
  Player.prototype.setExtra = function (secs) { this.extra = secs.slice(); this.draw(); };

  Player.prototype.use = function () { active = this; };

  function typing(t) {
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  document.addEventListener("keydown", function (e) {
    var p = active || players[0];
    if (!p || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    var onControl = e.target && /^(BUTTON|A|SUMMARY)$/.test(e.target.tagName);
    switch (e.key) {
      case " ":
        if (onControl) return; // the focused button's own action
        p.toggle(); break;
      case "k": case "K": p.toggle(); break;
      case "ArrowLeft": p.skip(e.shiftKey ? -1 : -5); break;
      case "ArrowRight": p.skip(e.shiftKey ? 1 : 5); break;
      case "Home": case "End": // the waveform is a slider: its ends
        if (e.target !== p.canvas) return;
        p.seek(e.key === "Home" ? 0 : p.duration); break;
      case "[": p.rate(-1); break;
      case "]": p.rate(1); break;
      case "m": case "M":
        if (!p.addPoints) return;
        p.point(p.audio.currentTime); break;
      default: return;
    }
    e.preventDefault();
  });

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-player]"), function (el) {
      if (el.dangolPlayer) return;
      el.dangolPlayer = new Player(el);
      players.push(el.dangolPlayer);
    });
  }
  window.dangolPlayer = { clock: clock, start: start };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
