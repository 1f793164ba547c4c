// The search box on every page: suggestions as you type, from GET /search (JSON). Plain script, no libraries.
(function () {
  "use strict";
  var input = document.getElementById("site-search");
  var list = document.getElementById("site-search-suggestions");
  if (!input || !list || !window.fetch) { return; }
  var url = input.getAttribute("data-suggest");
  var timer = null;
  var latest = 0;

  function show(hits) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    hits.forEach(function (hit) {
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

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(suggest, 120);
  });
}());
