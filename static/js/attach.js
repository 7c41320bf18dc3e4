// Attachments: paste or drop a file (a screenshot of a graph, a log) into a Markdown text box of
// the incident page, or drop one onto a timeline event. The file is uploaded to the address in
// data-attach-url on the page; the answer's Markdown (an image for PNG, JPEG, GIF and WebP, a
// link for anything else) goes in at the cursor, or at the end of the event's text. Every text
// box that takes files also gets an "Attach a file" picker, for the keyboard. One set of
// listeners on the document, so forms htmx swaps in later work too; no dependency.
(function () {
  "use strict";

  function host(element) {
    return element.closest ? element.closest("[data-attach-url]") : null;
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function megabytes(bytes) {
    return Math.round(bytes / (1024 * 1024)) + " MB";
  }

  // A line beside the field: what is uploading, or why a file was refused.
  function say(anchor, text, isError) {
    var status = anchor.attachStatus;
    if (!status) {
      status = document.createElement("span");
      status.setAttribute("role", "status");
      anchor.insertAdjacentElement("afterend", status);
      anchor.attachStatus = status;
    }
    status.className = isError ? "error attach-status" : "help attach-status";
    status.setAttribute("role", isError ? "alert" : "status");
    status.textContent = text;
    status.hidden = !text;
  }

  function upload(url, file, eventId) {
    var data = new FormData();
    data.append("file", file, file.name || "pasted");
    if (eventId) {
      data.append("event", eventId);
    }
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === 0) {
        return response.json().then(function (body) {
          if (!response.ok) {
            throw new Error(body.error || "The file was not attached.");
          }
          return body;
        });
      }
      if (response.status === 403) {
        throw new Error("Your role can read post-mortems but not attach files.");
      }
      if (response.redirected) {
        throw new Error("Your session expired: log in again in another tab, then try again.");
      }
      throw new Error("The file was not attached (the server answered " + response.status + ").");
    });
  }

  function tooLarge(root, file) {
    var max = parseInt(root.getAttribute("data-attach-max") || "0", 10);
    if (max && file.size > max) {
      return "This file is larger than " + megabytes(max) + ", the limit for attachments.";
    }
    return "";
  }

  function insertAtCursor(textarea, text) {
    var start = textarea.selectionStart;
    var end = textarea.selectionEnd;
    var before = textarea.value.slice(0, start);
    var after = textarea.value.slice(end);
    var lead = before && !/\n$/.test(before) ? "\n" : "";
    var tail = after && !/^\n/.test(after) ? "\n" : "";
    textarea.value = before + lead + text + tail + after;
    var caret = (before + lead + text).length;
    textarea.setSelectionRange(caret, caret);
    // The live preview listens for input.
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // One file after another, so the inserted Markdown keeps the order they were given in.
  function attachAll(root, files, anchor, done) {
    var queue = Array.prototype.slice.call(files);
    function next() {
      var file = queue.shift();
      if (!file) {
        return;
      }
      var refusal = tooLarge(root, file);
      if (refusal) {
        say(anchor, refusal, true);
        return;
      }
      say(anchor, "Attaching " + (file.name || "the pasted file") + "…", false);
      upload(root.getAttribute("data-attach-url"), file, anchor.attachEvent)
        .then(function (body) {
          say(anchor, "", false);
          done(body);
          next();
        })
        .catch(function (error) {
          say(anchor, error.message, true);
        });
    }
    next();
  }

  function takesFiles(element) {
    return (
      element &&
      element.tagName === "TEXTAREA" &&
      element.getAttribute("data-attach") === "true" &&
      host(element)
    );
  }

  function hasFiles(event) {
    var transfer = event.dataTransfer || event.clipboardData;
    return transfer && transfer.types && Array.prototype.indexOf.call(transfer.types, "Files") >= 0;
  }

  function intoTextarea(textarea, files) {
    attachAll(host(textarea), files, textarea, function (body) {
      insertAtCursor(textarea, body.markdown);
    });
  }

  // A timeline event someone wrote (Hindsight's own lines refuse files, and say so).
  function eventRow(element) {
    var row = element.closest ? element.closest("li.event[id^='row-timeline-']") : null;
    return row && host(row) && !row.querySelector("form textarea") ? row : null;
  }

  function ontoEvent(row, files) {
    var root = host(row);
    var anchor = row.querySelector(".prose") || row;
    anchor.attachEvent = row.id.replace("row-timeline-", "");
    attachAll(root, files, anchor, function (body) {
      if (body.refresh && window.htmx) {
        window.htmx.ajax("GET", body.refresh, { target: "#section-timeline", swap: "outerHTML" });
      }
    });
  }

  document.addEventListener("paste", function (event) {
    var clipboard = event.clipboardData;
    var files = clipboard && clipboard.files;
    // A copy from a spreadsheet or a page carries its text and a picture of it: the text is
    // what the person meant, and is pasted as usual. A screenshot has no text.
    if (clipboard && clipboard.getData("text/plain")) {
      return;
    }
    if (takesFiles(event.target) && files && files.length) {
      event.preventDefault();
      intoTextarea(event.target, files);
    }
  });

  document.addEventListener("dragover", function (event) {
    if (!hasFiles(event) || !host(event.target)) {
      return;
    }
    // A file let go anywhere else on the page would make the browser open it in place of the
    // page, and whatever was being typed would be gone: it is refused instead.
    event.preventDefault();
    event.dataTransfer.dropEffect =
      takesFiles(event.target) || eventRow(event.target) ? "copy" : "none";
  });

  document.addEventListener("drop", function (event) {
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) {
      return;
    }
    if (takesFiles(event.target)) {
      event.preventDefault();
      intoTextarea(event.target, files);
    } else if (eventRow(event.target)) {
      event.preventDefault();
      ontoEvent(eventRow(event.target), files);
    } else if (host(event.target)) {
      event.preventDefault();
    }
  });

  // The picker: a file input beside each text box that takes files.
  function addPickers(scope) {
    var boxes = (scope.querySelectorAll ? scope : document).querySelectorAll(
      "textarea[data-attach='true']"
    );
    Array.prototype.forEach.call(boxes, function (textarea) {
      if (textarea.attachPicker || !host(textarea)) {
        return;
      }
      var label = document.createElement("label");
      label.className = "attach-picker small";
      label.appendChild(document.createTextNode("Attach a file "));
      var input = document.createElement("input");
      input.type = "file";
      input.multiple = true;
      label.appendChild(input);
      input.addEventListener("change", function () {
        intoTextarea(textarea, input.files);
        input.value = "";
      });
      textarea.insertAdjacentElement("afterend", label);
      textarea.attachPicker = label;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    addPickers(document);
  });
  document.addEventListener("htmx:load", function (event) {
    addPickers(event.target);
  });
})();

