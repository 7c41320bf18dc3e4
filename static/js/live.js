// Live, together: an open incident page shows what others change, and who else has it open.
//
// Every few seconds the page asks the server whether anything changed (a conditional GET that
// is answered 304 while nothing did), saying which part it is editing, if any. When something
// changed, it fetches the parts that changed, in one request, and puts them in place. A part
// the person is working in (a form open in it, or the focus inside it) is never replaced under
// them: a notice above it says who changed it and offers to show it; it is brought up to date
// by itself once they leave it. See incidents/live/ for the server's side.
(function () {
  "use strict";
  const bar = document.getElementById("live");
  if (!bar || !window.fetch || !window.DOMParser) {
    return;
  }
  const stateUrl = bar.dataset.stateUrl;
  const partsUrl = bar.dataset.partsUrl;
  const interval = Number(bar.dataset.interval) || 2000;
  const presenceLine = document.getElementById("live-presence");
  const PARTS = '#summary-box, [id^="prose-"], [id^="section-"], #visibility, #duplicate';
  const OPEN = ".row-form, .editing, details[open] form";

  let serial = Number(bar.dataset.serial) || 0;
  let etag = null;
  let timer = null;
  let busy = false;
  let stopped = false;
  let lastEditing = "";
  // Parts changed by others while the person worked in them: name -> {by, node}.
  const pending = new Map();

  function partOf(element) {
    return element && element.closest ? element.closest(PARTS) : null;
  }

  function hasOpenForm(part) {
    return part.matches(".editing") || part.querySelector(OPEN) !== null;
  }

  function hasFocus(part) {
    const active = document.activeElement;
    return active !== null && active !== document.body && part.contains(active);
  }

  // A field of the part that holds something other than what the page came with: a time typed
  // into a status change, a box ticked, a choice made, not yet sent.
  function hasTypedInput(part) {
    for (const field of part.querySelectorAll("input, textarea, select")) {
      if (field.type === "hidden" || field.type === "submit" || field.type === "button") {
        continue;
      }
      if (field.type === "checkbox" || field.type === "radio") {
        if (field.checked !== field.defaultChecked) {
          return true;
        }
      } else if (field.tagName === "SELECT" && !field.multiple) {
        // With no option marked selected, the browser shows the first.
        const marked = Array.prototype.findIndex.call(field.options, (o) => o.defaultSelected);
        if (field.options.length && field.selectedIndex !== Math.max(marked, 0)) {
          return true;
        }
      } else if (field.tagName === "SELECT") {
        for (const option of field.options) {
          if (option.selected !== option.defaultSelected) {
            return true;
          }
        }
      } else if (field.value !== field.defaultValue) {
        return true;
      }
    }
    return false;
  }

  // In use: a form open in it, the focus in it, something typed in it and not sent, or an htmx
  // request of it on its way (whose answer would land in a part no longer on the page).
  function inUse(part) {
    return (
      hasOpenForm(part) ||
      hasFocus(part) ||
      hasTypedInput(part) ||
      part.matches(".htmx-request") ||
      part.querySelector(".htmx-request") !== null
    );
  }

  // The part whose form is open (the focused one first), for the others' presence line.
  function editingPart() {
    const focused = partOf(document.activeElement);
    if (focused && hasOpenForm(focused)) {
      return focused.id;
    }
    const open = partOf(document.querySelector(OPEN));
    return open ? open.id : "";
  }

  function partLabel(name) {
    const part = document.getElementById(name);
    if (!part) {
      return "";
    }
    const heading = part.querySelector("h2, h3");
    return (part.getAttribute("aria-label") || (heading && heading.textContent) || "").trim();
  }

  function showPresence(present) {
    if (!present.length) {
      bar.hidden = true;
      presenceLine.textContent = "";
      return;
    }
    const people = present.map(function (person) {
      const label = person.editing ? partLabel(person.editing) : "";
      return label ? person.username + " (editing " + label + ")" : person.username;
    });
    presenceLine.textContent = "Also on this page: " + people.join(", ") + ".";
    bar.hidden = false;
  }

  function noticeFor(name) {
    return document.querySelector('[data-live-notice="' + CSS.escape(name) + '"]');
  }

  function dropNotice(name) {
    const notice = noticeFor(name);
    if (notice) {
      notice.remove();
    }
    pending.delete(name);
  }

  function showNotice(name, by) {
    const part = document.getElementById(name);
    pending.set(name, { by: by, node: part });
    let notice = noticeFor(name);
    if (!notice) {
      notice = document.createElement("p");
      notice.className = "live-notice";
      notice.setAttribute("role", "status");
      notice.dataset.liveNotice = name;
      part.before(notice);
    }
    notice.textContent = (by || "Someone") + " changed this part. ";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button secondary small";
    button.textContent = "Show";
    button.addEventListener("click", function () {
      const now = document.getElementById(name);
      if (
        now &&
        hasOpenForm(now) &&
        !window.confirm("Showing their change closes the form you have open here. Show it?")
      ) {
        return;
      }
      fetchParts([name], true);
    });
    notice.append(button);
  }

  // Fetch the named parts and put each in place, unless the person started working in it
  // meanwhile (then it waits, with its notice), or `force` (they asked for it).
  async function fetchParts(names, force) {
    if (!names.length) {
      return;
    }
    const query = names.map((name) => "name=" + encodeURIComponent(name)).join("&");
    const response = await fetch(partsUrl + "?" + query, {
      cache: "no-store",
      credentials: "same-origin",
    });
    if (!response.ok || response.redirected) {
      return;
    }
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const name of names) {
      const current = document.getElementById(name);
      const replacement = fresh.getElementById(name);
      if (!current || !replacement) {
        continue;
      }
      if (!force && inUse(current)) {
        continue;
      }
      const node = document.importNode(replacement, true);
      current.replaceWith(node);
      if (window.htmx) {
        window.htmx.process(node);
      }
      dropNotice(name);
    }
  }

  // Parts waiting for the person to leave them: fetched once they have; a part htmx already
  // replaced (their save or Cancel answers with it as it is now) needs nothing more.
  function settlePending() {
    const ready = [];
    for (const [name, wait] of pending) {
      const part = document.getElementById(name);
      if (!part) {
        dropNotice(name);
      } else if (part !== wait.node) {
        dropNotice(name);
      } else if (!inUse(part)) {
        ready.push(name);
      }
    }
    return fetchParts(ready, false);
  }

  async function applyChanges(state) {
    const since = serial;
    serial = state.serial;
    const now = [];
    for (const [name, mark] of Object.entries(state.parts)) {
      const part = document.getElementById(name);
      // One's own change is on the page already: htmx put the part in place when it was saved.
      if (mark.serial <= since || !part || mark.mine) {
        continue;
      }
      if (inUse(part)) {
        showNotice(name, mark.by);
      } else {
        now.push(name);
      }
    }
    await fetchParts(now, false);
  }

  async function poll() {
    if (busy || stopped) {
      return;
    }
    busy = true;
    try {
      lastEditing = editingPart();
      const headers = { Accept: "application/json" };
      if (etag) {
        headers["If-None-Match"] = etag;
      }
      const response = await fetch(stateUrl + "?editing=" + encodeURIComponent(lastEditing), {
        headers: headers,
        cache: "no-store",
        credentials: "same-origin",
      });
      if (response.redirected || response.status === 404) {
        // Logged out, or the incident is gone: nothing more to follow here.
        stopped = true;
        return;
      }
      if (response.status === 200) {
        etag = response.headers.get("ETag");
        const state = await response.json();
        showPresence(state.present);
        if (state.serial !== serial) {
          await applyChanges(state);
        }
      }
      await settlePending();
    } catch (error) {
      // A lost connection: the next poll tries again.
    } finally {
      busy = false;
      schedule();
    }
  }

  function schedule(delay) {
    clearTimeout(timer);
    if (stopped) {
      return;
    }
    // A hidden tab asks less often; it still counts as having the page open.
    const wait = delay !== undefined ? delay : document.hidden ? interval * 4 : interval;
    timer = setTimeout(poll, wait);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      schedule(0);
    }
  });
  // Opening or leaving a form tells the others soon, not only at the next interval.
  function editingMayHaveChanged() {
    if (!busy && editingPart() !== lastEditing) {
      schedule(200);
    }
  }
  document.addEventListener("focusin", editingMayHaveChanged);
  document.addEventListener("focusout", function () {
    setTimeout(editingMayHaveChanged, 0);
  });
  document.body.addEventListener("htmx:afterSettle", editingMayHaveChanged);

  // The page came with its counter: the first question can wait for the first interval.
  schedule();
})();
