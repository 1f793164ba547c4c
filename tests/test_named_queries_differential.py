"""Every named query answers on Oxigraph as it did on rdflib: the same rows, as multisets (the real landscape data:
tests/test_landscape_real.py)."""
from __future__ import annotations

from differential import differences


def test_named_queries_on_the_article(article_kg):
    assert differences(article_kg) == {}
