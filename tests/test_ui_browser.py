"""The web UI in a real headless browser: Debian's chromium driven by Playwright (never `playwright install`).

The app runs under cnkg's HTTP server on an ephemeral port on 127.0.0.1; the browser is launched with networking extras off,
so a page that tried to reach another origin would fail here. Set CNKG_SCREENSHOTS=<directory> to keep a
screenshot of each page the layout tests look at (CI keeps that folder as an artifact); CNKG_UI_SCREENSHOT=<file.png>
still saves the query page with results.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    pytest.skip("playwright is not installed (pip install -e '.[test]')", allow_module_level=True)
if not CHROMIUM.exists():  # pragma: no cover - depends on the environment
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)", allow_module_level=True)

import cnkg  # noqa: E402
from cnkg.server import create_app  # noqa: E402
from conftest import served  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 30_000


def _has_entity_pages() -> bool:
    """Whether the app routes /id/<slug> (the linked-data pages), probed on an app over an empty graph."""
    from rdflib import Dataset
    from werkzeug.exceptions import HTTPException

    app = create_app(graph=cnkg.KnowledgeGraph(Dataset()))
    try:
        app.url_map.bind("localhost").match("/id/jaeger", method="GET")
    except HTTPException:
        return False
    return True


@pytest.fixture(scope="module")
def base_url(article_kg):
    # the plain editor (YASGUI's page is tested below, on its own server)
    app = create_app({"QUERY_TIMEOUT": 20.0, "RATE_LIMIT_PER_MINUTE": 0, "UI_EDITOR": "textarea"}, graph=article_kg)
    with served(app, threads=4) as url:
        yield url


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=ARGS)
        context.set_default_timeout(TIMEOUT_MS)
        yield context
        context.close()


WINDOW = {"width": 1400, "height": 900}


def screenshot(page, name: str) -> None:
    """Keep a full-page screenshot as CNKG_SCREENSHOTS/<name>.png when that variable names a directory."""
    folder = os.environ.get("CNKG_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def page_width(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def _watched_page(context):
    """A new page and the list its script errors and console errors go to."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # HTTP errors the page handles (400 from a bad query, 404 from an unknown name) are logged too: not script errors
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    return page, errors


@pytest.fixture
def page(browser_context, base_url):
    page, errors = _watched_page(browser_context)
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(base_url) else None)
    yield page
    page.close()
    assert not outside, f"the page requested other origins: {outside}"
    assert not errors, f"errors in the browser console: {errors}"


def test_run_a_canned_query_and_see_the_table(page, base_url):
    page.goto(base_url + "/")
    page.select_option("#canned", "projects")
    assert "SELECT ?project ?name ?category ?stage" in page.input_value("#query")
    page.click("#run")
    rows = page.locator("#results tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() > 10
    expect(page.locator("#results")).to_contain_text("Jaeger")
    expect(page.locator("#results thead")).to_contain_text("name")
    # entity IRIs link to their local /id pages
    link = page.locator("#results a", has_text="jaeger").first
    assert link.get_attribute("href") == "/id/jaeger"
    expect(page.locator("#status")).to_contain_text("rows")
    formats = [a.get_attribute("data-format") for a in page.locator("#downloads a").all()]
    assert formats == ["json", "xml", "csv", "tsv"]
    csv = page.locator('#downloads a[data-format="csv"]').get_attribute("href")
    assert csv.startswith("/sparql?query=") and csv.endswith("format=csv")
    if os.environ.get("CNKG_UI_SCREENSHOT"):
        page.screenshot(path=os.environ["CNKG_UI_SCREENSHOT"], full_page=True)


def test_a_canned_query_with_parameters_runs_with_its_defaults(page, base_url):
    page.goto(base_url + "/")
    page.select_option("#canned", "projects-by-category")
    page.click("#run")
    expect(page.locator("#results tbody tr").first).to_be_visible()
    expect(page.locator("#results")).to_contain_text("Prometheus")


def test_errors_are_shown_from_the_json_error_shape(page, base_url):
    page.goto(base_url + "/")
    page.fill("#query", "SELECT ?x WHERE { ?x ?y }")
    page.click("#run")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("400")
    assert page.locator("#results").is_hidden()


def test_construct_results_are_shown_as_turtle_with_rdf_downloads(page, base_url):
    page.goto(base_url + "/")
    page.fill("#query", "CONSTRUCT { id:jaeger rdfs:label ?l } WHERE { id:jaeger rdfs:label ?l }")
    page.click("#run")
    expect(page.locator("#raw")).to_contain_text("Jaeger")
    formats = [a.get_attribute("data-format") for a in page.locator("#downloads a").all()]
    assert formats == ["turtle", "nt", "jsonld", "rdfxml", "trig", "nquads"]


def test_lineage_diagram_renders(page, base_url):
    page.goto(base_url + "/")
    page.fill("#lineage-name", "Jaeger")
    page.click("#lineage-show")
    image = page.locator("#lineage-img")
    expect(page.locator("#lineage-figure")).to_be_visible()  # shown by the image's load event
    # (not wait_for_function: its polling evaluates strings, which the page's Content-Security-Policy forbids)
    assert image.evaluate("img => img.complete && img.naturalWidth") > 0
    assert image.get_attribute("src").endswith("/lineage/Jaeger.svg")


def test_lineage_of_an_unknown_name_shows_the_error(page, base_url):
    page.goto(base_url + "/")
    page.fill("#lineage-name", "Jaegr")
    page.click("#lineage-show")
    expect(page.locator("#lineage-error")).to_contain_text("did you mean 'Jaeger'")


@pytest.mark.skipif(not _has_entity_pages(), reason="the entity pages /id/<slug> (server/pages.py) are not routed "
                                                     "yet; this test runs once they are")
def test_entity_page_shows_the_lineage_picture(page, base_url):
    page.goto(base_url + "/id/jaeger")
    expect(page.locator("#lineage svg").first).to_be_attached()
    box = page.locator("#lineage svg").first.bounding_box()
    assert box is not None and box["width"] > 0


# ------------------------------------------------------------------------------------------------ YASGUI

@pytest.fixture(scope="module")
def yasgui_url(article_kg):
    from cnkg.server.ui import yasgui_version

    if yasgui_version() is None:
        pytest.skip("the YASGUI files are absent (server/static/yasgui/): install with npm on the PATH "
                    "(pip install -e .) to fetch them")
    app = create_app({"QUERY_TIMEOUT": 20.0, "RATE_LIMIT_PER_MINUTE": 0}, graph=article_kg)
    with served(app, threads=4) as url:
        yield url


def _yasgui_page(context, url):
    """A page on a YASGUI server: any request leaving 127.0.0.1 is recorded, refused, and fails the test."""
    page, errors = _watched_page(context)
    outside: list[str] = []

    def guard(route):
        if route.request.url.startswith(url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(url + "/")
    expect(page.locator("#yasgui .yasqe .CodeMirror")).to_be_visible()
    yield page
    page.close()
    assert not outside, f"the page requested other origins: {outside}"
    assert not errors, f"errors in the browser console (a Content-Security-Policy violation shows here): {errors}"


@pytest.fixture
def ypage(browser_context, yasgui_url):
    yield from _yasgui_page(browser_context, yasgui_url)


def _hints(page) -> list[str]:
    hints = page.locator(".CodeMirror-hints li")
    expect(hints.first).to_be_visible()
    return [h.inner_text() for h in hints.all()]


def _type_on_a_new_line(page, text: str) -> None:
    page.locator("#yasgui .CodeMirror").click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type(text)


def test_yasgui_replaces_the_plain_editor_and_runs_a_named_query(ypage):
    assert ypage.locator("#query").is_hidden() and ypage.locator("#run").is_hidden()
    ypage.select_option("#canned", "projects")
    expect(ypage.locator("#yasgui .tabPanel.active .tab, #yasgui .tab.active").first).to_contain_text("projects")
    query = ypage.evaluate("() => window.cnkgYasgui.getTab().getQuery()")
    assert "SELECT ?project ?name ?category ?stage" in query
    assert ypage.evaluate("() => window.cnkgYasgui.getTab().getEndpoint()").endswith("/sparql")
    ypage.locator("#yasgui .yasqe_queryButton").click()
    rows = ypage.locator("#yasgui .yasr table tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() > 10
    expect(ypage.locator("#yasgui .yasr")).to_contain_text("Jaeger")
    # our entities' IRIs open their pages here
    expect(ypage.locator('#yasgui .yasr a[href="/id/jaeger"]').first).to_be_attached()
    assert ypage.locator('#yasgui a[href^="https://w3id.org/cnkg/id/"]').count() == 0
    formats = [a.get_attribute("data-format") for a in ypage.locator("#downloads a").all()]
    assert formats == ["json", "xml", "csv", "tsv"]


def test_yasgui_shows_a_graph_in_its_response_view_with_rdf_downloads(ypage):
    ypage.evaluate("() => { window.cnkgYasgui.getTab().setQuery("
                   "'CONSTRUCT { id:jaeger rdfs:label ?l } WHERE { id:jaeger rdfs:label ?l }'); }")
    ypage.locator("#yasgui .yasqe_queryButton").click()
    expect(ypage.locator("#yasgui .yasr")).to_contain_text("Jaeger")
    formats = [a.get_attribute("data-format") for a in ypage.locator("#downloads a").all()]
    assert formats == ["turtle", "nt", "jsonld", "rdfxml", "trig", "nquads"]


def test_yasgui_completion_is_local_and_its_prefix_list_has_ours_without_the_junk(ypage):
    _type_on_a_new_line(ypage, "PREFIX ")
    ypage.keyboard.press("Control+Space")
    hints = _hints(ypage)
    assert "cnkg: <https://w3id.org/cnkg/ontology#>" in hints
    assert not [h for h in hints if h.split(":")[0] in ("leaks", "ping", "sirext")]
    ypage.keyboard.press("Escape")
    # class and property positions: completers that would ask an outside service must not run
    _type_on_a_new_line(ypage, "SELECT * WHERE { ?project a ")
    ypage.keyboard.press("Control+Space")
    _type_on_a_new_line(ypage, "?project ")
    ypage.keyboard.press("Control+Space")
    _type_on_a_new_line(ypage, "?project cnkg:")
    ypage.keyboard.press("Control+Space")
    ypage.wait_for_timeout(1000)  # time for any request a completer would send (the ypage fixture checks)
    ypage.keyboard.press("Escape")
    _type_on_a_new_line(ypage, "?proj")
    ypage.keyboard.press("Control+Space")
    assert any(h.startswith("?project") for h in _hints(ypage))


def test_yasgui_keeps_nothing_in_local_storage(ypage):
    ypage.locator("#yasgui .yasqe_queryButton").click()
    expect(ypage.locator("#yasgui .yasr table tbody tr").first).to_be_visible()
    keys = ypage.evaluate("() => Object.keys(window.localStorage)")
    assert keys == [], keys


def test_the_lineage_view_stays_beside_yasgui(ypage):
    ypage.fill("#lineage-name", "Jaeger")
    ypage.click("#lineage-show")
    expect(ypage.locator("#lineage-figure")).to_be_visible()


# ------------------------------------------------------------------------------------------------ what a person sees


def test_textarea_results_use_prefixes_values_and_the_querys_column_order(page, base_url):
    page.set_viewport_size(WINDOW)
    page.goto(base_url + "/")
    page.fill("#query", "SELECT * WHERE { ?s cnkg:donatedIn ?year ; rdfs:label ?name ; cnkg:inCategory ?o } LIMIT 3")
    page.click("#run")
    expect(page.locator("#results tbody tr").first).to_be_visible()
    headers = [h.inner_text() for h in page.locator("#results thead th").all()]
    assert headers == ["s", "year", "name", "o"]          # the query's order, not the engine's
    first = page.locator("#results tbody tr").first
    assert first.locator("td").nth(0).inner_text().startswith("id:")                  # a prefixed name ...
    assert first.locator("td a").first.get_attribute("href").startswith("/id/")       # ... linked to its page
    assert '"' not in first.locator("td").nth(1).inner_text() and "^^" not in first.inner_text()
    assert page_width(page) <= WINDOW["width"]
    screenshot(page, "query-textarea-results")


def test_a_syntax_error_is_shown_in_words_beside_the_editor(page, base_url):
    page.set_viewport_size(WINDOW)
    page.goto(base_url + "/")
    page.fill("#query", "SELECT ?x WHERE { ?x a }")
    page.click("#run")
    error = page.locator("#error")
    expect(error).to_be_visible()
    text = error.inner_text()
    assert text.startswith("malformed SPARQL query at line 1, column 25") and "{" not in text
    box = error.bounding_box()
    assert box["x"] + box["width"] <= WINDOW["width"] and page_width(page) <= WINDOW["width"]
    screenshot(page, "query-syntax-error")


def test_picking_a_search_suggestion_opens_the_entity(page, base_url):
    page.goto(base_url + "/")
    page.fill("#site-search", "jaeg")
    expect(page.locator("#site-search-suggestions option").first).to_be_attached()
    # what choosing from the list does: the box holds the label, with no typing
    page.evaluate("""() => { const box = document.getElementById("site-search"); box.value = "Jaeger";
                             box.dispatchEvent(new InputEvent("input", { inputType: "insertReplacementText" })); }""")
    page.wait_for_url("**/id/jaeger")
    expect(page.locator("h1")).to_contain_text("Jaeger")


@pytest.mark.parametrize("path", ["/", "/id/jaeger", "/id/jaeger?view=all", "/queries", "/ontology",
                                  "/search?q=jaeger"])
def test_every_page_fits_the_window_and_has_the_site_links(page, base_url, path):
    page.set_viewport_size(WINDOW)
    page.goto(base_url + path)
    assert page_width(page) <= WINDOW["width"], path
    for name in ("Query", "Named queries", "Ontology", "Search", "SPARQL endpoint"):
        expect(page.locator("nav.site-nav a", has_text=name).first).to_be_visible()


def test_yasgui_results_fit_the_window_with_full_headers_and_prefixed_iris(ypage):
    ypage.set_viewport_size(WINDOW)
    ypage.select_option("#canned", "projects")
    ypage.locator("#yasgui .yasqe_queryButton").click()
    expect(ypage.locator("#yasgui .yasr table tbody tr").first).to_be_visible()
    assert page_width(ypage) <= WINDOW["width"]
    cut = ypage.evaluate("""() => [...document.querySelectorAll('#yasgui .yasr table thead th')]
                             .filter(th => th.scrollWidth > th.clientWidth + 1).map(th => th.innerText)""")
    assert cut == []
    expect(ypage.locator('#yasgui .yasr a[href="/id/jaeger"]', has_text="id:jaeger").first).to_be_attached()
    screenshot(ypage, "query-yasgui-results")


def test_yasgui_knows_the_predeclared_prefixes_and_shows_errors_in_words(ypage):
    valid = ypage.evaluate("""() => { const tab = window.cnkgYasgui.getTab();
        tab.setQuery('SELECT ?p ?l WHERE { ?p a cnkg:Project ; rdfs:label ?l } LIMIT 5');
        const yasqe = tab.getYasqe(); yasqe.checkSyntax(); return yasqe.queryValid; }""")
    assert valid is True                                        # no red marks for cnkg: and rdfs:
    ypage.evaluate("() => { window.cnkgYasgui.getTab().setQuery('SELECT ?x WHERE { ?x a }'); }")
    ypage.locator("#yasgui .yasqe_queryButton").click()
    expect(ypage.locator("#error")).to_contain_text("malformed SPARQL query at line 1, column 25")
    assert "{" not in ypage.locator("#error").inner_text()


ACTIVE = "#yasgui .tabPanel.active"   # the tab on show (each tab has its own editor and results)


def _yasgui_run(page, query: str) -> None:
    page.evaluate("q => { window.cnkgYasgui.getTab().setQuery(q); }", query)
    page.locator(ACTIVE + " .yasqe_queryButton").click()
    expect(page.locator(ACTIVE + " .yasr table tbody tr").first).to_be_visible()


def test_yasgui_shows_select_star_columns_in_the_querys_order(ypage):
    _yasgui_run(ypage, "SELECT * WHERE { ?s cnkg:donatedIn ?year ; rdfs:label ?name ; cnkg:inCategory ?o } LIMIT 3")
    headers = [h.inner_text().strip() for h in ypage.locator(ACTIVE + " .yasr table thead th").all()]
    assert headers[1:] == ["s", "year", "name", "o"]       # (the first column is YASR's row number)
    first = ypage.locator(ACTIVE + " .yasr table tbody tr").first.locator("td")
    assert first.nth(1).inner_text().startswith("id:") and first.nth(2).inner_text().strip().isdigit()


@pytest.fixture(scope="module")
def small_limit(article_kg):
    """Servers that cut every answer at 5 rows: (plain editor URL, YASGUI URL)."""
    from cnkg.server.ui import yasgui_version

    settings = {"QUERY_TIMEOUT": 20.0, "RATE_LIMIT_PER_MINUTE": 0, "MAX_ROWS": 5}
    with served(create_app({**settings, "UI_EDITOR": "textarea"}, graph=article_kg), threads=4) as plain, \
            served(create_app(settings, graph=article_kg), threads=4) as yasgui:
        yield plain, yasgui if yasgui_version() is not None else None


def _assert_cut_notice(page, results: str) -> None:
    """The notice is visible, says what happened and what to do, and sits just above the results it qualifies."""
    notice = page.locator("#notice")
    expect(notice).to_be_visible()
    text = notice.inner_text()
    assert "Only the first 5 results" in text and "row limit" in text and "OFFSET" in text
    box, table = notice.bounding_box(), page.locator(results).first.bounding_box()
    assert box["y"] + box["height"] <= table["y"] and table["y"] - (box["y"] + box["height"]) < 150, (box, table)
    assert box["x"] + box["width"] <= WINDOW["width"]


def test_an_answer_cut_at_the_row_limit_says_so_above_the_table(browser_context, small_limit):
    page, errors = _watched_page(browser_context)
    page.set_viewport_size(WINDOW)
    page.goto(small_limit[0] + "/")
    page.fill("#query", "SELECT * WHERE { ?s ?p ?o } LIMIT 20")
    page.click("#run")
    expect(page.locator("#results tbody tr").first).to_be_visible()
    assert page.locator("#results tbody tr").count() == 5
    _assert_cut_notice(page, "#results")
    page.fill("#query", "SELECT * WHERE { ?s ?p ?o } LIMIT 3")   # an answer that was not cut: no notice
    page.click("#run")
    expect(page.locator("#notice")).to_be_hidden()
    page.close()
    assert not errors, errors


def test_yasgui_says_an_answer_was_cut_at_the_row_limit_above_its_results(browser_context, small_limit):
    if small_limit[1] is None:
        pytest.skip("the YASGUI files are absent (server/static/yasgui/)")
    for page in _yasgui_page(browser_context, small_limit[1]):
        page.set_viewport_size(WINDOW)
        _yasgui_run(page, "SELECT * WHERE { ?s ?p ?o } LIMIT 20")
        assert page.locator(ACTIVE + " .yasr table tbody tr").count() == 5
        expect(page.locator(ACTIVE + " .yasr")).to_contain_text("5 results")
        _assert_cut_notice(page, ACTIVE + " .yasr table")
        # below the editor, not above it
        editor = page.locator(ACTIVE + " .yasqe").bounding_box()
        assert page.locator("#notice").bounding_box()["y"] >= editor["y"] + editor["height"]
        screenshot(page, "query-yasgui-row-limit")
        _yasgui_run(page, "SELECT * WHERE { ?s ?p ?o } LIMIT 3")
        expect(page.locator("#notice")).to_be_hidden()
        # a new tab's answer is not the cut one: the notice goes, and closing the tab that held it breaks nothing
        _yasgui_run(page, "SELECT * WHERE { ?s ?p ?o } LIMIT 20")
        expect(page.locator("#notice")).to_be_visible()
        page.evaluate("() => { window.cnkgYasgui.addTab(true); }")
        expect(page.locator("#notice")).to_be_hidden()
        _yasgui_run(page, "SELECT * WHERE { ?s ?p ?o } LIMIT 20")
        _assert_cut_notice(page, ACTIVE + " .yasr table")


# ------------------------------------------------------------------------------------------------ both snapshots


@pytest.fixture(scope="module")
def real_url(real):
    app = create_app({"QUERY_TIMEOUT": 20.0, "RATE_LIMIT_PER_MINUTE": 0, "UI_EDITOR": "textarea"}, graph=real[1])
    with served(app, threads=4) as url:
        yield url


def test_kubernetes_page_shows_what_a_reader_needs_above_the_fold(browser_context, real_url):
    """Targets of the reference view with both snapshots: stage, category, creator and the lineage picture
    visible without scrolling at 1400x900; the page at most 3,000 px tall and no wider than the window."""
    page, errors = _watched_page(browser_context)
    page.set_viewport_size(WINDOW)
    page.goto(real_url + "/id/kubernetes")
    for selector in ("#summary-stage", "#summary-category", "#summary-creator", "#lineage svg"):
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 60) <= WINDOW["height"], selector
    expect(page.locator("#summary-stage")).to_contain_text("Graduated")
    expect(page.locator("#summary-creator")).to_contain_text("Google")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height <= 3000, height
    assert page_width(page) <= WINDOW["width"]
    screenshot(page, "entity-kubernetes")
    page.goto(real_url + "/id/kubernetes?view=all")   # the complete table too: long values wrap in their cells
    assert page_width(page) <= WINDOW["width"]
    page.goto(real_url + "/id/kubernetes")
    # the picture's boxes open their pages (box and words are links to the same page: a click anywhere on it)
    page.locator('#lineage svg a[*|href="/id/borg"]').first.click(force=True)
    page.wait_for_url("**/id/borg")
    page.close()
    assert not errors, errors
