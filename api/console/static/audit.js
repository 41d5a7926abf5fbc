// dangol console: the auditor's screens' keyboard and the copy button.
// Without this script every screen still works: rows and pages are links.
//
// Keys (outside text fields), on a table marked data-keys: j or ArrowDown
// chooses the next row, k or ArrowUp the previous one, Enter opens the
// chosen row's link (a[data-row]); n and p follow the page's rel="next" and
// rel="prev" links. A button with data-copy="<id>" copies that element's
// text (the signed checkpoint) and says so.
"use strict";
(function () {
  var table = document.querySelector("table[data-keys]");
  var current = -1;

  function rows() { return table ? table.querySelectorAll("tbody tr") : []; }
  function choose(i, focus) {
    var all = rows();
    if (!all.length) return;
    i = Math.max(0, Math.min(all.length - 1, i));
    for (var j = 0; j < all.length; j++) all[j].classList.toggle("selected", j === i);
    current = i;
    var link = all[i].querySelector("a[data-row]");
    if (focus && link) link.focus({ preventScroll: true });
    all[i].scrollIntoView({ block: "nearest" });
  }
  function follow(rel) {
    var a = document.querySelector('a[rel="' + rel + '"]');
    if (a) location.assign(a.href);
    return !!a;
  }

  // A row the page was opened at (#v12) is the chosen one.
  if (table && location.hash) {
    var at = document.getElementById(location.hash.slice(1));
    if (at && table.contains(at)) choose(Array.prototype.indexOf.call(rows(), at), false);
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(t.tagName))) return;
    switch (e.key) {
      case "j": case "ArrowDown":
        if (!table) return;
        e.preventDefault(); choose(current + 1, true); break;
      case "k": case "ArrowUp":
        if (!table) return;
        e.preventDefault(); choose(current < 0 ? 0 : current - 1, true); break;
      case "Enter":
        if (!table || current < 0 || (t && t.tagName === "A")) return;
        var link = rows()[current].querySelector("a[data-row]");
        if (link) { e.preventDefault(); location.assign(link.href); }
        break;
      case "n": if (follow("next")) e.preventDefault(); break;
      case "p": if (follow("prev")) e.preventDefault(); break;
    }
  });
  if (table) table.addEventListener("focusin", function (e) {
    var row = e.target.closest && e.target.closest("tbody tr");
    if (row) {
      current = Array.prototype.indexOf.call(rows(), row);
      for (var all = rows(), j = 0; j < all.length; j++) all[j].classList.toggle("selected", all[j] === row);
    }
  });

  var buttons = document.querySelectorAll("button[data-copy]");
  for (var i = 0; i < buttons.length; i++) {
    var b = buttons[i];
    b.hidden = false;
    b.addEventListener("click", function () {
      var btn = this, el = document.getElementById(btn.getAttribute("data-copy"));
      if (!el) return;
      var text = el.textContent, label = btn.textContent;
      var done = function () { btn.textContent = btn.getAttribute("data-done"); setTimeout(function () { btn.textContent = label; }, 2000); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { select(el); });
      } else {
        select(el);
        try { if (document.execCommand("copy")) done(); } catch (err) { /* the text stays selected to copy by hand */ }
      }
    });
  }
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
})();
