// Fills each island placeholder (<div data-island="NAME">) with the HTML the
// kernel renders at /_island/NAME for the current path. Without script, or
// when the request fails, the placeholder's fallback link stays.
(function () {
  "use strict";
  var islands = document.querySelectorAll("[data-island]");
  Array.prototype.forEach.call(islands, function (el) {
    var name = el.getAttribute("data-island");
    if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) return;
    var url = "/_island/" + name + "?path=" + encodeURIComponent(location.pathname);
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (!res.ok) throw new Error("island " + name + ": " + res.status);
        return res.text();
      })
      .then(function (html) {
        el.innerHTML = html;
        el.setAttribute("data-island-loaded", "");
      })
      .catch(function () {});
  });
})();
