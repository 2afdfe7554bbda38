"""skopeo's and podman's flag spellings, accepted as they type them.

skopeo and podman take Go-style boolean flags with a value (``--tls-verify=false``), which a
typer on/off pair (``--tls-verify/--no-tls-verify``) refuses. ``normalise`` rewrites those
spellings before the command line is parsed. Pure: it must not read ``sys.argv`` or print.
"""

from __future__ import annotations

from collections.abc import Sequence

# Go's strconv.ParseBool: the only spellings flag.BoolVar accepts.
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})

# flag -> (spelling when true, spelling when false)
BOOL_FLAGS: dict[str, tuple[str, str]] = {
    "--tls-verify": ("--tls-verify", "--no-tls-verify"),
}


class BadFlagValue(ValueError):
    """A Go-style boolean flag with a value Go would refuse too."""


def normalise(args: Sequence[str]) -> list[str]:
    """``args`` with ``--tls-verify=false`` as ``--no-tls-verify`` (and ``=true`` as
    ``--tls-verify``); everything after ``--`` is left alone."""
    out: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            out.extend(args[index:])
            break
        name, sep, value = arg.partition("=")
        if sep and name in BOOL_FLAGS:
            on, off = BOOL_FLAGS[name]
            if value in _TRUE:
                out.append(on)
            elif value in _FALSE:
                out.append(off)
            else:
                raise BadFlagValue(
                    f'invalid boolean value "{value}" for {name}: use true or false (like skopeo)'
                )
            continue
        out.append(arg)
    return out
