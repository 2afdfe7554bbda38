"""Every modelled client, by id, and the predictions for a set of pulls.

The order is the issue's table: docker by era, containers/image by version, containerd,
kubelet, crane. This module must not word anything (the models do) and must not do I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from diagnose.clients import cimage, containerd, crane, docker, kubelet
from diagnose.clients.base import ClientModel, PullFacts
from diagnose.model import ClientPrediction, ImageReference, PullResult, Strategy

MODELS: tuple[ClientModel, ...] = (
    docker.MODELS[0],  # docker-1.12
    docker.MODELS[1],  # docker-1.12-rhel
    cimage.SKOPEO_2016,
    *docker.MODELS[2:],  # docker-17, docker-18, docker-20.10, docker-29-containerd
    *cimage.MODELS[1:],  # containers-image-5.23, -5.24, -current
    *containerd.MODELS,
    *kubelet.MODELS,
    *crane.MODELS,
)

BY_ID: dict[str, ClientModel] = {model.id: model for model in MODELS}
IDS: tuple[str, ...] = tuple(BY_ID)


def strategies_for(ids: Iterable[str]) -> tuple[Strategy, ...]:
    """The pulls the given clients read, in the order of ``Strategy`` (unknown ids: KeyError)."""
    wanted = {BY_ID[client].strategy for client in ids}
    return tuple(s for s in Strategy if s in wanted)


def predict(model: ClientModel, pull: PullResult, ref: ImageReference, platform: str) -> ClientPrediction:
    try:
        message, exit_code = model.predict(PullFacts(ref, pull, platform))
    except Exception as exc:  # a model bug must not lose the report; say so in its place
        message, exit_code = f"(diagnose could not model {model.id}: {type(exc).__name__}: {exc})", 1
    return ClientPrediction(model.id, model.name, model.strategy, message, exit_code, model.source)


def predict_all(
    pulls: Sequence[PullResult],
    ref: ImageReference,
    platform: str = "linux/amd64",
    ids: Iterable[str] | None = None,
) -> tuple[ClientPrediction, ...]:
    """A prediction for every chosen model whose pull ran (models of missing pulls are left out)."""
    by_strategy = {pull.strategy: pull for pull in pulls}
    chosen = IDS if ids is None else tuple(ids)
    out = []
    for model in MODELS:
        pull = by_strategy.get(model.strategy)
        if model.id in chosen and pull is not None:
            out.append(predict(model, pull, ref, platform))
    return tuple(out)
