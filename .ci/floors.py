"""Print the lowest declared version of every runtime and test dependency, as pip pins.

Used by .ci/run to install exactly the floors pyproject.toml declares (``name>=X`` becomes
``name==X``) in a separate virtual environment. Linters and type stubs are left out: the
floor run only runs the tests.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

SKIP = ("ruff", "mypy", "types-")
FLOOR = re.compile(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][^,;\s]*)\s*(?:,\s*<\s*[0-9][^,;\s]*\s*)?")
"""``name>=X``, optionally with an upper bound ``,<Y`` (kept out of the floors venv)."""


def main() -> int:
    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    for spec in wanted:
        match = FLOOR.fullmatch(spec)
        if match is None:
            if not spec.startswith(SKIP):
                print(f"floors: {spec!r} has no >= floor", file=sys.stderr)
                return 1
            continue
        name, version = match.groups()
        if not name.startswith(SKIP):
            print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
