// dangol console, reports: the print button (Ctrl+P prints without it) and
// the keys of a report page — p prints, [ and ] open the previous and the
// next report. Progressive enhancement only.
"use strict";
(function () {
  var print = document.getElementById("rp-print");
  if (!print) return;
  print.hidden = false;
  print.addEventListener("click", function () { window.print(); });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    if (e.key === "p") { e.preventDefault(); window.print(); return; }
    if (e.key !== "[" && e.key !== "]") return;
    var links = Array.prototype.slice.call(document.querySelectorAll(".rp-strip a"));
    var i = links.findIndex(function (a) { return a.getAttribute("aria-current") === "page"; });
    var next = links[i + (e.key === "]" ? 1 : -1)];
    if (next) { e.preventDefault(); next.click(); }
  });
})();
