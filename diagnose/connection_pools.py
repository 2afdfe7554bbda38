"""Connections kept alive across the references of a batch (``compare --file``).

One ``Wire`` (urllib3's pools, TLS roots and context) per pull kind and per set of transport
settings, lent to the client of that pull in every reference, so that the second reference
finds the first one's connections open instead of paying TCP and TLS again. Each exchange still
records the truth (``new_connection: false`` on a kept-alive connection), each reference keeps
its own recorder, deadline and secrets, and the pools are closed when the batch ends.

What is *not* shared is as deliberate. No client we emulate keeps a connection or a token from
one image to the next, so a reference never uses another's token: its report has the token
exchanges a single run has, and no secret of one reference can reach another's report.

- containers/image (the strict pull): every image gets its own ``dockerClient``, with its own
  ``http.Transport`` (docker/docker_client.go ``detectPropertiesHelper``:
  ``tlsclientconfig.NewTransport()``) and its own ``tokenCache`` (a field of the client, keyed
  by scope and honouring ``expires_in``, at least 60 s); ``Close`` drops the idle connections
  (v5.36.1, docker/docker_client.go, docker/docker_image_src.go).
- docker (1.12, 20.10 and still 28.x): every pull builds a new ``http.Transport`` with
  ``DisableKeepAlives: true`` and a new token handler for its repository scope (moby v1.12.6
  and v20.10.24 distribution/registry.go ``NewV2Repository``; v28.5.2 ``newRepository``).
- containerd 1.6: the authorizer caches tokens per scope, but it is made per resolver, and the
  CRI plugin makes a resolver (and ``newTransport()``) per ``PullImage``, ``ctr`` one per run
  (v1.6.20 remotes/docker/authorizer.go, pkg/cri/server/image_pull.go ``registryHosts``,
  remotes/docker/config/hosts.go ``ConfigureHosts``).

Keeping connections alive from one image to the next is therefore diagnose's own saving, not
an imitation: it changes no request and no answer, only what a step costs, and
``new_connection`` says so. It only helps the pulls whose client keeps connections alive within
a pull (the strict and the containerd pulls): docker's pulls keep none (``keep_alive=False``,
their wire closes every connection it is given back), in a batch as alone. This module must not
send, record or know any secret: it only owns and closes the wires.
"""

from __future__ import annotations

import threading

from diagnose.http import TransportOptions
from diagnose.model import Strategy
from diagnose.transport import Wire


class ConnectionPools:
    """The wires of one batch, made on first use; thread-safe (references run ``--jobs`` at a time)."""

    def __init__(self, jobs: int = 1) -> None:
        self._lock = threading.Lock()
        self._wires: dict[tuple[Strategy, TransportOptions], Wire] = {}
        self._jobs = max(jobs, 1)
        self._closed = False

    def wire_for(self, strategy: Strategy, options: TransportOptions) -> Wire | None:
        """The wire of this pull kind with these settings; None once the batch is over (the
        client then makes its own, as a single run does)."""
        key = (strategy, options)
        with self._lock:
            if self._closed:
                return None
            wire = self._wires.get(key)
            if wire is None:
                # As many idle connections per host as the clients of the references running
                # at the same time would keep together (each its MaxIdleConnsPerHost).
                wire = self._wires[key] = Wire(options, pool_size=options.idle_per_host * self._jobs)
            return wire

    def close(self) -> None:
        with self._lock:
            self._closed = True
            wires = list(self._wires.values())
            self._wires.clear()
        for wire in wires:
            wire.close()

    def __enter__(self) -> ConnectionPools:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
