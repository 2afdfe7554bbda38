"""``python -m diagnose``: the same as the ``diagnose`` command."""

from __future__ import annotations

from diagnose.entry import main

main()
