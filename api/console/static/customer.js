// dangol console: the customer page. Without this script the page works:
// the timeline's "older entries" is a link, and a reload shows what changed.
//
// Timeline: "older entries" loads the next page in place (GET
// /customers/{id}/timeline?before=<version> with X-Dangol-Fragment: entries)
// when clicked or when it scrolls into view, so the whole timeline comes by
// scrolling.
//
// Live: on each "dangol:event" of the page's topic (live.js), debounced
// 250 ms, the page fetches its sections (X-Dangol-Fragment: sections, and
// Dangol-Min-Position: the event's position, so that the read side has
// applied it), replaces the do-not-contact banner, the head and the
// details, and puts the timeline
// entries it does not show yet in their place, marked new (class "new").
// Forms are never touched, so nothing being typed is lost; a form opened at
// an older version than the customer's now shows its notice (data-stale):
// submitting it will show the conflict. Each refresh increments #customer's
// data-refreshed and dispatches "dangol:refreshed" on document.
//
// Forms: without this script each is a <details> of its own. With it, a
// strip of their names stands above the timeline, only the open form shows,
// one at a time, and the keys 1–7 open them (the focus on the first
// required input still empty); Esc closes the open one. The keys do
// nothing while typing in a field or with Ctrl, Alt or ⌘ held.
"use strict";
(function () {
  var root = document.getElementById("customer");
  if (!root) return;

  var forms = document.getElementById("cust-forms");
  if (forms) strip(forms);
  function strip(forms) {
    var bar = forms.querySelector(".form-strip"), keys = document.getElementById("cust-keys");
    var tabs = bar ? bar.querySelectorAll("button[data-opens]") : [];
    var all = forms.querySelectorAll("details.form");
    forms.classList.add("tabbed");
    if (bar) bar.hidden = false;
    if (keys) keys.hidden = false;
    function sync() {
      for (var i = 0; i < tabs.length; i++) {
        var d = document.getElementById(tabs[i].getAttribute("data-opens"));
        tabs[i].setAttribute("aria-expanded", d && d.open ? "true" : "false");
      }
    }
    // The first required input still empty, else the first input.
    function firstField(d) {
      var empty = Array.prototype.filter.call(d.querySelectorAll("[aria-required=true]"), function (f) { return !f.value; });
      return empty[0] || d.querySelector("input:not([type=hidden]), select, textarea");
    }
    function show(d) {
      d.open = true;
      closeOthers(d);
      sync();
      var f = firstField(d);
      if (f) f.focus({ preventScroll: true });
      d.scrollIntoView({ block: "nearest" });
    }
    function hide(d) {
      d.open = false;
      sync();
      var tab = bar && bar.querySelector('[data-opens="' + d.id + '"]');
      if (tab) tab.focus();
    }
    function closeOthers(d) {
      for (var i = 0; i < all.length; i++) if (all[i] !== d) all[i].open = false;
    }
    if (bar) bar.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-opens]"), d = b && document.getElementById(b.getAttribute("data-opens"));
      if (d) { if (d.open) hide(d); else show(d); }
    });
    // A summary clicked (or a form opened by forms.js after an error).
    forms.addEventListener("toggle", function (e) {
      if (e.target.open) closeOthers(e.target);
      sync();
    }, true);
    function typing(t) {
      return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    }
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
      var t = e.target;
      if (e.key === "Escape") {
        // Not from a select or a date input: Esc closes their pickers.
        var open = forms.querySelector("details.form[open]");
        if (!open || (t && (t.tagName === "SELECT" || /^(date|datetime-local)$/.test(t.type || "")))) return;
        if (typing(t) && !open.contains(t)) return;
        e.preventDefault();
        hide(open);
        return;
      }
      if (!/^[1-9]$/.test(e.key) || typing(t)) return;
      var d = all[Number(e.key) - 1];
      if (!d) return;
      e.preventDefault();
      swallow = e.key;
      show(d);
    });
    // The digit is not typed into the input it just focused (its keypress
    // may still come, as under DevTools' key events).
    var swallow = null;
    document.addEventListener("keypress", function (e) {
      if (swallow !== null && e.key === swallow) e.preventDefault();
      swallow = null;
    }, true);
    document.addEventListener("keyup", function () { swallow = null; }, true);
    var target = location.hash && document.getElementById(location.hash.slice(1));
    if (target && target.matches("details.form")) target.open = true;
    sync();
  }

  function entries(list) { return list ? list.querySelectorAll("li[data-pos]") : []; }
  function key(li) { return [Number(li.getAttribute("data-at")), Number(li.getAttribute("data-pos"))]; }
  function before(a, b) { return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]); } // a comes first (newer)

  // Puts li into list in timeline order unless it is there already; an
  // entry older than all shown, while older pages are still to load, is
  // left to them. Returns whether it was added.
  function place(list, li, more) {
    var pos = li.getAttribute("data-pos");
    if (list.querySelector('li[data-pos="' + pos + '"]')) return false;
    var k = key(li), shown = entries(list);
    for (var i = 0; i < shown.length; i++) {
      if (before(k, key(shown[i]))) { list.insertBefore(li, shown[i]); return true; }
    }
    if (more) return false;
    list.appendChild(li);
    return true;
  }

  // Older entries.
  var loading = false;
  function loadMore(link) {
    if (loading || !link) return;
    loading = true;
    fetch(link.href, { headers: { "X-Dangol-Fragment": "entries" }, credentials: "same-origin", redirect: "manual", cache: "no-store" })
      .then(function (res) {
        if (res.type === "opaqueredirect") { location.assign(link.href); return null; }
        if (!res.ok || res.headers.get("X-Dangol-Fragment") !== "entries") throw new Error("timeline: " + res.status);
        return res.text();
      })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var list = document.getElementById("timeline-list");
        var got = entries(doc.querySelector("ol"));
        for (var i = 0; i < got.length; i++) {
          var li = document.adoptNode(got[i]);
          if (!list.querySelector('li[data-pos="' + li.getAttribute("data-pos") + '"]')) list.appendChild(li);
        }
        var more = doc.getElementById("timeline-more"), cur = document.getElementById("timeline-more");
        if (more && cur) cur.replaceWith(document.adoptNode(more));
        watch();
      })
      .catch(function () { location.assign(link.href); }) // the plain link does the same job
      .then(function () { loading = false; });
  }
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("#timeline-more a[data-more]");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    loadMore(a);
  });
  var observer = window.IntersectionObserver ? new IntersectionObserver(function (seen) {
    for (var i = 0; i < seen.length; i++) if (seen[i].isIntersecting) loadMore(seen[i].target);
  }, { rootMargin: "300px" }) : null;
  function watch() {
    if (!observer) return;
    observer.disconnect();
    var a = document.querySelector("#timeline-more a[data-more]");
    if (a) observer.observe(a);
  }
  watch();

  // Live refresh.
  // Live refresh (live.js): of the customer's page, also from a page
  // re-rendered at a form's route.
  if (!root.hasAttribute("data-live-topics") || !window.dangolRefresh) return;
  var refreshed = 0, page = "/customers/" + encodeURIComponent(root.getAttribute("data-id"));
  window.dangolRefresh("sections", function () { return page; }, swap);
  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    ["cust-alert", "cust-head", "cust-facts"].forEach(function (id) {
      var now = document.getElementById(id), next = doc.getElementById(id);
      if (!now || !next) return;
      var active = document.activeElement, href = now.contains(active) && active.getAttribute("href");
      now.replaceWith(document.adoptNode(next));
      if (href) {
        var again = document.getElementById(id).querySelector('a[href="' + CSS.escape(href) + '"]');
        if (again) again.focus({ preventScroll: true });
      }
    });
    var list = document.getElementById("timeline-list"), got = entries(doc.getElementById("timeline-list"));
    var more = !!document.querySelector("#timeline-more a[data-more]");
    for (var i = got.length - 1; i >= 0; i--) {
      var li = document.adoptNode(got[i]);
      if (place(list, li, more)) li.classList.add("new");
    }
    var head = document.getElementById("cust-head");
    var version = head ? Number(head.getAttribute("data-version")) : NaN;
    if (!isNaN(version) && version > Number(root.getAttribute("data-version"))) {
      root.setAttribute("data-version", String(version));
      var changed = document.getElementById("cust-changed");
      if (changed) changed.hidden = false;
    }
    var forms = document.querySelectorAll("form.cust-form");
    for (var j = 0; j < forms.length; j++) {
      var v = forms[j].querySelector("input[name=_version]"), note = forms[j].querySelector("[data-stale]");
      if (v && note && !isNaN(version) && version > Number(v.value)) note.hidden = false;
    }
    refreshed++;
    root.setAttribute("data-refreshed", String(refreshed));
    document.dispatchEvent(new CustomEvent("dangol:refreshed", { detail: { count: refreshed } }));
  }
})();
