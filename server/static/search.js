// The search box on every page: suggestions as you type, from GET /search (JSON). Plain script, no libraries.
(function () {
  "use strict";
  var input = document.getElementById("site-search");
  var list = document.getElementById("site-search-suggestions");
  if (!input || !list || !window.fetch) { return; }
  var url = input.getAttribute("data-suggest");
  var timer = null;
  var latest = 0;
  var pages = {};   // a suggestion's label -> its entity page, to open it when the reader picks it

  function page(iri) {
    var base = "https://w3id.org/cnkg/id/";
    return iri.indexOf(base) === 0 ? (input.getAttribute("data-pages") || "/id/") + iri.slice(base.length) : null;
  }

  function show(hits) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    pages = {};
    hits.forEach(function (hit) {
      if (!(hit.label in pages)) { pages[hit.label] = page(hit.iri); }
      var option = document.createElement("option");
      option.value = hit.label;
      option.label = hit.types.length ? hit.label + " (" + hit.types[0] + ")" : hit.label;
      list.appendChild(option);
    });
  }

  function suggest() {
    var text = input.value.trim();
    if (text.length < 2) { show([]); return; }
    var asked = ++latest;
    fetch(url + "?limit=8&q=" + encodeURIComponent(text), { headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { hits: [] }; })
      .then(function (answer) { if (asked === latest) { show(answer.hits || []); } })
      .catch(function () { show([]); });
  }

  input.addEventListener("input", function (event) {
    // a suggestion picked from the list (no typing: Chromium says insertReplacementText, others nothing) opens
    // the entity's page; typing asks for suggestions
    var picked = !event.inputType || event.inputType === "insertReplacementText";
    if (picked && pages[input.value]) {
      window.location.assign(pages[input.value]);
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(suggest, 120);
  });
}());
