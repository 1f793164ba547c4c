"""Reading YAML that people wrote by hand, safely: bounded in size, depth and expansion, every problem with its line.

Both the fact files and landscape.yml files are hand-edited data, never programs or generated documents, so:

- **no aliases.** ``*name`` repeats an ``&name`` anchor's value without copying it; nine levels of nine aliases in
  a few hundred bytes expand to 9⁹ values in any reader that walks the data (the "billion laughs"). Neither format
  needs them (no real landscape.yml has ever used one), so an alias is an error at its line rather than a cap on
  the expanded size, which would still let a small file cost seconds and hundreds of MB before failing.
- **bounded nesting.** The facts need six levels and a landscape ten; deeper input is refused at the line where it
  goes too deep, before any recursive code sees it (libyaml itself stops at 1000 levels, Python at ~1000 frames).
- **bounded size.** The file is read once, at most ``limit`` bytes (a FIFO or ``/dev/zero`` cannot make us read
  forever); the caller keeps the bytes it checked.
- **no duplicate keys.** YAML says a mapping's keys are unique; PyYAML silently keeps the last. Both lines are named.
- **UTF-8 only**, with the line of the first byte that is not (a UTF-8 byte-order mark is accepted).

``compose`` returns PyYAML's node tree (each node keeps its start line) for the caller to read; the tree it returns
is a tree (no node reached twice), no deeper than ``max_depth``.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml

from .errors import InvalidInput, Problem

_Loader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


def read_bytes(path: Path, file: str, limit: int, what: str, option: str | None = None) -> bytes:
    """The file's bytes, read once and at most ``limit`` of them; a clear error when missing or too large.
    ``option``: the command-line option (taking mebibytes) that raises the limit, suggested in the error."""
    size = None
    try:
        with open(path, "rb") as stream:
            payload = _read_at_most(stream, limit + 1)
            if len(payload) > limit:
                info = os.fstat(stream.fileno())
                size = info.st_size if stat.S_ISREG(info.st_mode) else None
    except FileNotFoundError:
        raise InvalidInput([Problem(file, None, "no such file")]) from None
    except IsADirectoryError:
        raise InvalidInput([Problem(file, None, f"is a directory, not {what}")]) from None
    except OSError as exc:
        raise InvalidInput([Problem(file, None, f"cannot read: {exc.strerror or exc}")]) from None
    if len(payload) > limit:
        message = f"larger than {_mib(limit)}: too large for {what}; is it the right file?"
        if option:
            # the size in whole MiB when the file is a regular one (a FIFO or a device has none to give)
            message += (f" To read a file this large deliberately, give {option} "
                        + (f"{max(-(-size >> 20), (limit >> 20) + 1)} (it is {size:,} bytes)" if size
                           else "MIB"))
        raise InvalidInput([Problem(file, None, message)])
    return payload


def _read_at_most(stream, count: int) -> bytes:
    """At most ``count`` bytes, in chunks of 1 MiB: ``read(count)`` allocates ``count`` bytes at once, whatever the
    file holds, which a raised limit (``--max-size``) would make a large allocation for a small file."""
    chunks, total = [], 0
    while total < count:
        chunk = stream.read(min(1 << 20, count - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _mib(size: int) -> str:
    if size % (1 << 20) == 0:
        return f"{size >> 20} MiB"
    return f"{size >> 10} KiB" if size % (1 << 10) == 0 else f"{size:,} bytes"


def decode(payload: bytes, file: str) -> str:
    """UTF-8 text (a leading byte-order mark dropped); other encodings are an error at the line they start going
    wrong, naming the likely encoding."""
    if payload[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InvalidInput([Problem(file, 1, "the file is UTF-16 text (it starts with a UTF-16 byte-order mark); "
                                             "expected UTF-8: save it as UTF-8")])
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = payload[:exc.start].count(b"\n") + 1
        raise InvalidInput([Problem(file, line, f"not UTF-8 text: byte 0x{payload[exc.start]:02x} at byte "
                                                f"{exc.start} ({exc.reason}); expected UTF-8 (a Latin-1 or "
                                                "Windows-1252 file? save it as UTF-8)")]) from None


class _DepthLimitedLoader(yaml.SafeLoader):
    """The pure-Python composer, used only without libyaml: it recurses once per level, so it counts them."""

    max_depth = 32
    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nesting deeper than {self.max_depth} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def compose(text: str, file: str, max_depth: int, what: str) -> yaml.Node | None:
    """Parse ``text`` into nodes; raises ``InvalidInput`` with file and line for a syntax error, an alias, nesting
    deeper than ``max_depth`` or a duplicate key. ``None`` for an empty document."""
    if _Loader is yaml.SafeLoader:
        loader = type("Loader", (_DepthLimitedLoader,), {"max_depth": max_depth})(text)
    else:
        loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # libyaml places "end of file" one line past a last line without a newline: name the last line instead
        line = min(mark.line + 1, text.count("\n") + 1) if mark else None
        problem = exc.problem or exc.context or "not YAML"
        if "nesting" in problem:
            raise InvalidInput([_too_deep(file, line, max_depth, what)]) from None
        raise InvalidInput([Problem(file, line, f"YAML syntax error: {problem}")]) from None
    except yaml.reader.ReaderError as exc:  # a control character such as NUL or ESC: located by its position
        line = text[:exc.position].count("\n") + 1 if isinstance(exc.position, int) else None
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise InvalidInput([Problem(file, line, f"character U+{code:04X} is not allowed in YAML (control "
                                                "characters other than tab and line breaks); remove it")]) from None
    except yaml.YAMLError as exc:
        raise InvalidInput([Problem(file, None, f"YAML syntax error: {exc}")]) from None
    finally:
        loader.dispose()
    if root is None:
        return None
    problems = _check_tree(root, text, file, max_depth, what)
    if problems:
        raise InvalidInput(problems)
    return root


def _too_deep(file: str, line: int | None, max_depth: int, what: str) -> Problem:
    return Problem(file, line, f"nesting too deep: more than {max_depth} levels of lists and mappings; {what} "
                               "needs only a few")


def _check_tree(root: yaml.Node, text: str, file: str, max_depth: int, what: str) -> list[Problem]:
    """Walk the node graph without recursion: every node reached once (else an alias), no deeper than
    ``max_depth``, no duplicate keys."""
    problems: list[Problem] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            return [_alias_problem(text, file, what)]
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            continue
        if depth > max_depth:
            return [_too_deep(file, node.start_mark.line + 1, max_depth, what)]
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    line = key.start_mark.line + 1
                    if key.value in first:
                        problems.append(Problem(file, line, f"duplicate key {key.value!r} (first on line "
                                                            f"{first[key.value]}); keys of a mapping must differ"))
                    else:
                        first[key.value] = line
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in node.value)
    return problems


def _alias_problem(text: str, file: str, what: str) -> Problem:
    """The first alias, located from the event stream (linear: events are not expanded)."""
    anchors: dict[str, int] = {}
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            anchor_line = anchors.get(event.anchor)
            where = f" of the anchor &{event.anchor} on line {anchor_line}" if anchor_line else ""
            return Problem(file, event.start_mark.line + 1,
                           f"YAML alias *{event.anchor}{where}: aliases are not allowed in {what} (a few lines "
                           "can expand to gigabytes); write the value out")
        anchor = getattr(event, "anchor", None)
        if anchor:
            anchors[anchor] = event.start_mark.line + 1
    return Problem(file, None, f"a value is reused through a YAML alias: aliases are not allowed in {what}")
