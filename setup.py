"""The package build's one custom step: the web UI's query editor, YASGUI, from its exact npm pin.

Everything else about the package is declared in pyproject.toml. YASGUI's files are never committed: a build from a
checkout runs ``npm ci --ignore-scripts`` on ``package.json`` + ``package-lock.json`` in a scratch directory and
copies ``yasgui.min.js``, ``yasgui.min.css`` and a generated ``THIRD-PARTY-NOTICES.txt`` (with a ``VERSION`` stamp)
into ``server/static/yasgui/``, from where they are shipped as ``cnkg.server`` package data, so the sdist and the
wheel carry them and ``pip install`` of either needs no Node.js.

Without npm:

* an sdist or a wheel built from a checkout fails with a message saying so (a release must not lose its editor
  silently), unless ``CNKG_WITHOUT_YASGUI=1`` is set, which builds without it;
* an editable install (``pip install -e .``) warns and goes on: the web UI then falls back to its plain editor and
  says how to get YASGUI;
* a build from an sdist never needs npm: the files are in it.

Files already there, of the pinned version, are reused.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
TARGET = ROOT / "server" / "static" / "yasgui"
PACKAGE = "@zazuko/yasgui"
DIST_FILES = ("yasgui.min.js", "yasgui.min.css")
NOTICES = "THIRD-PARTY-NOTICES.txt"
STAMP = "VERSION"
SKIP = "CNKG_WITHOUT_YASGUI"
LICENSE_NAMES = ("LICENSE", "LICENCE", "COPYING", "NOTICE")


class YasguiUnavailable(Exception):
    pass


def pinned_version() -> str | None:
    lock = ROOT / "package-lock.json"
    if not lock.is_file():  # an sdist carries the files, not necessarily the lock
        return None
    return json.loads(lock.read_text())["packages"][f"node_modules/{PACKAGE}"]["version"]


def present() -> bool:
    files = [TARGET / name for name in (*DIST_FILES, NOTICES, STAMP)]
    if not all(f.is_file() and f.stat().st_size for f in files):
        return False
    version = pinned_version()
    return version is None or (TARGET / STAMP).read_text().strip() == version


def fetch() -> None:
    """npm ci in a scratch directory; copy the dist files and write the notices into TARGET."""
    npm = shutil.which("npm")
    if npm is None:
        raise YasguiUnavailable("npm was not found on the PATH")
    with tempfile.TemporaryDirectory(prefix="cnkg-yasgui-") as scratch:
        work = Path(scratch)
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(ROOT / name, work / name)
        result = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                                cwd=work, capture_output=True, text=True, check=False)
        if result.returncode:
            raise YasguiUnavailable(f"npm ci failed (exit code {result.returncode}): "
                                    f"{(result.stderr or result.stdout).strip()[-2000:]}")
        modules = work / "node_modules"
        build = modules / PACKAGE / "build"
        TARGET.mkdir(parents=True, exist_ok=True)
        for name in DIST_FILES:
            shutil.copy2(build / name, TARGET / name)
        (TARGET / NOTICES).write_text(notices(modules), encoding="utf-8")
        (TARGET / STAMP).write_text(json.loads((modules / PACKAGE / "package.json").read_text())["version"] + "\n")


def notices(modules: Path) -> str:
    """Every npm package installed for YASGUI (what its bundle may contain): name, version, licence, and the text of
    its licence and notice files."""
    manifests = sorted({*modules.glob("*/package.json"), *modules.glob("@*/*/package.json")},
                       key=lambda p: p.parent.relative_to(modules).as_posix())
    parts = [("Third-party software in yasgui.min.js and yasgui.min.css, as installed by `npm ci` from cnkg's "
              "package-lock.json.\n")]
    for manifest in manifests:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        licence = meta.get("license")
        if isinstance(licence, dict):
            licence = licence.get("type")
        parts.append("=" * 78)
        parts.append(f"{meta['name']} {meta.get('version', '')} (licence: {licence or 'see below'})")
        if meta.get("homepage"):
            parts.append(str(meta["homepage"]))
        for text_file in sorted(manifest.parent.iterdir()):
            if text_file.is_file() and text_file.name.upper().startswith(LICENSE_NAMES):
                parts.append("")
                parts.append(text_file.read_text(encoding="utf-8", errors="replace").strip())
        parts.append("")
    return "\n".join(parts) + "\n"


def ensure(required: bool) -> None:
    if present():
        return
    if os.environ.get(SKIP) == "1":
        print(f"cnkg build: {SKIP}=1: building without the YASGUI editor (the web UI uses its plain editor)",
              file=sys.stderr)
        return
    try:
        fetch()
    except YasguiUnavailable as exc:
        message = (f"cnkg build: the YASGUI query editor could not be fetched ({exc}). It comes from npm "
                   f"(package-lock.json pins {PACKAGE} {pinned_version()}): install Node.js with npm")
        if required:
            raise SystemExit(f"{message}, or set {SKIP}=1 to build without it (the web UI then uses its plain "
                             "editor).") from None
        print(f"{message} and reinstall; until then the web UI uses its plain editor.", file=sys.stderr)


class BuildPy(build_py):
    """Before the package data is collected: YASGUI's files in server/static/yasgui/ (an editable install reads them
    there, a wheel copies them from there)."""

    def run(self):
        ensure(required=not getattr(self, "editable_mode", False))
        self.__dict__.pop("data_files", None)  # collected lazily: collect again, now that the files exist
        super().run()


class Sdist(sdist):
    """An sdist carries YASGUI's files, so that building a wheel from it needs no npm."""

    def run(self):
        ensure(required=True)
        super().run()


if __name__ == "__main__":  # (as the build backend runs it; tests import the helpers above)
    setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
