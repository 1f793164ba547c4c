"""The Accept parser and chooser on their own (server/negotiation.py)."""
from cnkg.server.negotiation import choose, parse_accept, quality

SRJ, SRX, CSV, TSV = ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                      "text/tab-separated-values")
RESULTS = [SRJ, SRX, CSV, TSV]


def test_parse_ranges_with_q_and_params():
    ranges = parse_accept('text/turtle;charset="utf-8", application/*;q=0.5, */*;q=0.1')
    assert [(r.type, r.subtype, r.q) for r in ranges] == [("text", "turtle", 1.0), ("application", "*", 0.5),
                                                          ("*", "*", 0.1)]
    assert ranges[0].params == {"charset": "utf-8"}


def test_malformed_pieces_are_skipped_and_bad_q_refuses():
    ranges = parse_accept("garbage, text/csv;q=abc, */html, text/plain;q=2")
    assert [(r.type, r.subtype, r.q) for r in ranges] == [("text", "csv", 0.0), ("text", "plain", 1.0)]


def test_no_accept_header_means_the_first_offer():
    assert choose(None, RESULTS) == SRJ
    assert choose("", RESULTS) == SRJ


def test_q_values_decide():
    assert choose(f"{SRJ};q=0.5, {SRX}", RESULTS) == SRX
    assert choose("text/turtle, application/rdf+xml;q=0.5", ["application/rdf+xml", "text/turtle"]) == "text/turtle"


def test_most_specific_range_gives_the_quality():
    ranges = parse_accept("text/*;q=0.3, text/csv;q=0.9, */*;q=0.1")
    assert quality(ranges, CSV) == 0.9
    assert quality(ranges, TSV) == 0.3
    assert quality(ranges, SRJ) == 0.1


def test_wildcards_match_in_server_order():
    assert choose("*/*", RESULTS) == SRJ
    assert choose("text/*", RESULTS) == CSV


def test_q_zero_excludes():
    assert choose(f"*/*, {SRJ};q=0", RESULTS) == SRX
    assert choose("text/csv;q=0", RESULTS) is None


def test_nothing_acceptable_is_none():
    assert choose("image/png", RESULTS) is None
    assert choose("text/turtle", RESULTS) is None


def test_aliases_map_common_types_to_the_precise_offer():
    aliases = {"application/json": SRJ, "application/xml": SRX}
    assert choose("application/json", RESULTS, aliases) == SRJ
    assert choose("application/xml", RESULTS, aliases) == SRX
    # a browser: html is not offered, application/xml (0.9) beats */* (0.8)
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert choose(browser, RESULTS, aliases) == SRX


def test_case_insensitive_types():
    assert choose("TEXT/CSV", RESULTS) == CSV
