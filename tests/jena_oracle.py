"""Apache Jena ARQ, the SPARQL reference implementation, as an oracle that shares no code with Oxigraph.

Debian's ``libapache-jena-java`` (with a JDK: ``.ci/run`` installs both) provides the jars; ``tests/jena/Oracle.java``
is compiled once per test session into a temporary directory and runs as one JVM answering many queries over
stdin/stdout. :func:`unavailable` says why the oracle cannot run here (tests skip with that reason).

Comparison: answers are multisets of rows of RDF terms (:func:`solutions`), blank nodes compared only as blank
nodes (a row with one matches a row with any other in the same place).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path

JARS = Path(os.environ.get("CNKG_JENA_JARS", "/usr/share/java"))
SOURCE = Path(__file__).parent / "jena" / "Oracle.java"
# Jena 4.5 and what it needs at run time, as Debian names the jars (each a link to the versioned file)
_JARS = ["jena-arq", "jena-core", "jena-base", "jena-iri", "commons-cli", "commons-codec", "commons-compress",
         "commons-csv", "commons-io", "commons-lang3", "dexx.collection", "gson", "guava", "httpclient", "httpcore",
         "jackson-core", "jackson-databind", "jackson-annotations", "jsonld-java", "protobuf", "slf4j-api",
         "slf4j-nop", "thrift", "titanium-json-ld", "commons-logging"]
XSD = "http://www.w3.org/2001/XMLSchema#"


class OracleError(Exception):
    """Jena refused or failed a query (its message)."""


def unavailable() -> str | None:
    """Why the oracle cannot run here, or None when it can."""
    if not (shutil.which("java") and shutil.which("javac")):
        return "no Java (java and javac): apt-get install openjdk-17-jdk-headless"
    missing = [name for name in _JARS if not (JARS / f"{name}.jar").exists()]
    if missing:
        return f"Apache Jena is not installed ({', '.join(missing)}.jar absent from {JARS}): " \
               "apt-get install libapache-jena-java"
    return None


def _xerces_messages(target: Path) -> Path:
    """Debian's jena-core moves its bundled Xerces classes from ``org.apache.jena.ext.xerces`` to ``xerces`` but
    leaves their message bundles behind, so Jena dies at start-up ("internal error"); a jar with the bundles at the
    new place fixes it."""
    with zipfile.ZipFile(JARS / "jena-core.jar") as core, zipfile.ZipFile(target, "w") as out:
        for name in core.namelist():
            if name.startswith("org/apache/jena/ext/xerces/") and name.endswith(".properties"):
                out.writestr(name[len("org/apache/jena/ext/"):], core.read(name))
    return target


class Jena:
    """One JVM running Oracle.java: :meth:`load` an N-Quads file, then :meth:`ask` queries."""

    def __init__(self, workdir: Path) -> None:
        classpath = [str(JARS / f"{name}.jar") for name in _JARS] + [str(_xerces_messages(workdir / "xerces.jar"))]
        subprocess.run(["javac", "-nowarn", "-d", str(workdir), "-cp", os.pathsep.join(classpath), str(SOURCE)],
                       check=True, capture_output=True)
        self.process = subprocess.Popen(["java", "-Xss8m", "-cp", os.pathsep.join([str(workdir), *classpath]),
                                         "Oracle"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def _send(self, verb: str, text: str) -> tuple[str, bytes]:
        body = text.encode("utf-8")
        self.process.stdin.write(f"{verb} {len(body)}\n".encode() + body)
        self.process.stdin.flush()
        header = self.process.stdout.readline().decode().split()
        if not header:
            raise RuntimeError("the Jena oracle stopped")
        answer = self.process.stdout.read(int(header[-1]))
        if header[0] == "ERR":
            raise OracleError(answer.decode("utf-8", "replace"))
        return header[1], answer

    def load(self, nquads: Path) -> None:
        """The dataset of the next queries: the file's named graphs, and as the default graph the file's own
        default-graph quads (a dump of cnkg's store: its default graph is the current state) or, when it has none,
        the union of the named graphs (a file already loaded is not read again, so tests over different data may
        run in any order)."""
        if getattr(self, "loaded", None) != nquads:
            self._send("LOAD", str(nquads))
            self.loaded = nquads

    def ask(self, text: str) -> tuple[str, bytes]:
        """("json", SPARQL JSON results) or ("nt", N-Triples); OracleError when Jena refuses the query."""
        return self._send("QUERY", text)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)


def term(cell: dict | None):
    """A SPARQL JSON term as a comparable value (RDF 1.1 term equality: "x" and "x"^^xsd:string are one term;
    language tags compare case-insensitively; numbers by value, see _number); blank nodes all alike."""
    if cell is None:
        return None
    kind = cell["type"]
    if kind == "uri":
        return ("uri", cell["value"])
    if kind == "bnode":
        return ("bnode",)
    datatype = cell.get("datatype")
    if datatype == XSD + "string":
        datatype = None
    lang = cell.get("xml:lang")
    return ("literal", _number(cell["value"], datatype), datatype, lang.lower() if lang else None)


def _number(lexical: str, datatype: str | None):
    """A numeric literal's value: the lexical form of a computed number is the engine's choice (AVG gives "9" or
    "9.0", both xsd:decimal 9: XSD 1.1 §3.3.3), so numbers compare by value within their datatype."""
    if datatype in (XSD + "integer", XSD + "decimal"):
        try:
            return Decimal(lexical)
        except InvalidOperation:
            return lexical
    if datatype in (XSD + "double", XSD + "float"):
        try:
            return float(lexical.replace("INF", "inf"))
        except ValueError:
            return lexical
    return lexical


def solutions(body: bytes):
    """SPARQL JSON results as (sorted variables, Counter of rows) or the ASK boolean."""
    data = json.loads(body)
    if "boolean" in data:
        return bool(data["boolean"])
    variables = sorted(data["head"].get("vars", []))
    return variables, Counter(tuple(term(b.get(v)) for v in variables) for b in data["results"]["bindings"])


def triples(body: bytes) -> set:
    """N-Triples as a set of lines, blank node labels replaced by one name."""
    import re

    return {re.sub(r"_:\S+", "_:b", line.strip()) for line in body.decode().splitlines() if line.strip()}


def difference(cnkg_answer, jena_answer, limit: int = 3) -> str | None:
    """How two answers (from :func:`solutions` or :func:`triples`) differ, or None when they are equal."""
    if cnkg_answer == jena_answer:
        return None
    if isinstance(cnkg_answer, tuple) and isinstance(jena_answer, tuple):
        if cnkg_answer[0] != jena_answer[0]:
            return f"variables: cnkg {cnkg_answer[0]}, Jena {jena_answer[0]}"
        ours, theirs = cnkg_answer[1], jena_answer[1]
        return (f"cnkg {sum(ours.values())} rows, Jena {sum(theirs.values())}; only cnkg: "
                f"{list((ours - theirs).elements())[:limit]}; only Jena: {list((theirs - ours).elements())[:limit]}")
    if isinstance(cnkg_answer, set) and isinstance(jena_answer, set):
        return (f"cnkg {len(cnkg_answer)} triples, Jena {len(jena_answer)}; only cnkg: "
                f"{sorted(cnkg_answer - jena_answer)[:limit]}; only Jena: {sorted(jena_answer - cnkg_answer)[:limit]}")
    return f"cnkg {cnkg_answer!r}, Jena {jena_answer!r}"
