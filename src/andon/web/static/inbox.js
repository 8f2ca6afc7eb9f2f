// Andon inbox: refresh the list in place every few seconds, never while someone is typing.
(function () {
  "use strict";
  var REGION = "inbox-live";

  function region() { return document.getElementById(REGION); }

  // Busy: focus is in a form field of the list, a reason or finding has been typed but not
  // sent, or a history is open.
  function busy(el) {
    var active = document.activeElement;
    if (active && el.contains(active) && /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(active.tagName)) {
      return true;
    }
    if (el.querySelector("details[open]")) { return true; }  // someone reads a history
    var inputs = el.querySelectorAll("input[name=reason], input[name=detail]");
    for (var i = 0; i < inputs.length; i += 1) {
      if (inputs[i].value.trim() !== "") { return true; }
    }
    return false;
  }

  function refresh() {
    var el = region();
    if (!el || document.hidden || busy(el)) { return; }
    fetch(window.location.pathname, {
      credentials: "same-origin", cache: "no-store", headers: { "Accept": "text/html" }
    }).then(function (response) {
      if (response.status === 401) { window.location.reload(); return null; }
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null || html === undefined) { return; }
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(REGION);
      var current = region();
      if (fresh && current && !busy(current)) {
        current.replaceWith(document.importNode(fresh, true));
      }
    }).catch(function () { /* offline for a moment: try again on the next tick */ });
  }

  var el = region();
  if (!el) { return; }
  var seconds = Number(el.getAttribute("data-refresh-seconds")) || 30;
  window.setInterval(refresh, seconds * 1000);
}());
