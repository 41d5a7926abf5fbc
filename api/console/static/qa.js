// dangol console: the call page (qa_call.html). The scorecard's total is
// computed as the server computes it (events.ReviewTotal): the weighted
// mean of score/max over the items not N/A, to one decimal, and 0 when a
// critical item scored 0; "—" until every item is scored. A point the
// player asks for (a click on the waveform, m) goes into the first point
// row without a note, or a new row; "▶ 01:23" links play from there; Ctrl+
// Enter saves the scorecard.
"use strict";
(function () {
  var card = document.getElementById("qa-scorecard");

  function itemScore(fs) {
    var radio = fs.querySelector("input[type=radio]:checked");
    if (radio) return radio.value;
    var na = fs.querySelector("input[type=checkbox][name^='na.']");
    if (na && na.checked) return "na";
    var num = fs.querySelector("input[type=number]");
    return num && num.value.trim() !== "" ? num.value.trim() : "";
  }

  // total mirrors events.ReviewTotal and events.CriticalFailed.
  function total() {
    var sum = 0, weights = 0, failed = false, complete = true;
    Array.prototype.forEach.call(card.querySelectorAll("[data-item]"), function (fs) {
      var v = itemScore(fs), w = Number(fs.dataset.weight), max = Number(fs.dataset.max);
      if (v === "na") return;
      if (v === "" || !/^\d+$/.test(v) || Number(v) > max) { complete = false; return; }
      var s = Number(v);
      if (fs.hasAttribute("data-critical") && s === 0) failed = true;
      sum += w * s / max;
      weights += w;
    });
    if (!complete) return { text: "—", failed: failed };
    if (failed || weights === 0) return { text: "0.0", failed: failed };
    return { text: (Math.round(sum / weights * 1000) / 10).toFixed(1), failed: false };
  }

  function showTotal() {
    var t = total();
    document.getElementById("qa-total").textContent = t.text;
    document.getElementById("qa-failed").hidden = !t.failed;
  }

  function rows() { return Array.prototype.slice.call(card.querySelectorAll("[data-point-row]")); }

  // addRow appends an empty point row, a copy of the first with fresh ids.
  function addRow() {
    var all = rows(), first = all[0], row = first.cloneNode(true), n = all.length;
    row.classList.remove("invalid");
    Array.prototype.forEach.call(row.querySelectorAll(".msg"), function (m) { m.remove(); });
    Array.prototype.forEach.call(row.querySelectorAll("input, select, textarea"), function (f) {
      var id = f.id.replace(/-\d+$/, "-" + n), label = row.querySelector("label[for='" + f.id + "']");
      if (label) label.htmlFor = id;
      f.id = id;
      f.removeAttribute("data-point-at");
      f.removeAttribute("data-point-note");
      f.value = "";
    });
    all[all.length - 1].after(row);
    return row;
  }

  // pointRow is the row a new point goes into: the first without a note.
  function pointRow() {
    var free = rows().filter(function (r) { return r.querySelector("textarea").value.trim() === ""; });
    return free[0] || addRow();
  }

  function marks() {
    var player = document.querySelector("[data-player]");
    if (!player || !player.dangolPlayer) return;
    var secs = [];
    rows().forEach(function (r) {
      var v = r.querySelector("input[name='pt.at']").value.trim();
      // as the server reads it (parseClock): seconds, mm:ss or h:mm:ss
      if (/^\d+(:\d\d){0,2}$/.test(v)) secs.push(v.split(":").reduce(function (t, n) { return t * 60 + Number(n); }, 0));
    });
    player.dangolPlayer.setExtra(secs);
  }

  if (card) {
    card.addEventListener("change", showTotal);
    card.addEventListener("input", function (e) {
      showTotal();
      if (e.target.name === "pt.at") marks();
    });
    showTotal();
    var another = document.getElementById("qa-addpt");
    another.hidden = false;
    another.addEventListener("click", function () { addRow().querySelector("input").focus(); });
    document.addEventListener("player:point", function (e) {
      e.preventDefault();
      var row = pointRow();
      row.querySelector("input[name='pt.at']").value = e.detail.clock;
      // After the key that asked (m) is done, so that it is not typed into the note.
      setTimeout(function () { row.querySelector("textarea").focus(); }, 0);
      marks();
    });
    card.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); card.requestSubmit(); }
    });
    var sent = false;
    card.addEventListener("submit", function (e) {
      if (sent) { e.preventDefault(); return; }
      sent = true;
      document.getElementById("qa-submit").disabled = true;
    });
  }

  // "▶ 01:23" plays the call from there, without leaving the page.
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[data-seek]");
    var player = document.querySelector("[data-player]");
    if (!a || !player || !player.dangolPlayer || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    player.dangolPlayer.use();
    player.dangolPlayer.seek(Number(a.dataset.seek));
    player.scrollIntoView({ block: "nearest" });
  });
})();
