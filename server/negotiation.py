"""HTTP Accept parsing and choice (RFC 9110 §12.5.1), kept apart so it can be tested on its own.

Choice rule: the offer with the highest q wins, where an offer's q comes from the most specific matching range
(``text/turtle`` beats ``text/*`` beats ``*/*``); ties go to the server's order of preference. q=0 means "not this".
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    q: float = 1.0
    params: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def specificity(self) -> int:
        """2 for type/subtype, 1 for type/*, 0 for */*; parameters make a range more specific still."""
        if self.type == "*":
            return 0
        if self.subtype == "*":
            return 1
        return 2 + (1 if self.params else 0)

    def matches(self, media_type: str) -> bool:
        kind, _, sub = media_type.partition("/")
        return (self.type in ("*", kind)) and (self.subtype in ("*", sub))


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an Accept header; malformed pieces are skipped, as RFC 9110 lets a server do."""
    ranges = []
    for piece in (header or "").split(","):
        parts = [p.strip() for p in piece.split(";")]
        kind, slash, sub = parts[0].lower().partition("/")
        if not slash or not kind or not sub or (kind == "*" and sub != "*"):
            continue
        q, params = 1.0, {}
        for param in parts[1:]:
            name, _, value = param.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0  # an unreadable weight: treat as refused rather than guess
                break  # parameters after q are accept-extensions, not media-type parameters
            if name:
                params[name] = value
        ranges.append(MediaRange(kind, sub, q, params))
    return ranges


def quality(ranges: list[MediaRange], media_type: str) -> float:
    """How much the client wants ``media_type``: q of the most specific matching range, 0 if none matches."""
    best = None
    for r in ranges:
        if r.matches(media_type) and (best is None or r.specificity > best.specificity):
            best = r
    return best.q if best else 0.0


def choose(header: str | None, offers: list[str], aliases: dict[str, str] | None = None) -> str | None:
    """The best of ``offers`` (server preference order) for an Accept header, or None when none is acceptable.

    No or empty Accept means anything (RFC 9110), so the first offer. ``aliases`` maps a media type a client
    may ask for (``application/json``) to the offer it gets (``application/sparql-results+json``).
    """
    ranges = parse_accept(header)
    if not ranges:
        return offers[0] if offers and not (header or "").strip() else None
    scores = {offer: quality(ranges, offer) for offer in offers}
    for alias, offer in (aliases or {}).items():
        if offer in scores:
            exact = [r.q for r in ranges if r.type != "*" and r.subtype != "*" and r.matches(alias)]
            if exact:
                scores[offer] = max(scores[offer], max(exact))
    best = max(offers, key=lambda o: scores[o], default=None)  # max keeps the first of equals: server order
    return best if best is not None and scores[best] > 0 else None
