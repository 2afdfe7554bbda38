"""The process entry point (``diagnose``, ``python -m diagnose``): answer ``--version`` at once.

``--version`` is typed many times a day and must start like a compiled tool, so it is answered
here without importing the command-line app (typer alone costs several times Python's own
start-up). Everything else goes to ``cli.main``. This module must import nothing beyond the
package's ``__init__``; ``tests/test_startup.py`` checks the import graph.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from diagnose import __version__

        sys.stdout.write(f"diagnose {__version__}\n")
        sys.stdout.flush()
        sys.exit(0)
    from diagnose.cli import main as cli_main

    cli_main(argv)
