// Andon quarantine page: follow a running replay's progress until it ends (bounded polling).
(function () {
  "use strict";
  var box = document.getElementById("replay-job");
  if (!box || box.getAttribute("data-state") !== "running") { return; }
  var job = box.getAttribute("data-job");
  var every = Number(box.getAttribute("data-poll-ms")) || 500;
  var left = Number(box.getAttribute("data-max-polls")) || 1000;

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }

  function show(p) {
    var bar = document.getElementById("replay-bar");
    bar.max = p.total || 1;
    bar.value = p.done;
    bar.textContent = p.percent + " %";
    text("replay-count", p.done + " of " + p.total + " checked");
    text("replay-state", p.state);
    box.setAttribute("data-state", p.state);
    if (p.state === "running") { return false; }
    var still = Object.keys(p.still).map(function (r) { return r + " " + p.still[r]; });
    text("replay-stored", p.stored === null ? "-" : String(p.stored));
    text("replay-still-total", String(p.still_total));
    text("replay-still", still.join(", "));
    if (p.error) { text("replay-note", p.error); document.getElementById("replay-note").hidden = false; }
    document.getElementById("replay-result").hidden = false;
    var button = document.querySelector("#replay-form button");
    if (button) { button.disabled = false; }
    return true;
  }

  function poll() {
    left -= 1;
    if (left < 0) {
      text("replay-note", "Still running; reload the page to see how far it is.");
      document.getElementById("replay-note").hidden = false;
      return;
    }
    fetch("/quarantine/replay/" + encodeURIComponent(job), {
      credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (response.status === 401) { window.location.reload(); return null; }
      return response.ok ? response.json() : null;
    }).then(function (p) {
      if (p && show(p)) { return; }
      window.setTimeout(poll, every);
    }).catch(function () { window.setTimeout(poll, every); });
  }

  window.setTimeout(poll, every);
}());
