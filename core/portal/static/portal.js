// carecoord portal: automatic logoff after inactivity, and small progressive enhancements.
// No inline script anywhere (the CSP forbids it): pages pass values through data- attributes.
(function () {
  "use strict";
  var body = document.body;
  var idleSeconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  if (idleSeconds > 0) {
    var deadline = Date.now() + idleSeconds * 1000;
    var note = document.getElementById("idle-note");
    var form = document.getElementById("logout-form");
    var reason = document.getElementById("logout-reason");
    var reset = function () { deadline = Date.now() + idleSeconds * 1000; if (note) { note.textContent = ""; } };
    // Only requests to the server count as activity: that is what the server's idle clock sees.
    document.addEventListener("htmx:afterRequest", function (event) {
      var source = event.detail && event.detail.elt;
      if (!source || !source.closest || !source.closest("[data-passive]")) { reset(); }
    });
    var timer = window.setInterval(function () {
      var left = Math.round((deadline - Date.now()) / 1000);
      if (left <= 0) {
        window.clearInterval(timer);  // submit once
        if (reason) { reason.value = "idle"; }
        if (form) { form.submit(); } else { window.location.assign("/portal/login?ended=idle"); }
      } else if (left <= 60 && note) {
        note.textContent = "Logging off in " + left + " s for inactivity";
      }
    }, 1000);
  }
  // Buttons marked data-confirm ask before submitting (disabling a user, revoking a key).
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
  });
  // A refused htmx request (403, 404, 409, 5xx) is not swapped in: its message is announced at the top.
  // An outage (503 with Retry-After) met by a GET is sent again once that time has passed, a few times
  // (a poll every 30 s would otherwise show stale content that long); the next request that succeeds
  // takes an outage's message away (a refusal's stays: it is about what the user did).
  var OUTAGE_RETRIES = 3;
  var outageRetries = new WeakMap();
  document.addEventListener("htmx:responseError", function (event) {
    var region = document.getElementById("request-error");
    var detail = event.detail || {};
    var xhr = detail.xhr;
    if (!region || !xhr) { return; }
    var text = new DOMParser().parseFromString(xhr.responseText || "", "text/html").body.textContent || "";
    region.textContent = text.trim() || "The request failed. Reload the page and try again.";
    region.hidden = false;
    region.setAttribute("data-outage", xhr.status === 503 ? "true" : "false");
    var config = detail.requestConfig;
    var wait = parseInt(xhr.getResponseHeader("Retry-After") || "", 10);
    var source = detail.elt;
    if (xhr.status !== 503 || !(wait > 0) || !config || config.verb !== "get" || !source) { return; }
    var tries = (outageRetries.get(source) || 0) + 1;
    if (tries > OUTAGE_RETRIES) { return; }
    outageRetries.set(source, tries);
    window.setTimeout(function () {
      if (source.isConnected) { window.htmx.ajax("GET", config.path, { source: source, target: detail.target }); }
    }, wait * 1000);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var detail = event.detail || {};
    var region = document.getElementById("request-error");
    if (!detail.successful) { return; }
    if (detail.elt) { outageRetries.delete(detail.elt); }
    if (region && !region.hidden && region.getAttribute("data-outage") === "true") {
      region.hidden = true;
      region.textContent = "";
    }
  });
  // Move focus to the main heading after an htmx swap of the main region, for screen readers.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "main") { var h = target.querySelector("h1"); if (h) { h.setAttribute("tabindex", "-1"); h.focus(); } }
  });
})();
