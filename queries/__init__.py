"""The named SPARQL queries (``*.rq``), shipped as package data; see ``cnkg.named_queries``."""
