// Enlace console: the inbox's live list (Server-Sent Events), the reply
// box's SMS segment count and its ready answers. The pages work without it.
"use strict";
(function () {
  var list = document.getElementById("inbox-list");
  if (list && window.EventSource && window.fetch) {
    var live = document.getElementById("live");
    var busy = false, again = false;
    var reload = function () {
      if (busy) { again = true; return; }
      busy = true;
      fetch(list.dataset.src, { credentials: "same-origin", redirect: "manual", headers: { "Accept": "text/html" } })
        .then(function (r) {
          // A redirect is to the login: the session ended. The whole page
          // goes there (never the login page inside the list).
          if (r.type === "opaqueredirect" || r.status === 401) { signedOut(); throw new Error("signed out"); }
          if (!r.ok) { throw new Error(r.status); }
          return r.text();
        })
        .then(function (html) { list.innerHTML = html; list.dataset.version = String(Number(list.dataset.version || 0) + 1); })
        .catch(function () {})
        .then(function () { busy = false; if (again) { again = false; reload(); } });
    };
    var es = new EventSource(list.dataset.events);
    var signedOut = function () { es.close(); if (live) { live.hidden = true; } window.location.reload(); };
    es.addEventListener("signedout", signedOut);
    es.addEventListener("open", function () { if (live) { live.hidden = false; } reload(); });
    es.addEventListener("error", function () { if (live) { live.hidden = true; } });
    es.addEventListener("conversation", reload);
  }

  // GSM 03.38 basic set (and the extension, which counts twice).
  var gsm = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var ext = "^{}\\[~]|€\f";
  var count = function (text) {
    var units = 0, seven = true;
    for (var i = 0; i < text.length; i++) {
      var c = text.charAt(i);
      if (gsm.indexOf(c) >= 0) { units += 1; } else if (ext.indexOf(c) >= 0) { units += 2; } else { seven = false; break; }
    }
    if (!seven) {
      units = Array.from(text).reduce(function (n, ch) { return n + (ch.length > 1 ? 2 : 1); }, 0);
      return { segments: units <= 70 ? 1 : Math.ceil(units / 67), units: units };
    }
    return { segments: units <= 160 ? 1 : Math.ceil(units / 153), units: units };
  };
  var boxes = document.querySelectorAll("textarea[data-segments]");
  Array.prototype.forEach.call(boxes, function (box) {
    var out = document.getElementById(box.dataset.segments);
    if (!out) { return; }
    var show = function () {
      var n = count(box.value);
      out.textContent = out.dataset.format.replace("#", String(n.segments)).replace("@", String(n.units));
    };
    box.addEventListener("input", show);
    show();
  });

  // Ready answers: added to what is written (the link alone, without this,
  // opens the page again with the answer in the box).
  var picks = document.querySelectorAll("a[data-canned]");
  Array.prototype.forEach.call(picks, function (a) {
    a.addEventListener("click", function (ev) {
      var box = document.getElementById(a.dataset.for);
      if (!box) { return; }
      ev.preventDefault();
      var before = box.value.replace(/\s+$/, "");
      box.value = before === "" ? a.dataset.canned : before + " " + a.dataset.canned;
      box.dispatchEvent(new Event("input"));
      box.focus();
    });
  });
})();
