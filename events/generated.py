"""Files generated from the models (JSON Schemas, the command reference, the README's
settings table), kept in step with them: ``drift`` says what differs, ``write``
regenerates, ``main`` is the command line of every generator (``--check`` exits 1 on
drift, which is what the tests and ``make`` rely on)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

Files = Mapping[str, str]  # file name (relative to a directory) -> its full text


def json_text(document: Any) -> str:
    """One stable rendering, so a regenerated file differs only when its content does."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _present(directory: Path, owned: str | None, names: Any) -> dict[str, str]:
    """The files on disk: every ``owned`` one (a glob) or, without it, only the expected names."""
    if owned is not None:
        paths = list(directory.glob(owned)) if directory.exists() else []
    else:
        paths = [directory / name for name in names if (directory / name).exists()]
    return {path.relative_to(directory).as_posix(): path.read_text(encoding="utf-8") for path in paths}


def drift(expected: Files, directory: Path, owned: str | None = None) -> list[str]:
    """What differs between the generated files and those in ``directory``: [] when in
    step. With ``owned`` (a glob), files it matches that nothing generates are stale."""
    present = _present(directory, owned, expected)
    problems = [f"missing: {name}" for name in sorted(expected.keys() - present.keys())]
    problems += [f"stale (nothing generates it): {name}" for name in sorted(present.keys() - expected.keys())]
    problems += [f"out of date: {name}" for name in sorted(expected.keys() & present.keys()) if expected[name] != present[name]]
    return problems


def write(expected: Files, directory: Path, owned: str | None = None) -> list[str]:
    """Write every generated file (and remove stale ``owned`` ones); the names written."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in _present(directory, owned, expected).keys() - expected.keys():
        (directory / name).unlink()
    for name, text in expected.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return sorted(expected)


def main(
    argv: list[str] | None, *, prog: str, description: str, directory: Path, generate: Callable[[], Files],
    owned: str | None = None,
) -> int:
    """``prog`` writes the files into ``directory``; ``prog --check`` only reports drift."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 if the files differ from what the models generate")
    parser.add_argument("--dir", type=Path, default=directory)
    args = parser.parse_args(argv)
    if args.check:
        problems = drift(generate(), args.dir, owned)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"run: {prog}", file=sys.stderr)
        return 1 if problems else 0
    for name in write(generate(), args.dir, owned):
        print(args.dir / name)
    return 0
