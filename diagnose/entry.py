"""The process entry point (``diagnose``, ``python -m diagnose``): answer ``--version`` at once.

``--version`` is typed many times a day and must start like a compiled tool, so it is answered
here without importing the command-line app (typer alone costs several times Python's own
start-up). Everything else goes to ``cli.main``. This module must import nothing beyond the
package's ``__init__``; ``tests/test_startup.py`` checks the import graph.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: --version imports nothing it does not need
if TYPE_CHECKING:
    from typing import NoReturn


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from diagnose import __version__

        sys.stdout.write(f"diagnose {__version__}\n")
        sys.stdout.flush()
        sys.exit(0)
    from diagnose.cli import main as cli_main

    try:
        cli_main(argv)
    except SystemExit as done:
        leave(done.code)
    leave(0)


def leave(code: object) -> NoReturn:
    """End the process at once, the standard streams flushed.

    Every output is complete by now (files are written, closed and renamed before the command
    returns; pulls run on daemon threads). What a normal exit would add is tearing the
    interpreter down: freeing every object and module one by one, ~0.1 s of CPU, a fifth of a
    ``compare``. Only the process entry point does this; ``cli.main`` exits normally, so code
    calling it (tests) keeps running.
    """
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): Python prints it and exits 1
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or a closed stream
            status = status or 1
    os._exit(status)
