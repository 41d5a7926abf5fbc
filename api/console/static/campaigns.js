// dangol console: the campaign builder's live count. Without this script the
// builder still works: its Count button (and Enter in a field) posts the form
// and the page comes back with the count.
//
// With it, whenever a field of the builder (form[data-preview]) changes, the
// form is posted to data-preview (POST /campaigns/preview, the session's CSRF
// token in its header) a moment after the last change, and the answer — what
// POST /v1/campaigns/preview says the criteria select now — fills the count
// beside the form: the figures (data-n), the tiers (data-tier) and the
// sentence of the <output aria-live="polite">, which screen readers read out.
// A refusal (a criterion out of range) shows its message there instead. Only
// the latest answer is shown; counting appends nothing.
"use strict";
(function () {
  var form = document.querySelector("form[data-preview]");
  var box = document.getElementById("cmp-count-box");
  var out = document.getElementById("cmp-count");
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (!form || !box || !out || !meta || !window.fetch) return;
  var timer = 0, seq = 0, wait = 250;
  var locale = document.documentElement.lang === "ko" ? "ko-KR" : "en-US";

  function fmt(n) { return Number(n || 0).toLocaleString(locale); }
  function show(p) {
    var els = box.querySelectorAll("[data-n]");
    for (var i = 0; i < els.length; i++) els[i].textContent = fmt(p[els[i].getAttribute("data-n")]);
    var tiers = box.querySelectorAll("[data-tier]");
    for (var j = 0; j < tiers.length; j++) tiers[j].textContent = fmt((p.byTier || {})[tiers[j].getAttribute("data-tier")]);
    out.textContent = out.getAttribute("data-summary").replace(/\{(\w+)\}/g, function (_, k) { return fmt(p[k]); });
  }
  function settle(state, text) {
    box.removeAttribute("aria-busy");
    box.setAttribute("data-state", state);
    if (text !== undefined) out.textContent = text;
  }
  function count() {
    var mine = ++seq;
    box.setAttribute("aria-busy", "true");
    var body = new URLSearchParams(new FormData(form));
    body.delete("op");
    fetch(form.getAttribute("data-preview"), {
      method: "POST", body: body, credentials: "same-origin", redirect: "manual", cache: "no-store",
      headers: { "X-CSRF-Token": meta.content, "Accept": "application/json" }
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, j: j }; });
    }).then(function (a) {
      if (mine !== seq) return;
      if (a.ok && a.j.preview) { show(a.j.preview); settle("fresh"); }
      else settle("invalid", a.j.error || out.getAttribute("data-failed"));
    }).catch(function () {
      if (mine === seq) settle("failed", out.getAttribute("data-failed"));
    });
  }
  function later(e) {
    if (e.target && e.target.name === "reason") return; // the amendment's reason selects no one
    clearTimeout(timer);
    box.setAttribute("data-state", "stale");
    timer = setTimeout(count, wait);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  if (box.getAttribute("data-state") === "none") count(); // the builder as opened
})();
