// Owner fields (core.forms.PersonInput): a text box for a username, with a <datalist> beside it.
// As someone types, the few active people whose username or name starts with the text are asked
// for (the data-people URL) and offered in the datalist; the page itself never lists every user.
// One listener on the document, so rows htmx swaps in later work too. Without JavaScript the box
// still takes a typed username, and the form answers an unknown one beside the field.
(function () {
  "use strict";

  var WAIT_MS = 150;

  function isPersonInput(element) {
    return element instanceof HTMLInputElement && element.hasAttribute("data-people");
  }

  function option(person) {
    var element = document.createElement("option");
    element.value = person.username;
    if (person.name) {
      element.label = person.name;
    }
    return element;
  }

  function suggest(input) {
    var list = input.list;
    var typed = input.value.trim();
    if (!list) {
      return;
    }
    if (!typed) {
      list.replaceChildren();
      return;
    }
    var url = input.getAttribute("data-people") + "?q=" + encodeURIComponent(typed);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : { people: [] };
      })
      .then(function (answer) {
        // An answer to an older keystroke must not replace the one to the latest.
        if (input.value.trim() !== typed) {
          return;
        }
        list.replaceChildren.apply(list, answer.people.map(option));
      })
      .catch(function () {
        // Offline or signed out: the box still takes a typed username.
      });
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!isPersonInput(input)) {
      return;
    }
    window.clearTimeout(input._peopleTimer);
    input._peopleTimer = window.setTimeout(function () {
      suggest(input);
    }, WAIT_MS);
  });
})();
