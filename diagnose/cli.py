"""The ``diagnose`` command line: parse, build transport, run, render, exit code.

This is the only module that touches the terminal, files named by the user, and exit
codes. It holds no registry logic: every decision lives in the pullers and rules.

Exit codes (README.md, docs/json-report.md): 0 every pull succeeded; 1 a pull failed and a diagnosis was
printed; 2 usage or input error; 3 the tool itself failed. Never a Python traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from diagnose import __version__
from diagnose.lab.modes import LabAuth, LabV1

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from contextlib import AbstractContextManager

    from rich.console import Console

    from diagnose.concurrency import Cancel
    from diagnose.http import ProgressSink
    from diagnose.model import ImageReference, Report
    from diagnose.tls_material import TlsMaterial

# Start-up (issue 9): ``--help``, ``ref`` and ``explain`` must not pay for what they do not
# use, so everything beyond typer is imported inside the command that needs it: requests
# (``run``/``transport``), the pullers and rules, rich (``render``), the lab and its
# ``http.server``. Option types (``LabAuth``, ``Path``) stay here: typer reads them at start.
# ``tests/test_startup.py`` checks the import graph of each command.


class ExitCode(IntEnum):
    OK = 0
    PULL_FAILED = 1
    USAGE = 2
    INTERNAL = 3


INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT, as shells report it)."""


class UsageProblem(Exception):
    """Bad input from the user: one line, exit code 2."""


app = typer.Typer(
    name="diagnose",
    help=(
        "Explain why a container-image pull failed: run a strict V2 pull (skopeo) and a "
        "docker-1.12-style V2-then-V1 pull side by side, record every HTTP exchange, and say why "
        "they disagree.\n\nExample: diagnose compare docker.io/library/thisimagedoesntexist"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},  # skopeo and docker take -h too
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"diagnose {__version__}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Why did that image pull fail? Example: diagnose compare ubuntu"""


def _stdout() -> Console:
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False, soft_wrap=False)


def _stderr() -> Console:
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False, stderr=True, soft_wrap=True)


def _note(text: str) -> None:
    """A progress line on stderr. Plain when stderr is not a terminal: rich would print the
    same characters, and a scripted ``--json`` run then never imports it (issue 9)."""
    if sys.stderr.isatty():
        _stderr().print(text, markup=False)
    else:
        print(text, file=sys.stderr, flush=True)


def _parse_ref(text: str) -> ImageReference:
    from diagnose.reference import InvalidReference, parse_reference

    if text.startswith("docker://"):
        # skopeo names the transport in the reference; the registry never sees it.
        text = text.removeprefix("docker://")
        _stderr().print(
            f"diagnose: note: reading docker://{text} as {text} (skopeo's transport prefix)", markup=False
        )
    try:
        return parse_reference(text)
    except InvalidReference as exc:
        raise UsageProblem(f"{text!r}: {exc}") from None


def _read_password(user: str, password_stdin: bool) -> str:
    """The password from stdin (``--password-stdin``) or a prompt on the terminal."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    try:
        interactive = sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):
        interactive = False
    if not interactive:
        raise UsageProblem(
            f"no password for {user!r}: give USER:PASSWORD or --password-stdin, "
            "or run on a terminal to be asked"
        )
    import getpass

    return getpass.getpass(f"Password for {user}: ", stream=sys.stderr)


def _credentials(
    creds: str | None, username: str | None, password_stdin: bool
) -> tuple[tuple[str, str], str] | None:
    """An explicit identity and where it came from: ``--creds USER[:PASS]`` or ``--username``,
    the password from the value, stdin or a prompt (as ``docker login`` asks for it)."""
    if creds is not None and username is not None:
        raise UsageProblem("give either --creds USER[:PASSWORD] or --username USER, not both")
    if creds is None and username is None:
        if password_stdin:
            raise UsageProblem("--password-stdin needs --username USER (or --creds USER)")
        return None
    from_env = creds is not None and os.environ.get("DIAGNOSE_CREDS") == creds
    if creds is not None:
        user, sep, password = creds.partition(":")
        if sep and password_stdin:
            raise UsageProblem("--password-stdin: give --creds USER without a password")
        source = "DIAGNOSE_CREDS" if from_env else "--creds"
    else:
        user, sep, password, source = username or "", "", "", "--username"
    if not user:
        raise UsageProblem("the user name is empty")
    if not sep:
        password = _read_password(user, password_stdin)
        source += " and --password-stdin" if password_stdin else " and a password prompt"
    if not password:
        # An empty password would send no credentials at all (docker and skopeo skip them),
        # and the report would wrongly name the user.
        where = "stdin was empty" if password_stdin else f"{source} gave no password"
        raise UsageProblem(f"empty password ({where}); give one, or leave out --creds to pull anonymously")
    return (user, password), source


def _is_stdout(path: Path | None) -> bool:
    """``-`` names standard output for every output option (``--markdown -``)."""
    return path is not None and str(path) == "-"


def _check_stdout(as_json: bool, **paths: Path | None) -> None:
    """At most one document may go to stdout, and not beside ``--json``."""
    dashes = [f"--{name.replace('_', '-')}" for name, path in paths.items() if _is_stdout(path)]
    if as_json and dashes:
        dashes.insert(0, "--json")
    if len(dashes) > 1:
        raise UsageProblem(f"only one output can go to stdout: {' and '.join(dashes)} both ask for it")


def _client_ids(text: str | None) -> list[str] | None:
    """``--clients a,b``: known model ids, in the order given; a usage error otherwise."""
    if text is None:
        return None
    from diagnose.clients.catalogue import IDS

    ids = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [client for client in ids if client not in IDS]
    if unknown or not ids:
        raise UsageProblem(
            f"--clients: unknown client {', '.join(unknown) or '(none given)'}; known: {', '.join(IDS)}"
        )
    return list(dict.fromkeys(ids))


def _check_outputs(inputs: tuple[Path, ...] = (), **paths: Path | None) -> None:
    """Refuse unusable output paths before any request is sent (see ``outputs.py``)."""
    from diagnose.outputs import Output, OutputProblem, check_outputs

    wanted = [
        Output(f"--{name}", path) for name, path in paths.items() if path is not None and not _is_stdout(path)
    ]
    try:
        check_outputs(wanted, inputs=inputs)
    except OutputProblem as exc:
        raise UsageProblem(str(exc)) from None


def _references(
    ref: str | None, refs_file: str | None, save_dir: Path | None, **single_outputs: Path | None
) -> list[ImageReference]:
    """REF, or every reference of ``--file`` (``-``: stdin); each one parsed before any pull."""
    if (ref is None) == (refs_file is None):
        raise UsageProblem("give one REF, or --file REFS.txt with a list of references")
    if refs_file is None:
        if save_dir is not None:
            raise UsageProblem("--save-dir goes with --file (for one reference use --save)")
        assert ref is not None
        return [_parse_ref(ref)]
    used = [f"--{name}" for name, path in single_outputs.items() if path is not None]
    if used:
        raise UsageProblem(f"{', '.join(used)}: one file for many references; use --save-dir with --file")
    from diagnose.batch import read_references

    try:
        text = sys.stdin.read() if refs_file == "-" else Path(refs_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageProblem(f"cannot read --file {refs_file}: {reason}") from None
    texts = read_references(text)
    if not texts:
        raise UsageProblem(f"--file {refs_file}: no references in it")
    return [_parse_ref(text) for text in texts]


def _compare_batch(
    references: list[ImageReference],
    one: Callable[[ImageReference, Cancel], Report],
    *,
    jobs: int,
    as_json: bool,
    save_dir: Path | None,
) -> ExitCode:
    """``compare --file``: every reference's own report, progress on stderr, one summary table."""
    import threading

    from diagnose.batch import report_file_name, run_batch, summary_row
    from diagnose.outputs import Output, OutputProblem, check_outputs, write_outputs
    from diagnose.render.json_report import render_json

    targets: list[Output] = []
    if save_dir is not None:
        try:
            save_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageProblem(f"--save-dir {save_dir}: {exc.strerror or exc}") from None
        targets = [
            Output("--save-dir", save_dir / report_file_name(i, r)) for i, r in enumerate(references, 1)
        ]
        try:
            check_outputs(targets)
        except OutputProblem as exc:  # refused before any request
            raise UsageProblem(str(exc)) from None
    lock = threading.Lock()
    finished = [0]
    started = time.monotonic()
    _note(f"diagnose: comparing {len(references)} references, {jobs} at a time…")

    def done(index: int, report: Report) -> None:
        with lock:
            finished[0] += 1
            row = summary_row(report)
            outcomes = " ".join(f"{s}={o}" for s, o in row.outcomes)
            _note(f"[{finished[0]}/{len(references)}] {row.reference}: {outcomes}")

    reports = run_batch(references, one, jobs=jobs, done=done)
    _note(f"diagnose: {len(reports)} references in {time.monotonic() - started:.1f}s")
    files = [(t, render_json(r) + "\n") for t, r in zip(targets, reports, strict=True)] if targets else []
    problems = write_outputs(files)
    if as_json:
        sys.stdout.write("[\n" + ",\n".join(render_json(r) for r in reports) + "\n]\n")
    else:
        from diagnose.render.batch import render_batch_table

        render_batch_table([summary_row(r) for r in reports], _stdout())
    for problem in problems:
        _note(f"diagnose: could not write {problem}")
    return ExitCode.OK if all(p.ok for r in reports for p in r.pulls) else ExitCode.PULL_FAILED


def _write_json(text: str) -> None:
    """JSON on stdout; ``\\u`` escapes where stdout cannot encode a character (PYTHONIOENCODING=ascii)."""
    try:
        text.encode(sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=True)
    sys.stdout.write(text + "\n")


def _tolerate_narrow_encodings() -> None:
    """Never crash on a character the terminal's encoding lacks: show an escape instead."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure):
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a stream already in use with a fixed setting
                continue


def _layer_progress(verify_layers: bool) -> AbstractContextManager[ProgressSink | None]:
    """A progress bar per layer on stderr, when layers are downloaded and stderr is a terminal."""
    if not (verify_layers and sys.stderr.isatty()):
        return contextlib.nullcontext()
    from diagnose.render.progress import layer_progress

    return layer_progress(_stderr())


def _layer_dir(output: Path | None, verify_layers: bool) -> str | None:
    """``--output DIR``: created now, so a directory that cannot be written costs no pull."""
    if output is None:
        return None
    if not verify_layers:
        raise UsageProblem("--output goes with --layers (without it no layer is downloaded)")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageProblem(f"--output {output}: {exc.strerror or exc}") from None
    if not os.access(output, os.W_OK):
        raise UsageProblem(f"--output {output}: not writable")
    return str(output)


def _warm_output(as_json: bool) -> None:
    """Import the renderer this run will use while its pulls wait on the network."""
    if as_json:
        import diagnose.render.json_report
    else:
        import diagnose.render.terminal  # noqa: F401


def _pull_exit(report: Report) -> ExitCode:
    """0 when every pull the table shows succeeded (the extra pulls feed the client panel);
    3 when diagnose itself failed on the way (a bug: the report keeps the evidence)."""
    from diagnose.render.clients_panel import table_view

    if report.diagnosis.tool_error or any(p.tool_error for p in report.pulls):
        return ExitCode.INTERNAL
    return ExitCode.OK if all(p.ok for p in table_view(report).pulls) else ExitCode.PULL_FAILED


def _emit(report: Report, *, as_json: bool, outputs: dict[str, Path | None], curl: bool = False) -> ExitCode:
    """Render a report to stdout and to the files asked for (``outputs``: option name -> path,
    ``-`` for stdout: that document then replaces the terminal report)."""
    from diagnose.outputs import Output, write_outputs
    from diagnose.render.formats import OPTION_FORMATS, render

    files: list[tuple[Output, str]] = []
    to_stdout: str | None = None
    for name, path in outputs.items():
        if path is None:
            continue
        text = render(OPTION_FORMATS[name], report)
        if _is_stdout(path):
            to_stdout = text
        else:
            files.append((Output(f"--{name}", path), text))
    problems = write_outputs(files)
    if to_stdout is not None:
        sys.stdout.write(to_stdout)
    elif as_json:
        from diagnose.render.json_report import render_json

        _write_json(render_json(report))
    else:
        from diagnose.render.terminal import render_terminal

        render_terminal(report, _stdout())
        if curl:
            from diagnose.render.terminal import render_curl

            render_curl(report, _stdout())
    for problem in problems:  # the diagnosis is printed anyway; the file error comes after it
        _stderr().print(f"diagnose: error: {problem}", markup=False)
    if problems:
        return ExitCode.USAGE
    code = _pull_exit(report)
    if code is ExitCode.INTERNAL:
        _stderr().print(
            "diagnose: internal error: a bug in diagnose stopped a pull or the rules; "
            "the report above keeps the evidence",
            markup=False,
        )
    return code


OUTPUT_HELP = " '-' writes it to stdout instead of the terminal report."


def _tls_material(host: str, cert_dir: Path | None, root: Path | None) -> tuple[TlsMaterial, TlsMaterial]:
    """The certs.d material of each client family for ``host``; a broken directory (a .cert
    without its .key) is refused by the clients, so it is an input error here too."""
    from diagnose.tls_material import CertFamily, find_material

    if cert_dir is not None and not cert_dir.is_dir():
        raise UsageProblem(f"--cert-dir {cert_dir}: not a directory")
    home = Path(os.environ.get("HOME") or Path.home())
    found = tuple(
        find_material(family, host, home=home, root=root, cert_dir=cert_dir)
        for family in (CertFamily.CONTAINERS, CertFamily.DOCKER)
    )
    for material in found:
        if material.error:
            raise UsageProblem(f"{material.directory}: {material.error}")
    return found[0], found[1]


CredsOption = Annotated[
    str | None,
    typer.Option(
        "--creds",
        help="USER:PASSWORD to log in with (or USER together with --password-stdin). Never recorded.",
        envvar="DIAGNOSE_CREDS",
        show_envvar=True,
    ),
]


@app.command(
    help=(
        "Pull REF two ways (strict V2 like skopeo; V2-then-V1 like docker 1.12), side by side, "
        "and explain why they differ.\n\n"
        "Example: diagnose compare registry.example.com/team/app:1.4 --creds alice:secret --save report.json"
    )
)
def compare(
    ref: Annotated[
        str | None,
        typer.Argument(metavar="REF", help="Image reference, e.g. ubuntu, host:5000/team/app:1.4"),
    ] = None,
    creds: CredsOption = None,
    username: Annotated[
        str | None,
        typer.Option("--username", help="Log in as USER; the password from --password-stdin or a prompt."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    anonymous: Annotated[
        bool,
        typer.Option(
            "--anonymous",
            "--no-creds",
            help="Use no identity: ignore every stored login (skopeo --no-creds).",
        ),
    ] = False,
    use_login: Annotated[
        bool, typer.Option("--use-login", hidden=True, help="Stored logins are used by default now.")
    ] = False,
    auth_file: Annotated[
        Path | None,
        typer.Option(
            "--authfile",
            "--auth-file",
            help="The strict pull reads logins only from this auth file (skopeo --authfile).",
        ),
    ] = None,
    no_contrast: Annotated[
        bool,
        typer.Option(
            "--no-contrast",
            help="Do not re-run the strict pull anonymously when a pull with an identity gets 401/403/404.",
        ),
    ] = False,
    platform: Annotated[str, typer.Option(help="os/arch[/variant] to choose from an index.")] = "linux/amd64",
    ca_cert: Annotated[
        Path | None,
        typer.Option("--ca-cert", help="PEM CA bundle to trust for the registry's TLS certificate."),
    ] = None,
    tls_verify: Annotated[
        bool,
        typer.Option(
            "--tls-verify/--no-tls-verify",
            help="Verify TLS. --no-tls-verify also allows plain http (skopeo --tls-verify=false).",
        ),
    ] = True,
    cert_dir: Annotated[
        Path | None,
        typer.Option(
            "--cert-dir",
            help="Like skopeo --cert-dir: *.crt CAs and NAME.cert + NAME.key client pairs for the strict "
            "pull (default: ~/.config/containers/certs.d/HOST, /etc/containers/certs.d/HOST, "
            "/etc/docker/certs.d/HOST; docker's pulls read /etc/docker/certs.d/HOST).",
        ),
    ] = None,
    certs_root: Annotated[
        Path | None,
        typer.Option(
            "--certs-root", hidden=True, help="Prefix for /etc/{containers,docker}/certs.d (tests)."
        ),
    ] = None,
    insecure_registry: Annotated[
        list[str] | None,
        typer.Option(
            "--insecure-registry", help="Like docker's --insecure-registry (host:port or CIDR); repeatable."
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            help="Seconds each pull may take as a whole; connecting and every read wait at most this.",
            min=0.1,
        ),
    ] = 30.0,
    verify_layers: Annotated[
        bool,
        typer.Option("--layers", help="Download every layer and verify its digest (default: HEAD only)."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON report on stdout, nothing else.")
    ] = False,
    save: Annotated[
        Path | None, typer.Option("--save", help="Also write the JSON report to this file." + OUTPUT_HELP)
    ] = None,
    markdown: Annotated[
        Path | None,
        typer.Option("--markdown", help="Also write a ticket-ready Markdown file." + OUTPUT_HELP),
    ] = None,
    har: Annotated[
        Path | None, typer.Option("--har", help="Also write every exchange as a HAR file." + OUTPUT_HELP)
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write a self-contained HTML report (waterfall)." + OUTPUT_HELP),
    ] = None,
    cassette: Annotated[
        Path | None,
        typer.Option("--cassette", help="Also write every exchange as a vcrpy cassette." + OUTPUT_HELP),
    ] = None,
    curl: Annotated[
        bool, typer.Option("--curl", help="Also print a curl command for every step (secrets as env vars).")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="With --layers: keep each layer the v2-only pull verified in this directory (by digest).",
        ),
    ] = None,
    refs_file: Annotated[
        str | None,
        typer.Option(
            "--file",
            metavar="REFS.txt",
            help="Compare every reference in this file (one per line, # comments; - for stdin).",
        ),
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", help="With --file: how many references run at a time.", min=1, max=64)
    ] = 4,
    save_dir: Annotated[
        Path | None,
        typer.Option(
            "--save-dir", help="With --file: write each reference's JSON report into this directory."
        ),
    ] = None,
    clients: Annotated[
        str | None,
        typer.Option(
            "--clients",
            metavar="ID,...",
            help=(
                "Only these clients (e.g. docker-20.10,containerd): runs the pulls they make and shows "
                "those in the table. Default: every pull runs, the table shows v2-only and v2-then-v1, "
                "and every client's message is listed."
            ),
        ),
    ] = None,
) -> None:
    from diagnose.clients.catalogue import strategies_for
    from diagnose.credentials.identity import Identity, resolve_identities
    from diagnose.credentials.resolve import AuthFileError
    from diagnose.http import TransportOptions
    from diagnose.inputs import InputError, check_ca_file, parse_insecure_registry, parse_platform
    from diagnose.model import Strategy
    from diagnose.pullers.options import PullOptions
    from diagnose.run import ORIGINAL_PULLS
    from diagnose.run import compare as run_compare

    del use_login  # accepted for old scripts: stored logins are the default
    outputs = {"save": save, "markdown": markdown, "har": har, "html": html, "cassette": cassette}
    references = _references(ref, refs_file, save_dir, **outputs)
    reference = references[0]
    _check_stdout(as_json, **outputs)
    _check_outputs((), **outputs)
    given = _credentials(creds, username, password_stdin)
    if given is not None and anonymous:
        raise UsageProblem("--anonymous and an identity (--creds/--username) exclude each other")
    if auth_file is not None and not auth_file.is_file():
        raise UsageProblem(f"--authfile {auth_file}: no such file")

    def identities_for(reference: ImageReference) -> dict[Strategy, Identity]:
        try:
            return resolve_identities(
                reference,
                ORIGINAL_PULLS,
                env=os.environ,
                auth_file=auth_file,
                given=given[0] if given else None,
                given_source=given[1] if given else "--creds",
                no_stored=anonymous,
            )
        except AuthFileError as exc:
            raise UsageProblem(str(exc)) from None

    identities = [identities_for(r) for r in references]  # every problem before any request
    chosen = _client_ids(clients)
    strict = identities[0][Strategy.V2_ONLY]
    credentials = strict.credentials
    source = strict.record.source
    try:
        if ca_cert is not None:
            check_ca_file(ca_cert)
        containers_tls, docker_tls = _tls_material(reference.domain, cert_dir, certs_root)
        options = PullOptions(
            credentials=credentials,
            platform=parse_platform(platform),
            tls_verify=tls_verify,
            insecure_registries=tuple(parse_insecure_registry(e) for e in insecure_registry or ()),
            verify_layers=verify_layers,
            containers_tls=containers_tls,
            docker_tls=docker_tls,
            layer_dir=_layer_dir(output, verify_layers),
        )
    except InputError as exc:
        raise UsageProblem(str(exc)) from None
    verify: bool | str = str(ca_cert) if ca_cert is not None and tls_verify else tls_verify
    from diagnose.proxy import proxy_environment

    transport = TransportOptions(verify=verify, timeout=timeout, proxy_env=proxy_environment(os.environ))
    if refs_file is not None:
        from diagnose.connection_pools import ConnectionPools

        # Connections stay open from one reference to the next (closed when the batch ends).
        connections = ConnectionPools(jobs)

        def one(reference: ImageReference, cancel: Cancel) -> Report:
            own = identities[references.index(reference)]
            record = own[Strategy.V2_ONLY].record
            return run_compare(
                reference,
                dataclasses.replace(options, credentials=own[Strategy.V2_ONLY].credentials),
                transport,
                auth_source=record.source,
                identities=own,
                contrast=not no_contrast,
                cancel=cancel,
                clients=chosen,
                connections=connections,
            )

        with connections:
            code = _compare_batch(references, one, jobs=jobs, as_json=as_json, save_dir=save_dir)
        raise typer.Exit(code)
    started = time.monotonic()
    ways = ", ".join(s.value for s in strategies_for(chosen)) if chosen else "every client family"
    _note(f"diagnose: pulling {reference.canonical} ({ways})…")
    with _layer_progress(verify_layers) as progress:
        if progress is not None:
            transport = dataclasses.replace(transport, progress=progress)
        report = run_compare(
            reference,
            options,
            transport,
            auth_source=source,
            identities=identities[0],
            contrast=not no_contrast,
            clients=chosen,
            meanwhile=lambda: _warm_output(as_json),
        )
    _note(f"diagnose: {len(report.exchanges)} HTTP exchanges in {time.monotonic() - started:.1f}s")
    raise typer.Exit(_emit(report, as_json=as_json, outputs=outputs, curl=curl))


@app.command(
    help=(
        "Show how clients read an image name: registry, repository, tag, digest, canonical name and "
        "the host each client contacts.\n\nExample: diagnose ref ubuntu localhost:5000/app@sha256:… --json"
    )
)
def ref(
    refs: Annotated[list[str], typer.Argument(help="One or more image references.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list, one object per input.")] = False,
) -> None:
    from diagnose.reference import describe

    described = [describe(text) for text in refs]
    if as_json:
        sys.stdout.write(json.dumps(described, indent=2) + "\n")
    else:
        from diagnose.render.terminal import render_reference_table

        render_reference_table(described, _stdout())
    invalid = [d for d in described if not d["valid"]]
    for item in invalid:
        _stderr().print(f"diagnose: {item['input']!r}: {item['error']}", markup=False)
    raise typer.Exit(ExitCode.USAGE if invalid else ExitCode.OK)


@app.command(
    help=(
        "Re-diagnose a saved report (--save) offline: no network, the same tables and diagnosis.\n\n"
        "Example: diagnose replay report.json --markdown ticket.md"
    )
)
def replay(
    report_file: Annotated[Path, typer.Argument(help="A JSON report written by --save or --json.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report on stdout.")] = False,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Also write a Markdown file." + OUTPUT_HELP)
    ] = None,
    har: Annotated[Path | None, typer.Option("--har", help="Also write a HAR file." + OUTPUT_HELP)] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML report." + OUTPUT_HELP)
    ] = None,
    cassette: Annotated[
        Path | None, typer.Option("--cassette", help="Also write a vcrpy cassette." + OUTPUT_HELP)
    ] = None,
    curl: Annotated[bool, typer.Option("--curl", help="Also print a curl command for every step.")] = False,
) -> None:
    from diagnose.run import replay_report

    saved = _load_report(report_file)
    outputs = {"markdown": markdown, "har": har, "html": html, "cassette": cassette}
    _check_stdout(as_json, **outputs)
    _check_outputs((report_file,), **outputs)
    report = replay_report(saved)
    raise typer.Exit(_emit(report, as_json=as_json, outputs=outputs, curl=curl))


def _load_report(report_file: Path) -> Report:
    """A saved JSON report, or a usage error in one line."""
    from diagnose.render.json_report import report_from_dict

    try:
        data = json.loads(report_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageProblem(f"cannot read {report_file}: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise UsageProblem(f"{report_file} is not JSON: {exc}") from None
    try:
        return report_from_dict(data)
    except ValueError as exc:
        raise UsageProblem(f"{report_file}: {exc}") from None


class ExportFormat(StrEnum):
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"
    HAR = "har"
    CASSETTE = "cassette"


@app.command(
    help=(
        "Write a saved report (--save) in another format, as recorded: no network, no new diagnosis.\n\n"
        "Example: diagnose export report.json --format html -o report.html"
    )
)
def export(
    report_file: Annotated[Path, typer.Argument(help="A JSON report written by --save or --json.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="The format to write.")] = (
        ExportFormat.MARKDOWN
    ),
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The file to write; '-' (the default) is stdout.")
    ] = Path("-"),
) -> None:
    from diagnose.outputs import Output, write_outputs
    from diagnose.render.formats import Format, render

    saved = _load_report(report_file)
    if not _is_stdout(output):
        _check_outputs((report_file,), output=output)
    text = render(Format(fmt.value), saved)
    if _is_stdout(output):
        sys.stdout.write(text)
        raise typer.Exit(ExitCode.OK)
    for problem in write_outputs([(Output("--output", output), text)]):
        raise UsageProblem(problem)
    raise typer.Exit(ExitCode.OK)


@app.command(
    help=(
        "Say which clients print an error line, which registry answers produce it, what it cannot tell, "
        "and the diagnose compare command to run next. Reads stdin when TEXT is omitted or '-'.\n\n"
        'Example: diagnose explain "Error: image library/foo:latest not found"'
    )
)
def explain(
    text: Annotated[
        str | None,
        typer.Argument(metavar="TEXT", help="The error as the client printed it (or '-' for stdin)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {recognised, matches, reference, command} as JSON.")
    ] = False,
) -> None:
    from diagnose import explain as explaining

    pasted = sys.stdin.read() if text is None or text == "-" else text
    if not pasted.strip():
        raise UsageProblem("explain: give the error text as an argument or on stdin")
    result = explaining.explain(pasted)
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(explaining.render_text(result))
    raise typer.Exit(ExitCode.OK if result.recognised else ExitCode.PULL_FAILED)


LAB_HELP = (
    "Run the built-in Docker-Hub-like lab registry in the foreground, to point diagnose, docker or "
    "skopeo at. Ctrl-C stops it.\n\nExample: diagnose lab --v1 present --port 5000"
)


@app.command(help=LAB_HELP)
def lab(
    v1: Annotated[
        LabV1, typer.Option(help="absent: every /v1/ path is 404; present: a working V1 API.")
    ] = LabV1.ABSENT,
    auth: Annotated[LabAuth, typer.Option(help="token (Docker-Hub-like), basic (htpasswd-like) or none.")] = (
        LabAuth.TOKEN
    ),
    port: Annotated[int, typer.Option(help="Registry port (0: a free one).", min=0, max=65535)] = 5000,
    token_port: Annotated[int, typer.Option(help="Token server port (0: a free one).", min=0, max=65535)] = 0,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            help="Serve the lab as one scenario of `diagnose demo --list` needs it (overrides --v1/--auth).",
        ),
    ] = None,
) -> None:
    from diagnose.lab import LabConfig, start_lab

    if port and port == token_port:
        raise UsageProblem(f"--port and --token-port are both {port}: the two servers need two ports")
    chosen = None
    if scenario is not None:
        from diagnose.lab.scenarios import BY_NAME

        chosen = BY_NAME.get(scenario)
        if chosen is None:
            raise UsageProblem(f"unknown scenario {scenario!r}; `diagnose demo --list` shows the names")
    config = (
        chosen.config(registry_port=port, token_port=token_port)
        if chosen is not None
        else LabConfig(auth=auth, v1=v1, registry_port=port, token_port=token_port)
    )
    try:
        running = start_lab(config)
    except OSError as exc:
        busy, option = _busy_port(port, token_port)
        raise UsageProblem(f"cannot listen on 127.0.0.1:{busy} ({option}): {exc.strerror or exc}") from None
    from diagnose.lab.banner import render_lab_info, render_scenario, request_line

    out = _stdout()
    try:
        render_lab_info(running, out)
        if chosen is not None:
            render_scenario(running, chosen, out)
        running.on_request(lambda served: out.print(request_line(served), markup=False, soft_wrap=True))
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        out.print("stopping the lab")
    finally:
        running.on_request(None)
        running.stop()


def _busy_port(port: int, token_port: int) -> tuple[int, str]:
    """Which of the lab's two ports could not be bound: the registry's, else the token server's."""
    import socket

    for number, option in ((port, "--port"), (token_port, "--token-port")):
        if number == 0:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", number))
            except OSError:
                return number, option
    return port, "--port"


@app.command(
    help=(
        "Start the built-in lab on free 127.0.0.1 ports and run the catalogue of situations (missing "
        "image, private image, expired token, proxy error page, Windows-only image …), or only the NAMEs "
        "given. --list shows every scenario in one line. No internet needed.\n\n"
        "Example: diagnose demo missing-image token-expired"
    )
)
def demo(
    names: Annotated[
        list[str] | None, typer.Argument(metavar="[NAME]...", help="Scenarios to run (default: all).")
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="List the scenarios, one per line, and exit.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of the reports.")] = False,
) -> None:
    if list_:
        from diagnose.lab.scenarios import SCENARIOS

        width = max(len(s.name) for s in SCENARIOS)
        for scenario in SCENARIOS:
            sys.stdout.write(f"{scenario.name:<{width}}  {scenario.summary}  [{scenario.rule}]\n")
        raise typer.Exit(ExitCode.OK)
    from diagnose.demo import UnknownScenario, run_demo, select
    from diagnose.render.json_report import render_json
    from diagnose.render.terminal import render_terminal

    try:
        chosen = select(names or ())
    except UnknownScenario as exc:
        raise UsageProblem(str(exc)) from None
    reports = run_demo(_stderr(), [s.name for s in chosen])
    if as_json:
        sys.stdout.write("[\n" + ",\n".join(render_json(r) for r in reports) + "\n]\n")
    else:
        out = _stdout()
        for scenario, report in zip(chosen, reports, strict=True):
            out.rule(f"{scenario.name}: {scenario.summary}")
            render_terminal(report, out)
            out.print()
    raise typer.Exit(ExitCode.OK)


def app_for(args: Sequence[str]) -> typer.Typer:
    """The app with only the command ``args`` names. Typer reads the signature of every
    registered command on each run (half of it for the other six, ~10 ms); they matter only
    to the top-level help and to a mistyped command's error, which get the whole app."""
    import copy

    name = next((arg for arg in args if not arg.startswith("-")), None)
    for info in app.registered_commands:
        callback_name = info.callback.__name__ if info.callback else ""
        if (info.name or callback_name.replace("_", "-")) == name:
            narrowed = copy.copy(app)
            narrowed.registered_commands = [info]
            return narrowed
    return app


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; map every failure to an exit code, never a traceback."""
    _tolerate_narrow_encodings()
    from diagnose.argv import BadFlagValue, normalise

    try:
        args = normalise(sys.argv[1:] if argv is None else argv)
    except BadFlagValue as exc:
        _stderr().print(f"diagnose: error: {exc}", markup=False)
        sys.exit(ExitCode.USAGE)
    try:
        code = app_for(args)(args=args, prog_name="diagnose", standalone_mode=False)
    except UsageProblem as exc:
        _stderr().print(f"diagnose: error: {exc}", markup=False)
        sys.exit(ExitCode.USAGE)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _stderr().print("diagnose: interrupted", markup=False)
        sys.exit(INTERRUPTED)
    except typer.TyperException as exc:  # bad arguments or options (typer's click errors)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            _stderr().print(f"diagnose: error: {exc}", markup=False)
        sys.exit(ExitCode.USAGE)
    except Exception as exc:  # the tool itself failed: one line, exit 3
        from diagnose.redact import scrub_text

        # scrub_text drops tokens, URL userinfo and signatures an exception text might quote.
        detail = scrub_text(f"{type(exc).__name__}: {exc}", ())
        _stderr().print(f"diagnose: internal error: {detail}", markup=False)
        sys.exit(ExitCode.INTERNAL)
    if code == INTERRUPTED:  # typer turns Ctrl-C into Exit(130) and, here, returns it
        _stderr().print("diagnose: interrupted", markup=False)
    sys.exit(code if isinstance(code, int) else ExitCode.OK)
