// The cnkg query page: vanilla JavaScript, no libraries, no requests to any other origin.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const config = JSON.parse($("ui-config").textContent);
  const canned = JSON.parse($("canned-queries").textContent);
  const byName = new Map(canned.map((q) => [q.name, q]));
  const editor = $("query"), select = $("canned"), run = $("run");

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    return node;
  }

  function show(node, visible) { node.hidden = !visible; }

  // ------------------------------------------------------------------ named queries

  function chooseCanned() {
    const q = byName.get(select.value);
    const link = $("canned-link");
    if (!q) { $("canned-summary").textContent = ""; show(link, false); return; }
    editor.value = q.text;
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

  function cell(term) {
    const td = el("td");
    if (!term) return td;
    if (term.type === "uri") {
      const local = localLink(term.value);
      if (local) td.append(el("a", term.value.slice(config.idBase.length), { href: local, title: term.value }));
      else td.append(el("span", term.value, { class: "iri" }));
    } else if (term.type === "bnode") {
      td.append(el("span", "_:" + term.value, { class: "bnode" }));
    } else {
      td.append(document.createTextNode(term.value));
      if (term["xml:lang"]) td.append(el("span", "@" + term["xml:lang"], { class: "lang" }));
      else if (term.datatype && !term.datatype.endsWith("#string")) {
        td.title = term.datatype;
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
    $("status").textContent = "";
  }

  async function errorMessage(response) {
    const text = await response.text();
    try {
      const body = JSON.parse(text);
      if (body && body.error) return body.error.status + " " + body.error.message;
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
          renderTable(body.head.vars, rows);
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

  chooseCanned();
})();
