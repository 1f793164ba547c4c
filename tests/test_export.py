"""Export: every format round-trips (parse it back, same triples); quad formats keep the provenance graphs."""
from __future__ import annotations

import pytest
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

import cnkg
from cnkg.export import FORMATS, serialize
from cnkg.namespaces import CNKG, INFERRED_GRAPH


@pytest.fixture(scope="module")
def minimal_kg():
    from paths import MINIMAL_FACTS
    return cnkg.load(MINIMAL_FACTS, use_cache=False, landscapes=[])


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_round_trips(minimal_kg, fmt):
    rdflib_format, quads, _, _ = FORMATS[fmt]
    payload = serialize(minimal_kg.dataset, fmt)
    if quads:
        parsed = Dataset()
        parsed.parse(data=payload, format=rdflib_format)
        original = {(s, p, o, g) for s, p, o, g in minimal_kg.dataset.quads((None, None, None, None))}
        again = {(s, p, o, g) for s, p, o, g in parsed.quads((None, None, None, None)) if len(parsed.graph(g))}
        assert again == original
    else:
        parsed = Graph().parse(data=payload, format=rdflib_format)
        assert isomorphic(parsed, minimal_kg.graph())


def test_asserted_only_leaves_out_inferred(minimal_kg):
    payload = serialize(minimal_kg.dataset, "nquads", asserted_only=True)
    assert str(INFERRED_GRAPH).encode() not in payload
    parsed = Dataset().parse(data=payload, format="nquads")
    assert not list(parsed.quads((None, CNKG.hasAncestor, None, None)))
    assert list(parsed.quads((None, CNKG.inspiredBy, None, None)))
    full = serialize(minimal_kg.dataset, "nquads")
    assert str(INFERRED_GRAPH).encode() in full


def test_cli_export_to_file_and_stdout(minimal_kg, cli, tmp_path):
    from paths import MINIMAL_FACTS
    out = tmp_path / "kg.trig"
    result = cli("--facts", MINIMAL_FACTS, "export", "--format", "trig", "-o", out)
    assert result.code == 0
    assert len(Dataset().parse(out, format="trig")) > 0 or sum(1 for _ in Dataset().parse(out, format="trig").quads())
    result = cli("--facts", MINIMAL_FACTS, "export", "--format", "nt")
    assert result.code == 0
    assert len(Graph().parse(data=result.out, format="nt")) == len(minimal_kg.graph())


def test_written_files_get_ordinary_permissions(tmp_path):
    import os
    from cnkg.export import write_atomically
    target = tmp_path / "out.ttl"
    write_atomically(target, b"")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


# ------------------------------------------------------------------------------------------------ where output goes


@pytest.fixture
def payload_size(cli, tmp_path):
    """The size of the CLI's export of the minimal facts, written to a plain new file."""
    plain = tmp_path / "plain.ttl"
    assert _export(cli, plain).code == 0
    return plain.stat().st_size


def _export(cli, target):
    from paths import MINIMAL_FACTS
    return cli("--facts", MINIMAL_FACTS, "--no-cache", "export", "-o", target)


def test_export_over_a_symlink_replaces_the_file_it_points_to_not_the_link(cli, tmp_path, payload_size):
    """Regression: ``-o LINK`` renamed a regular file over the link."""
    real = tmp_path / "real.ttl"
    real.write_text("old\n")
    link = tmp_path / "link.ttl"
    link.symlink_to(real.name)
    assert _export(cli, link).code == 0
    assert link.is_symlink() and link.resolve() == real
    assert real.stat().st_size == payload_size


def test_export_to_a_device_or_fifo_writes_through_and_keeps_the_node(cli, tmp_path, payload_size):
    """Regression: run as root, ``-o /dev/full`` replaced the device node with a 9 MB regular file."""
    import os
    import stat
    import threading
    before = os.stat("/dev/null")
    assert _export(cli, "/dev/null").code == 0
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert _export(cli, fifo).code == 0
    reader.join(30)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert len(received[0]) == payload_size


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="no /dev/full here")
def test_export_to_a_full_device_is_exit_2_with_a_message(cli):
    result = _export(cli, "/dev/full")
    assert result.code == 2
    assert "cannot write /dev/full: No space left on device" in result.err
    assert __import__("stat").S_ISCHR(__import__("os").stat("/dev/full").st_mode)


def test_export_keeps_an_existing_files_permissions(cli, tmp_path):
    target = tmp_path / "private.ttl"
    target.write_text("old\n")
    target.chmod(0o600)
    assert _export(cli, target).code == 0
    assert target.stat().st_mode & 0o7777 == 0o600
    assert target.read_text() != "old\n"


def test_export_into_a_missing_directory_or_onto_a_directory_is_a_clear_error(cli, tmp_path):
    result = _export(cli, tmp_path / "nowhere" / "kg.ttl")
    assert result.code == 1
    assert "kg.ttl: cannot write: the directory" in result.err and "does not exist" in result.err
    assert "Traceback" not in result.err and ".tmp" not in result.err
    result = _export(cli, tmp_path)
    assert result.code == 1 and "it is a directory" in result.err


class _FullDisk:
    """A raw stream that takes ``room`` bytes, then fails as a full file system does."""

    def __init__(self, room: int = 0):
        import io

        class Raw(io.RawIOBase):
            def writable(self):
                return True

            def write(raw, data):
                import errno
                if self.room <= 0:
                    raise OSError(errno.ENOSPC, "No space left on device")
                taken = min(len(data), self.room)
                self.room -= taken
                return taken

        self.room = room
        self.stream = io.TextIOWrapper(io.BufferedWriter(Raw()), encoding="utf-8")


@pytest.mark.parametrize("room", [0, 4096])
def test_export_to_stdout_on_a_full_file_system_is_exit_2_not_a_short_file(monkeypatch, capsys, room):
    """Regression: ``cnkg export > file`` on a full file system exited 0 with the file cut short."""
    import sys
    from paths import MINIMAL_FACTS
    from cnkg.cli import main
    full = _FullDisk(room)
    monkeypatch.setattr(sys, "stdout", full.stream)
    code = main(["--facts", str(MINIMAL_FACTS), "export"])
    monkeypatch.undo()
    assert code == 2
    assert "cannot write to standard output: No space left on device" in capsys.readouterr().err


def test_small_printed_output_on_a_full_file_system_is_exit_2(monkeypatch, capsys):
    """Text printed by a command sits in a buffer until exit: it is flushed and checked before exit code 0."""
    import sys
    from paths import MINIMAL_FACTS
    from cnkg.cli import main
    monkeypatch.setattr(sys, "stdout", _FullDisk().stream)
    code = main(["--facts", str(MINIMAL_FACTS), "validate"])
    monkeypatch.undo()
    assert code == 2
    assert "cannot write to standard output" in capsys.readouterr().err


def test_an_export_from_the_cache_holds_what_a_fresh_build_holds(cli, tmp_path, monkeypatch, minimal_facts):
    """The cached store and a fresh build give the same quads (the order of lines may differ)."""
    monkeypatch.setenv("CNKG_CACHE_DIR", str(tmp_path / "cache"))
    cached = cli("--facts", minimal_facts, "export", "--format", "nquads")
    fresh = cli("--facts", minimal_facts, "--no-cache", "export", "--format", "nquads")
    assert cached.code == fresh.code == 0 and cached.out
    assert sorted(cached.out.splitlines()) == sorted(fresh.out.splitlines())
