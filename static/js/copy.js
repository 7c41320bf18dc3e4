// Copy buttons: <button data-copy-target="ID"> copies the text of the element with that id.
// One listener on the document, so buttons that htmx swaps in later work too. No inline script
// and no dependency; where the Clipboard API is missing (an http page other than localhost), it
// selects the text and falls back to execCommand("copy"), leaving it selected either way.
(function () {
  "use strict";

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function legacyCopy(element) {
    selectText(element);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function say(button, text) {
    var status = button.parentNode.querySelector(".copy-status");
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = text;
    if (status) {
      status.textContent = text === "Copied" ? "Command copied to the clipboard." : text;
    }
    window.clearTimeout(button._copyTimer);
    button._copyTimer = window.setTimeout(function () {
      button.textContent = label;
      if (status) {
        status.textContent = "";
      }
    }, 2500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) {
      return;
    }
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) {
      return;
    }
    var text = source.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          say(button, "Copied");
        },
        function () {
          say(button, legacyCopy(source) ? "Copied" : "Press Ctrl+C to copy");
        }
      );
    } else {
      say(button, legacyCopy(source) ? "Copied" : "Press Ctrl+C to copy");
    }
  });
})();
