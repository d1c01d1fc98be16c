// Fills each island placeholder (<div data-island="NAME">) with the HTML the
// kernel renders at /_island/NAME for the current path. Without script, or
// when the request fails, the placeholder's fallback link stays.
// On a static export the script tag names the dynamic server
// (data-island-origin): islands load from it (CORS, with its cookies), and
// addresses only it answers (sign-in, search, the islands' links and forms)
// point to it, so they still work, as plain links, when it is unreachable.
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = (script && script.getAttribute("data-island-origin")) || "";
  if (!/^https?:\/\/[^\/?#\s]+$/.test(origin) || origin === location.origin) origin = "";
  var dynamic = /^\/(user\/|comment\/|_preview\/|search(\?|$))/;
  // rebase points root-relative links and forms at the dynamic server:
  // every one inside an island, and the dynamic ones elsewhere.
  function rebase(root, all) {
    if (!origin) return;
    var els = root.querySelectorAll("a[href^='/'], form[action^='/']");
    Array.prototype.forEach.call(els, function (el) {
      var attr = el.tagName === "FORM" ? "action" : "href";
      var v = el.getAttribute(attr);
      if (v.charAt(1) !== "/" && (all || dynamic.test(v))) el.setAttribute(attr, origin + v);
    });
  }
  rebase(document, false);
  var islands = document.querySelectorAll("[data-island]");
  Array.prototype.forEach.call(islands, function (el) {
    var name = el.getAttribute("data-island");
    if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) return;
    rebase(el, true);
    var url = origin + "/_island/" + name + "?path=" + encodeURIComponent(location.pathname);
    fetch(url, { credentials: origin ? "include" : "same-origin", mode: origin ? "cors" : "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (!res.ok) throw new Error("island " + name + ": " + res.status);
        return res.text();
      })
      .then(function (html) {
        el.innerHTML = html;
        rebase(el, true);
        el.setAttribute("data-island-loaded", "");
      })
      .catch(function () {});
  });
})();
