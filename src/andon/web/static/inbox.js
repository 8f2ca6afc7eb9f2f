// Andon console: live updates without reload, filters that apply on change, select all.
// Everything here only enhances: the page works without it (forms and links).
(function () {
  "use strict";
  var REGION = "inbox-live";

  function region() { return document.getElementById(REGION); }

  // Busy: focus is in a text field of the list, a reason, finding or comment has been typed but
  // not sent, or a history is open. A selection for a bulk action is kept across refreshes.
  function busy(el) {
    var active = document.activeElement;
    if (active && el.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName) &&
        active.type !== "checkbox") {
      return true;
    }
    if (el.querySelector("details[open]")) { return true; }  // someone reads a history
    var inputs = el.querySelectorAll(
      "input[name=reason], input[name=detail], input[name=body]");
    for (var i = 0; i < inputs.length; i += 1) {
      if (inputs[i].value.trim() !== "") { return true; }
    }
    return false;
  }

  function selected(el) {
    var ids = {};
    el.querySelectorAll("input[data-select]:checked").forEach(function (box) {
      ids[box.value] = true;
    });
    return ids;
  }

  // Replace the region with the server's current one (same filters), keeping the selection.
  function refresh() {
    var el = region();
    if (!el || document.hidden || busy(el)) { return; }
    var url = el.getAttribute("data-refresh-url") || window.location.pathname;
    fetch(url, {
      credentials: "same-origin", cache: "no-store", headers: { "Accept": "text/html" }
    }).then(function (response) {
      if (response.status === 401) { window.location.reload(); return null; }
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null || html === undefined) { return; }
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(REGION);
      var current = region();
      if (fresh && current && !busy(current)) {
        var keep = selected(current);
        var node = document.importNode(fresh, true);
        node.querySelectorAll("input[data-select]").forEach(function (box) {
          box.checked = keep[box.value] === true;
        });
        current.replaceWith(node);
        enhance(node);
      }
    }).catch(function () { /* offline for a moment: try again on the next tick */ });
  }

  // Ask the small live endpoint whether anything in scope changed since the page was drawn.
  function poll() {
    var el = region();
    if (!el || document.hidden) { return; }
    var seq = el.getAttribute("data-live-seq") || "0";
    var comment = Number(el.getAttribute("data-live-comment") || "0");
    var url = el.getAttribute("data-live-url") + "&after=" + encodeURIComponent(seq);
    fetch(url, { credentials: "same-origin", cache: "no-store",
                 headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (marks) {
        if (!marks) { return; }
        var now = region();
        if (!now) { return; }
        if (marks.changed.length > 0 || marks.comment > comment) {
          refresh();  // the new region carries the new marks
        } else {
          now.setAttribute("data-live-seq", String(marks.seq));
        }
      }).catch(function () { /* try again on the next tick */ });
  }

  // Filters apply as soon as one is chosen; select-all ticks every card shown.
  function enhance(el) {
    var form = el.querySelector("#filters");
    if (form) {
      form.querySelectorAll("select").forEach(function (select) {
        select.addEventListener("change", function () { form.submit(); });
      });
    }
    var all = el.querySelector("[data-select-all]");
    if (all) {
      all.addEventListener("change", function () {
        el.querySelectorAll("input[data-select]").forEach(function (box) {
          box.checked = all.checked;
        });
      });
    }
  }

  var el = region();
  if (!el) { return; }
  enhance(el);
  var seconds = Number(el.getAttribute("data-refresh-seconds")) || 30;
  var live = Number(el.getAttribute("data-live-seconds")) || 5;
  window.setInterval(refresh, seconds * 1000);
  window.setInterval(poll, live * 1000);
}());
