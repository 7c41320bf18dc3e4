// Pages people edit are never shown stale. The server sends them with Cache-Control: no-store;
// a browser that still restores one from its back/forward cache (the page as it was when left,
// without the row added since) is told to load it again. Signed-in pages only (base.html).
(function () {
  "use strict";
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      window.location.reload();
    }
  });
})();
