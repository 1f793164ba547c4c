// The cnkg query page: vanilla JavaScript, no requests to any other origin. The editor is YASGUI when the page
// loaded it (the package carries its files), otherwise the plain textarea with the table below.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const config = JSON.parse($("ui-config").textContent);
  const canned = JSON.parse($("canned-queries").textContent);
  const byName = new Map(canned.map((q) => [q.name, q]));
  const editor = $("query"), select = $("canned"), run = $("run");
  // held, not looked up: with YASGUI it moves into a tab's panel, which closing the tab takes off the page
  const notice = $("notice");

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    return node;
  }

  function show(node, visible) { node.hidden = !visible; }

  // ------------------------------------------------------------------ named queries

  // where a chosen named query goes: the textarea, or YASGUI's current tab once it runs
  let loadQuery = (q) => { editor.value = q.text; };

  function chooseCanned() {
    const q = byName.get(select.value);
    const link = $("canned-link");
    if (!q) { $("canned-summary").textContent = ""; show(link, false); return; }
    loadQuery(q);
    let note = q.summary;
    if (q.parameters.length) {
      note += " — parameters (" + q.parameters.join(", ") + ") take their defaults here; " +
              "edit the query or use the named query's own page to set them.";
      link.href = config.queries + encodeURIComponent(q.name);
    }
    $("canned-summary").textContent = note;
    show(link, q.parameters.length > 0);
  }
  select.addEventListener("change", chooseCanned);
  editor.addEventListener("input", () => {
    const q = byName.get(select.value);
    if (q && editor.value !== q.text) select.value = "";
  });

  // ------------------------------------------------------------------ results

  function localLink(iri) {
    if (iri.startsWith(config.idBase)) return config.idPath + iri.slice(config.idBase.length);
    return null;
  }

  // the predeclared prefixes, longest namespace first (id:stage/... before id:...)
  const namespaces = Object.entries(config.prefixes).sort((a, b) => b[1].length - a[1].length);

  function compact(iri) {
    for (const [prefix, ns] of namespaces) {
      if (iri.startsWith(ns) && iri.length > ns.length) return prefix + ":" + iri.slice(ns.length);
    }
    return null;
  }

  function cell(term) {
    const td = el("td");
    if (!term) return td;
    if (term.type === "uri") {
      const local = localLink(term.value), short = compact(term.value);
      if (local) td.append(el("a", short || term.value, { href: local, title: term.value }));
      else if (/^https?:/i.test(term.value)) {
        td.append(el("a", short || term.value, { href: term.value, title: term.value, class: "iri",
                                                  rel: "noopener noreferrer" }));
      } else td.append(el("span", short || term.value, { class: "iri", title: term.value }));
    } else if (term.type === "bnode") {
      td.append(el("span", "_:" + term.value, { class: "bnode" }));
    } else {
      // a literal as its value: dates as dates, numbers as numbers; the language tag small, the datatype on hover
      td.append(document.createTextNode(term.value));
      if (term["xml:lang"]) td.append(el("small", "@" + term["xml:lang"], { class: "lang" }));
      else if (term.datatype && !term.datatype.endsWith("#string")) {
        td.title = compact(term.datatype) || term.datatype;
        td.className = "typed";
      }
    }
    return td;
  }

  function renderTable(vars, rows) {
    const table = $("results");
    const head = table.tHead, body = table.tBodies[0];
    head.replaceChildren(); body.replaceChildren();
    const tr = el("tr");
    for (const v of vars) tr.append(el("th", v, { scope: "col" }));
    head.append(tr);
    for (const row of rows) {
      const line = el("tr");
      for (const v of vars) line.append(cell(row[v]));
      body.append(line);
    }
    show(table, true);
  }

  // an answer cut at the row limit says so where the reader looks, with how to get it all
  function showTruncation(headers) {
    if (!headers || headers.get("X-Result-Truncated") !== "true") { show(notice, false); return; }
    const limit = headers.get("X-Result-Limit");
    notice.replaceChildren(document.createTextNode(
      "Only the first " + limit + " results are shown: the answer was cut at the server's row limit. " +
      "Narrow the query (LIMIT, OFFSET, more specific patterns) or page through it with LIMIT and OFFSET; " +
      "the downloads below are cut at the same limit."));
    show(notice, true);
  }

  function renderDownloads(query, formats) {
    const box = $("downloads");
    box.replaceChildren(document.createTextNode("Download: "));
    formats.forEach((name, i) => {
      const params = new URLSearchParams({ query: query, format: name });
      if (i) box.append(document.createTextNode(" · "));
      box.append(el("a", name, { href: config.sparql + "?" + params.toString(), download: "" , class: "download",
                                 "data-format": name }));
    });
    show(box, true);
  }

  function clearOutput() {
    show($("results"), false); show($("raw"), false); show($("error"), false); show($("downloads"), false);
    show(notice, false);
    $("status").textContent = "";
  }

  async function errorMessage(response) {
    const text = await response.text();
    try {
      const body = JSON.parse(text);
      if (body && body.error) return body.error.message + " (" + body.error.status + ")";
    } catch (ignored) { /* not our error shape */ }
    return response.status + " " + (text || response.statusText);
  }

  async function runQuery(event) {
    if (event) event.preventDefault();
    const query = editor.value;
    clearOutput();
    run.disabled = true;
    $("status").textContent = "Running…";
    const started = performance.now();
    try {
      const response = await fetch(config.sparql, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded",
                   "Accept": "application/sparql-results+json, text/turtle;q=0.9" },
        body: new URLSearchParams({ query: query }).toString(),
      });
      const elapsed = ((performance.now() - started) / 1000).toFixed(2) + " s";
      if (!response.ok) {
        $("error").textContent = await errorMessage(response);
        show($("error"), true);
        $("status").textContent = "Failed after " + elapsed + ".";
        return;
      }
      const type = (response.headers.get("Content-Type") || "").split(";")[0].trim();
      showTruncation(response.headers);
      const truncated = response.headers.get("X-Result-Truncated") === "true"
        ? " (truncated at " + response.headers.get("X-Result-Limit") + ")" : "";
      if (type === "application/sparql-results+json") {
        const body = await response.json();
        if (typeof body.boolean === "boolean") {
          $("raw").textContent = "ASK → " + body.boolean;
          show($("raw"), true);
          $("status").textContent = "Answered in " + elapsed + ".";
        } else {
          const rows = body.results.bindings;
          renderTable(body.head.vars, rows);  // SELECT *: the server sends the query's order
          $("status").textContent = rows.length + " row" + (rows.length === 1 ? "" : "s") + truncated +
                                    " in " + elapsed + ".";
        }
        renderDownloads(query, config.resultFormats);
      } else {
        $("raw").textContent = await response.text();
        show($("raw"), true);
        const rows = response.headers.get("X-Result-Rows");
        $("status").textContent = (rows ? rows + " triples" : "Graph") + truncated + " in " + elapsed + ".";
        renderDownloads(query, config.rdfFormats);
      }
    } catch (err) {
      $("error").textContent = "The request failed: " + err.message;
      show($("error"), true);
      $("status").textContent = "";
    } finally {
      run.disabled = false;
    }
  }
  $("query-form").addEventListener("submit", runQuery);
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) runQuery(event);
  });

  // ------------------------------------------------------------------ lineage

  const img = $("lineage-img");
  img.addEventListener("load", () => { show($("lineage-figure"), true); });
  img.addEventListener("error", async () => {
    show($("lineage-figure"), false);
    let message = "could not load the lineage diagram";
    try {
      const response = await fetch(img.src, { headers: { Accept: "application/json" } });
      if (!response.ok) message = await errorMessage(response);
    } catch (ignored) { /* keep the generic message */ }
    $("lineage-error").textContent = message;
    show($("lineage-error"), true);
  });
  $("lineage-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("lineage-name").value.trim();
    show($("lineage-error"), false);
    if (!name) return;
    img.alt = "Lineage of " + name;
    img.src = config.lineage + encodeURIComponent(name) + ".svg";
    $("lineage-caption").replaceChildren(el("a", "open the SVG", { href: img.src }));
  });

  // ------------------------------------------------------------------ YASGUI

  // Completion must stay on this page: YASGUI's class and property completers ask an outside service (LOV). Its
  // defaults merge list settings item by item, so the list is replaced on the class, before YASGUI is built.
  const SPAM_PREFIXES = new Set(["leaks", "ping", "sirext"]);  // junk entries in YASGUI's bundled prefix list

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                                                      "'": "&#39;" }[c]));
  }

  // The editor's tokenizer starts each query with no prefixes and marks every predeclared one (cnkg:, id: ...)
  // as an error: its start state gets them, as the endpoint has them.
  function predeclarePrefixes(Yasqe) {
    const modes = Yasqe.modes || (window.CodeMirror && window.CodeMirror.modes);
    const factory = modes && modes.sparql11;
    if (!factory || factory.cnkgPrefixes) return;
    const wrapped = function () {
      const mode = factory.apply(this, arguments);
      const start = mode.startState;
      mode.startState = function () {
        const state = start.apply(this, arguments);
        state.prefixes = Object.assign({}, config.prefixes, state.prefixes || {});
        return state;
      };
      return mode;
    };
    wrapped.cnkgPrefixes = true;
    modes.sparql11 = wrapped;
  }

  // YASR's table writes a literal as "value"^^<datatype>: the value, a small language tag, the datatype on hover
  function literalsAsValues(Yasr) {
    const Table = Yasr && Yasr.plugins && Yasr.plugins.table;
    if (!Table || !Table.prototype.formatLiteral) return;
    Table.prototype.formatLiteral = function (term) {
      const value = escapeHtml(term.value);
      if (term["xml:lang"]) return value + ' <small class="lang">@' + escapeHtml(term["xml:lang"]) + "</small>";
      if (term.datatype && !term.datatype.endsWith("#string")) {
        return '<span class="typed" title="' + escapeHtml(compact(term.datatype) || term.datatype) + '">' +
               value + "</span>";
      }
      return value;
    };
  }

  function startYasgui() {
    const Yasgui = window.Yasgui, box = $("yasgui");
    if (config.editor !== "yasgui" || !Yasgui || !box) return false;
    predeclarePrefixes(Yasgui.Yasqe);
    literalsAsValues(Yasgui.Yasr);
    Yasgui.Yasqe.defaults.autocompleters = ["prefixes", "variables"];
    const bundled = Yasgui.Yasqe.Autocompleters.prefixes;
    Yasgui.Yasqe.registerAutocompleter({
      ...bundled,
      persistenceId: null,  // nothing in localStorage
      // this endpoint's predeclared prefixes first, then the bundled list (never fetched) without the junk
      get: (yasqe) => bundled.get(yasqe).then((entries) => {
        const ours = Object.entries(config.prefixes).map(([p, iri]) => p + ": <" + iri + ">");
        const taken = new Set(Object.keys(config.prefixes));
        const rest = entries.filter((entry) => {
          const name = entry.slice(0, entry.indexOf(":"));
          return !SPAM_PREFIXES.has(name) && !taken.has(name);
        });
        return ours.concat(rest);
      }),
    }, true);
    const first = byName.get(select.value);
    const endpoint = new URL(config.sparql, window.location.href).href;
    const yasgui = new Yasgui(box, {
      requestConfig: { endpoint: endpoint, method: "POST" },
      endpointCatalogueOptions: { getData: () => [], keys: [] },  // no outside endpoints to pick from
      copyEndpointOnNewTab: true,   // new tabs ask this endpoint too
      persistenceId: null,          // no tabs or queries in localStorage
      populateFromUrl: false,
      autofocus: false,
      tabName: first ? first.name : "Query",
      yasqe: { value: first ? first.text : "SELECT * WHERE { ?s ?p ?o } LIMIT 10" },
      yasr: { prefixes: config.prefixes },   // IRIs in the table as cnkg:, id: ... (the query's own PREFIXes too)
    });
    loadQuery = (q) => {
      const tab = yasgui.getTab();
      tab.setQuery(q.text);
      tab.setName(q.name);
    };
    // IRIs of our entities open their pages here, not at w3id.org
    new MutationObserver(() => {
      for (const a of box.querySelectorAll('a[href^="' + config.idBase + '"]')) {
        const local = localLink(a.getAttribute("href"));
        if (local) { a.title = a.getAttribute("href"); a.setAttribute("href", local); a.removeAttribute("target"); }
      }
    }).observe(box, { childList: true, subtree: true });
    // the answer of each tab's editor: an error in words beside the editor, a cut answer said so
    const watched = new WeakSet();
    function watch(tab) {
      const yasqe = tab && tab.getYasqe && tab.getYasqe();
      if (!yasqe || watched.has(yasqe)) return;
      watched.add(yasqe);
      yasqe.on("query", () => { show($("error"), false); show(notice, false); });
      yasqe.on("queryResponse", (instance, response) => {
        if (response instanceof Error) {
          let message = response.message;
          try {
            const body = JSON.parse(message);
            if (body && body.error) message = body.error.message + " (" + body.error.status + ")";
          } catch (ignored) { /* not our error shape: shown as it came */ }
          $("error").textContent = message;
          show($("error"), true);
          return;
        }
        showTruncation(response && response.headers);
        // right above the answer it qualifies (the tab's results), not above the editor
        const yasr = tab.getYasr && tab.getYasr();
        if (yasr && yasr.rootEl) yasr.rootEl.before(notice);
      });
    }
    watch(yasgui.getTab());
    // a notice or an error belongs to the answer of the tab that was showing
    yasgui.on("tabSelect", () => { show($("error"), false); show(notice, false);
                                   setTimeout(() => watch(yasgui.getTab()), 0); });
    yasgui.on("tabAdd", () => setTimeout(() => watch(yasgui.getTab()), 0));
    // every format the endpoint writes, for the query just answered
    yasgui.on("queryResponse", (instance, tab) => {
      watch(tab);
      const form = tab.getYasqe().getQueryType();
      renderDownloads(tab.getQuery(), form === "CONSTRUCT" || form === "DESCRIBE"
        ? config.rdfFormats : config.resultFormats);
    });
    for (const id of ["query", "run-row", "output", "status", "error"]) show($(id), false);
    show(box, true);
    box.before($("error"), notice);   // errors beside the editor; a notice moves above its tab's results
    window.cnkgYasgui = yasgui;  // for the browser tests and the console
    return true;
  }

  startYasgui();
  chooseCanned();
})();
