// dangol console: forms. Every form works without this script; with it:
//  - a form is submitted once: a second submit (a double click, Enter
//    pressed twice) is ignored and its buttons are disabled until the page
//    changes (they are enabled again if the browser brings the page back
//    from its cache). The server is the real guard: each customer form has
//    its own Idempotency-Key, so even a second request appends nothing.
//  - Enter submits a form from a one-line input as usual; in a text area it
//    makes a new line, and Ctrl+Enter (⌘+Enter) submits.
//  - On a page re-rendered after an error the first invalid input (or the
//    form's notice, for a conflict) gets the focus, its <details> opened.
"use strict";
(function () {
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || (form.method || "").toLowerCase() !== "post") return;
    if (form.hasAttribute("data-submitting")) { e.preventDefault(); return; }
    form.setAttribute("data-submitting", "");
    // Disabled after the submission has taken the form's data.
    setTimeout(function () {
      var buttons = form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]");
      for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
    }, 0);
  });
  window.addEventListener("pageshow", function () {
    var forms = document.querySelectorAll("form[data-submitting]");
    for (var i = 0; i < forms.length; i++) {
      forms[i].removeAttribute("data-submitting");
      var buttons = forms[i].querySelectorAll("button[disabled], input[type=submit][disabled]");
      for (var j = 0; j < buttons.length; j++) buttons[j].disabled = false;
    }
  });
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey) || !t || t.tagName !== "TEXTAREA" || !t.form) return;
    e.preventDefault();
    if (t.form.requestSubmit) t.form.requestSubmit(); else t.form.submit();
  });

  function focusInvalid() {
    var form = document.querySelector("form[data-invalid]");
    if (!form) return;
    var target = form.querySelector("[aria-invalid=true]") || form.querySelector(".notice[tabindex]");
    if (!target) return;
    var d = form.closest("details");
    if (d) d.open = true;
    target.focus();
    if (target.scrollIntoView) target.scrollIntoView({ block: "nearest" });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusInvalid);
  else focusInvalid();
})();
