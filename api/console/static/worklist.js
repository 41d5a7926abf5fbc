// dangol console: the worklist's keyboard and live refresh. Without this
// script the worklist still works: filters, counts and sort are links.
//
// Keys (outside text fields): j or ArrowDown selects the next customer, k or
// ArrowUp the previous one, Enter opens the selected customer. The selected
// row has class "selected" and its id link has the focus, so Tab and screen
// readers follow it.
//
// Live: each "dangol:event" (live.js) schedules a refresh, debounced 250 ms:
// the same URL fetched with X-Dangol-Fragment: rows (and Dangol-Min-Position: the
// event's position, so that the read side has applied it) answers the
// filters, counts and rows, which replace #wl-body. The selection and the
// focus stay on the same customer (or link) where it is still shown. Each
// refresh increments #wl-body's data-refreshed and dispatches
// "dangol:refreshed" on document.
"use strict";
(function () {
  var body = document.getElementById("wl-body");
  if (!body) return;
  var selected = null; // customer id

  function rows() { return body.querySelectorAll("#wl-rows tr[data-customer]"); }
  function rowOf(id) {
    var all = rows();
    for (var i = 0; i < all.length; i++) if (all[i].getAttribute("data-customer") === id) return all[i];
    return null;
  }
  function mark(row) {
    var old = body.querySelectorAll("#wl-rows tr.selected");
    for (var i = 0; i < old.length; i++) old[i].classList.remove("selected");
    if (row) row.classList.add("selected");
  }
  function select(row, focus) {
    if (!row) return;
    selected = row.getAttribute("data-customer");
    mark(row);
    var link = row.querySelector("a.cid");
    if (focus && link) link.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }
  function move(d) {
    var all = rows();
    if (!all.length) return;
    var cur = selected ? rowOf(selected) : null;
    var i = cur ? Array.prototype.indexOf.call(all, cur) + d : (d > 0 ? 0 : all.length - 1);
    select(all[Math.max(0, Math.min(all.length - 1, i))], true);
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(t.tagName))) return;
    switch (e.key) {
      case "j": case "ArrowDown": e.preventDefault(); move(1); break;
      case "k": case "ArrowUp": e.preventDefault(); move(-1); break;
      case "Enter":
        if (t && t.tagName === "A") return; // the link opens itself
        var row = selected && rowOf(selected);
        if (row) { e.preventDefault(); location.assign(row.querySelector("a.cid").href); }
        break;
    }
  });
  // Tab or a click onto a row selects it too.
  body.addEventListener("focusin", function (e) {
    var row = e.target.closest && e.target.closest("#wl-rows tr[data-customer]");
    if (row) { selected = row.getAttribute("data-customer"); mark(row); }
  });
  body.addEventListener("click", function (e) {
    var row = e.target.closest && e.target.closest("#wl-rows tr[data-customer]");
    if (row && e.target.tagName !== "A") select(row, true);
  });

  // Live refresh (live.js).
  var refreshed = 0;
  if (window.dangolRefresh) window.dangolRefresh("rows", function () { return location.href; }, swap);
  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var active = document.activeElement, keep = null;
    if (active && body.contains(active)) {
      var r = active.closest("tr[data-customer]");
      keep = r ? { customer: r.getAttribute("data-customer") } : { href: active.getAttribute("href") };
    }
    var index = selected && rowOf(selected) ? Array.prototype.indexOf.call(rows(), rowOf(selected)) : -1;
    body.replaceChildren.apply(body, Array.prototype.slice.call(doc.body.childNodes));
    if (selected) {
      var row = rowOf(selected);
      if (!row && index >= 0) { // gone (e.g. reassigned): the row now in its place
        var all = rows();
        row = all[Math.min(index, all.length - 1)] || null;
        selected = row ? row.getAttribute("data-customer") : null;
      }
      mark(row);
    }
    if (keep) {
      var target = null;
      if (keep.customer) {
        var kr = rowOf(keep.customer) || (selected && rowOf(selected));
        target = kr && kr.querySelector("a.cid");
      } else if (keep.href) {
        var links = body.querySelectorAll("a[href]");
        for (var i = 0; i < links.length; i++) if (links[i].getAttribute("href") === keep.href) { target = links[i]; break; }
      }
      if (target) target.focus({ preventScroll: true });
    }
    refreshed++;
    body.setAttribute("data-refreshed", String(refreshed));
    document.dispatchEvent(new CustomEvent("dangol:refreshed", { detail: { count: refreshed } }));
  }
})();
