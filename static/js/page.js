// The long pages people edit in place (base.html, signed-in pages only). Three jobs, all after
// htmx swaps a part of the page, none needed for the page to work without JavaScript:
// - focus: a swap replaces the element that had focus (the Save button, the row's Delete), and
//   the browser drops focus to the top of the document. It goes back where the person was: into
//   a form that just opened, onto the row just saved, onto the same control of a moved row, onto
//   "+ Add" after adding or deleting, onto the first field with an error.
// - the table of contents (incidents/partials/_toc.html) counts each part's rows again.
// - a health strip wider than its box scrolls so its first failure is in view.
(function () {
  "use strict";

  var before = new WeakMap(); // request -> where focus was when it was sent

  function idsAround(element) {
    var ids = [];
    for (var node = element; node && node !== document.body; node = node.parentElement) {
      if (node.id) ids.push(node.id);
    }
    return ids;
  }

  // The same control in a part drawn again: same kind of element, same destination, same
  // name and value (a moved row's "up" button is its new "up" button).
  function signature(element) {
    var form = element.closest("form");
    return [
      element.tagName,
      element.getAttribute("href") || element.getAttribute("hx-get") || "",
      form ? form.getAttribute("action") || "" : "",
      element.getAttribute("name") || "",
      element.getAttribute("value") || "",
    ].join("|");
  }

  function focusable(element) {
    return element.querySelector(
      "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])"
    );
  }

  function focusOn(element) {
    if (!element) return false;
    if (!element.matches("a[href], button, input, select, textarea, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus({ preventScroll: !isOffScreen(element) });
    if (isOffScreen(element)) element.scrollIntoView({ block: "nearest" });
    return document.activeElement === element;
  }

  function isOffScreen(element) {
    var box = element.getBoundingClientRect();
    return box.bottom < 0 || box.top > window.innerHeight;
  }

  function addLink(id) {
    return document.querySelector('[hx-target="#' + CSS.escape(id) + '"]');
  }

  function sectionStart(section) {
    return section.querySelector("p.add a") || section.querySelector("h2") || section;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var active = document.activeElement;
    if (!active || active === document.body) return;
    var rowForm = active.closest(".row-form");
    var addSlot = active.closest('[id^="add-"]');
    before.set(event.detail.xhr, {
      active: active,
      // "Edit" and "+ Add" open a form; a Cancel (inside the form it closes) does not.
      opener: active.hasAttribute("hx-get") && !active.closest("form"),
      ids: idsAround(active),
      signature: signature(active),
      rowFormId: rowForm ? rowForm.id : "",
      addSlotId: addSlot ? addSlot.id : "",
      forms: new Set(document.querySelectorAll("form")),
    });
  });

  function restoreFocus(was) {
    // A form that just opened (Edit, "+ Add"): straight into its first field.
    if (was.opener) {
      var opened = Array.prototype.filter.call(document.querySelectorAll("form"), function (form) {
        return !was.forms.has(form) && focusable(form);
      });
      if (opened.length && focusOn(focusable(opened[0]))) return;
    }
    if (document.contains(was.active) && document.activeElement === was.active) return;
    // The same form drawn again (an error, a conflict): the first field that needs a look.
    if (was.rowFormId) {
      var again = document.getElementById(was.rowFormId);
      if (again) {
        var field = again.querySelector(".invalid input, .invalid select, .invalid textarea");
        var alert = again.querySelector('[role="alert"]');
        if (focusOn(field || alert || focusable(again))) return;
      }
    }
    // An add form closed: back on its "+ Add", ready for the next row.
    if (was.addSlotId && focusOn(addLink(was.addSlotId))) return;
    // Nearest first: the row (or text) that holds the control, then its section.
    for (var i = 0; i < was.ids.length; i++) {
      var id = was.ids[i];
      if (id === was.rowFormId) id = id.replace(/^row-form-/, "row-");
      var found = document.getElementById(id);
      if (!found) continue;
      var invalid = found.querySelector(".invalid input, .invalid select, .invalid textarea");
      if (invalid && focusOn(invalid)) return;
      if (/^section-/.test(id)) {
        if (focusOn(sectionStart(found))) return;
        continue;
      }
      var same = Array.prototype.find.call(found.querySelectorAll("a, button"), function (c) {
        return signature(c) === was.signature;
      });
      if (focusOn(same || found)) return;
    }
  }

  function recount() {
    document.querySelectorAll(".toc a[data-rows]").forEach(function (link) {
      var count = link.querySelector(".count");
      if (count) count.textContent = document.querySelectorAll(link.dataset.rows).length;
    });
  }

  function showFailures(root) {
    root.querySelectorAll(".strip-figure").forEach(function (figure) {
      var cell = figure.querySelector(".cell.failed");
      if (!cell || figure.scrollWidth <= figure.clientWidth) return;
      var offset = cell.getBoundingClientRect().left - figure.getBoundingClientRect().left;
      // A little of what came before stays in view, so the change from green to red shows.
      figure.scrollLeft += offset - figure.clientWidth / 4;
    });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var was = before.get(event.detail.xhr);
    if (was) {
      before.delete(event.detail.xhr);
      restoreFocus(was);
    }
    // Only a part drawn whole has its true rows: while one row is open as a form it is not a
    // row of the list, yet still counts.
    var part = event.target;
    if (part instanceof Element && (part.matches("section") || part.querySelector("section"))) {
      recount();
    }
  });
  document.addEventListener("htmx:load", function (event) {
    showFailures(event.detail.elt);
  });
  document.addEventListener("DOMContentLoaded", function () {
    showFailures(document);
  });

  // Escape closes the folded menu and puts focus back on its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var menu = document.querySelector("details.menu[open]");
    if (menu && getComputedStyle(menu.querySelector("summary")).display !== "none") {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
})();
