"""The web UI served by Flask (server/ui.py): the query page, its assets and /lineage/<name>.svg.

The same page in a real browser is tested in test_ui_browser.py.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cnkg.iris import PREFIX_IRIS
from cnkg.server import create_app, ui

STATIC = Path(__file__).resolve().parents[1] / "server" / "static"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(scope="module")
def app(article_kg):
    return create_app({"QUERY_TIMEOUT": 5.0}, graph=article_kg)


@pytest.fixture
def client(app):
    return app.test_client()


def canned_block(page: str) -> list[dict]:
    found = re.search(r'<script type="application/json" id="canned-queries">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def test_query_page_lists_every_named_query_with_its_text(client, article_kg):
    response = client.get("/")
    assert response.status_code == 200 and response.content_type == "text/html; charset=utf-8"
    page = response.data.decode()
    for element in ('<textarea id="query"', '<select id="canned"', 'id="run"', '<table id="results"',
                    'id="error"', 'id="lineage-name"'):
        assert element in page
    canned = canned_block(page)
    assert [q["name"] for q in canned] == sorted(article_kg.queries)
    for q in canned:
        assert q["text"] == article_kg.queries[q["name"]].text
        assert f'<option value="{q["name"]}"' in page
    assert "Content-Security-Policy" in response.headers
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_browsers_asking_for_html_at_sparql_get_the_query_page(client):
    response = client.get("/sparql", headers=HTML)
    assert response.status_code == 200 and response.content_type == "text/html; charset=utf-8"
    assert '<textarea id="query" name="query"' in response.data.decode()
    assert response.headers["Vary"] == "Accept"
    # machines still get the service description
    assert client.get("/sparql", headers={"Accept": "text/turtle"}).content_type.startswith("text/turtle")


def test_page_works_without_javascript_as_a_get_form(client):
    page = client.get("/").data.decode()
    assert '<form id="query-form" action="/sparql" method="get">' in page
    assert 'name="query"' in page and 'name="format"' in page


def test_no_external_urls_in_page_script_or_style(client):
    """Offline: the only absolute URLs are data (w3id.org IRIs) and the namespaces of SPARQL PREFIX lines."""
    texts = {"page": client.get("/").data.decode()}
    for asset in ("ui.js", "ui.css"):
        response = client.get(f"/static/ui/{asset}")
        assert response.status_code == 200
        texts[asset] = response.data.decode()
        assert texts[asset] == (STATIC / asset).read_text()
    for name, text in texts.items():
        for match in re.finditer(r"https?://[^\s\"'<>\\]*", text):
            url = match.group(0)
            line_start = max(text.rfind("\n", 0, match.start()), text.rfind("\\n", 0, match.start()))
            before = text[line_start:match.start()]
            prefix_line = re.search(r"PREFIX\s+[\w-]*:\s*(<|&lt;|\\u003c)$", before)
            namespace = url in PREFIX_IRIS.values()  # the predeclared prefixes, offered to the editor's completion
            assert url.startswith("https://w3id.org/cnkg/") or prefix_line or namespace, f"{name}: external URL {url}"
    assert "<script src=\"/static/ui/ui.js\"></script>" in texts["page"]


def _loaded(page: str) -> list[str]:
    """What the page makes a browser load: script sources, style sheets, images, frames."""
    return re.findall(r'<(?:script|img|iframe)\b[^>]*\bsrc="([^"]*)"|<link\b[^>]*\bhref="([^"]*)"', page)


def test_with_yasgui_the_page_loads_it_from_the_package_and_allows_inline_styles_only(client):
    if ui.yasgui_version() is None:
        pytest.skip("the YASGUI files are absent (server/static/yasgui/): pip install -e . with npm on the PATH")
    response = client.get("/")
    page = response.data.decode()
    loaded = {src or href for src, href in _loaded(page)}
    assert loaded == {"/static/ui/yasgui/yasgui.min.js", "/static/ui/yasgui/yasgui.min.css", "/static/ui/ui.js", "/favicon.ico",
                      "/static/ui/ui.css", "/static/search.js"}
    assert '<div id="yasgui"' in page and 'id="editor-note"' not in page
    assert json.loads(re.search(r'id="ui-config">(.*?)</script>', page, re.DOTALL).group(1))["editor"] == "yasgui"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "connect-src 'self';" in csp and "default-src 'none'" in csp
    assert "style-src 'self' 'unsafe-inline';" in csp
    for asset in ("yasgui.min.js", "yasgui.min.css"):
        served = client.get(f"/static/ui/yasgui/{asset}")
        assert served.status_code == 200 and served.data == (STATIC / "yasgui" / asset).read_bytes()
    css = (STATIC / "yasgui" / "yasgui.min.css").read_text()
    assert "@import" not in css and not re.search(r"url\(\s*['\"]?(https?:)?//", css)


def test_without_the_yasgui_files_the_plain_editor_says_how_to_get_them(client, monkeypatch, tmp_path):
    monkeypatch.setattr(ui, "YASGUI_DIR", tmp_path)
    response = client.get("/")
    page = response.data.decode()
    assert "yasgui" not in "".join(src or href for src, href in _loaded(page))
    assert 'id="editor-note"' in page and "pip install -e ." in page and "npm" in page
    assert '<textarea id="query"' in page
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


def test_the_plain_editor_can_be_chosen(graph):
    page = create_app({"UI_EDITOR": "textarea"}, graph=graph).test_client().get("/").data.decode()
    assert "yasgui" not in page and 'id="editor-note"' not in page and '<textarea id="query"' in page


def test_lineage_svg(client):
    response = client.get("/lineage/Jaeger.svg")
    assert response.status_code == 200
    assert response.content_type == "image/svg+xml; charset=utf-8"
    body = response.data.decode()
    assert "<svg" in body and "Jaeger" in body and "Dapper" in body
    assert client.get("/lineage/jaeger.svg").data == response.data  # names resolve case-insensitively


def test_lineage_svg_of_an_unknown_name_is_a_404_in_the_error_shape(client):
    response = client.get("/lineage/Jaegr.svg")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["status"] == 404 and "Jaegr" in error["message"] and "Jaeger" in error["message"]


def test_favicon_is_served_so_no_page_logs_a_404(client):
    """Regression: every page logged a 404 for /favicon.ico in the browser's console."""
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<svg")
    for path in ("/", "/id/jaeger", "/queries", "/ontology", "/search?q=jaeger"):
        page = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
        assert 'rel="icon" href="/favicon.ico"' in page, path


@pytest.mark.parametrize("path", ["/", "/id/jaeger", "/queries", "/ontology", "/search?q=jaeger"])
def test_every_page_links_every_part_of_the_site(client, path):
    page = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
    nav = page[page.index('<nav class="site-nav"'):page.index("</nav>", page.index('<nav class="site-nav"'))]
    for href in ('href="/"', 'href="/queries"', 'href="/ontology"', 'href="/search"', 'href="/sparql"'):
        assert href in nav, (path, href)


def test_the_first_query_answers_on_a_fresh_install(client):
    """Regression: the page opened with the first named query by name (article-then-and-now), which needs
    imported snapshots: on a fresh install, rows of "not in any imported landscape snapshot"."""
    page = client.get("/").get_data(as_text=True)
    assert '<option value="lineage" selected>' in page
    assert ui.first_query({"lineage", "article-then-and-now"}, []) == "lineage"
    from cnkg.namespaces import landscape_graph

    assert ui.first_query({"lineage", "article-then-and-now"}, [landscape_graph("landscape-2026-08-07")]) == \
        "article-then-and-now"
