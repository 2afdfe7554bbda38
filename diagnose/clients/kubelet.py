"""The kubelet's pod event for a failed pull through containerd's CRI plugin.

``kubectl describe pod`` shows ``Failed to pull image "<image as written in the pod>": <err>``,
where ``<err>`` is the gRPC status the CRI returned, then the waiting reason ``ErrImagePull``.
Pure: no I/O, never raises on a registry answer.

Sources: kubernetes pkg/kubelet/images/image_manager.go (``Failed to pull image %q: %v``,
ErrImagePull), containerd/containerd v2.1.5 internal/cri/server/images/image_pull.go
(``failed to pull and unpack image %q: %w``), client/pull.go (``failed to resolve reference %q:
%w``), errdefs/pkg/errgrpc ToGRPC (NotFound for errdefs.ErrNotFound, Unknown otherwise); the
observed event of forcedotcom/salesforcedx-docker#35.
"""

from __future__ import annotations

from diagnose.clients.base import ClientModel, Prediction, PullFacts
from diagnose.clients.containerd import ContainerdVersion, resolve_error
from diagnose.model import Strategy

KUBELET_EXIT = 1  # a pod event has no exit status; 1 stands for "the pull failed"


def _predict(facts: PullFacts) -> Prediction:
    if facts.pull.ok:
        return "", 0
    error = resolve_error(facts, ContainerdVersion.V2)
    ref = facts.ref.canonical
    code = "NotFound" if error.not_found or error.no_platform else "Unknown"
    desc = f'failed to pull and unpack image "{ref}": {error.wrapped(ref)}'
    event = f'Failed to pull image "{facts.ref.input}": rpc error: code = {code} desc = {desc}'
    return f"{event}\nError: ErrImagePull", KUBELET_EXIT


MODELS: tuple[ClientModel, ...] = (
    ClientModel(
        "kubelet",
        "kubelet pod event (containerd 1.7/2.x CRI), then the waiting reason ErrImagePull",
        Strategy.CONTAINERD,
        "kubernetes pkg/kubelet/images/image_manager.go; containerd/containerd v2.1.5 "
        "internal/cri/server/images/image_pull.go, client/pull.go",
        _predict,
    ),
)
