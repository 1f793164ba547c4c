"""The package build's YASGUI step (setup.py): its notices, its reuse of files already fetched, and what it does
without npm (a distribution build fails saying why; an editable install warns; CNKG_WITHOUT_YASGUI=1 opts out)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def build(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("cnkg_setup", ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines the helpers; setup() runs only as __main__
    monkeypatch.setattr(module, "TARGET", tmp_path / "yasgui")
    monkeypatch.setenv("PATH", str(tmp_path / "no-npm-here"))
    monkeypatch.delenv(module.SKIP, raising=False)
    return module


def test_the_pin_is_exact_and_locked():
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert package["dependencies"] == {"@zazuko/yasgui": "4.6.2"}
    assert lock["packages"]["node_modules/@zazuko/yasgui"]["version"] == "4.6.2"
    assert all("integrity" in entry for name, entry in lock["packages"].items() if name)


def test_without_npm_a_distribution_build_fails_saying_how_to_fix_it(build):
    with pytest.raises(SystemExit) as stop:
        build.ensure(required=True)
    message = str(stop.value)
    assert "npm was not found" in message and "install Node.js with npm" in message
    assert "CNKG_WITHOUT_YASGUI=1" in message and "4.6.2" in message


def test_without_npm_an_editable_install_warns_and_goes_on(build, capsys):
    build.ensure(required=False)
    assert "plain editor" in capsys.readouterr().err
    assert not build.present()


def test_the_opt_out_builds_without_it(build, monkeypatch, capsys):
    monkeypatch.setenv(build.SKIP, "1")
    build.ensure(required=True)
    assert "building without the YASGUI editor" in capsys.readouterr().err


def test_files_of_the_pinned_version_are_reused_and_others_are_not(build):
    target = build.TARGET
    target.mkdir()
    for name in (*build.DIST_FILES, build.NOTICES):
        (target / name).write_text("x")
    (target / build.STAMP).write_text("4.6.2\n")
    build.ensure(required=True)  # no npm needed: nothing to fetch
    (target / build.STAMP).write_text("4.5.0\n")  # a stale copy from an older pin
    assert not build.present()
    with pytest.raises(SystemExit):
        build.ensure(required=True)


def test_notices_name_every_installed_package_with_its_licence_text(build, tmp_path):
    modules = tmp_path / "node_modules"
    for name, licence in (("@scope/inner", "MIT"), ("plain", {"type": "BSD-3-Clause"})):
        folder = modules / name
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(json.dumps({"name": name, "version": "1.2.3", "license": licence}))
        (folder / "LICENSE.md").write_text(f"the licence of {name}")
    text = build.notices(modules)
    assert "@scope/inner 1.2.3 (licence: MIT)" in text and "plain 1.2.3 (licence: BSD-3-Clause)" in text
    assert "the licence of @scope/inner" in text and "the licence of plain" in text
