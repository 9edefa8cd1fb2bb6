"""What a flow run started through the Prefect API may ask for, beyond what its deployment set.

Anyone who can reach the API can start a deployment's flow with parameters of their own. Most are
harmless (another feed, a date range), but some widen what the worker does on its own machine:
``allow_loopback`` lets pages on 127.0.0.1 (the worker's own services) be fetched, and local paths
(``urls:/etc/passwd``, ``warc:``/``dir:`` on the worker's disk, a local ``sources_file``,
``input``, ``out`` or ``report_dir``) read or write the worker's files, whose lines may then
land in ``errors/``; and ``dask`` sends the run's work to a scheduler of the caller's choosing, whose
results come back to the worker as pickles (code), or starts a LocalCluster of any size there.
So in a deployment run such a parameter is refused unless it is the deployment's own default
(what the operator wrote in infra/prefect.yaml or gave `copydesk serve`), or the worker sets
``COPYDESK_TRUST_RUN_PARAMETERS``.
Runs started from the command line or Python are not deployment runs and are not checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from common.errors import PermanentError

TRUST_ENV = "COPYDESK_TRUST_RUN_PARAMETERS"  # the setting `trust_run_parameters`


class ParameterRefused(PermanentError):
    """A deployment run asked for what only the deployment's operator may set."""


def _is_local(spec: str) -> bool:
    """Whether a source spec or a store URI names something on this machine's disk."""
    kind, _, target = spec.partition(":")
    if kind in ("feed", "sitemap"):
        return urlparse(target).scheme not in ("http", "https")
    if kind in ("urls", "warc", "dir"):
        return urlparse(target).scheme != "s3"
    return urlparse(spec).scheme != "s3"


def widened(
    parameters: Mapping[str, Any], defaults: Mapping[str, Any], *, trusted: bool = False
) -> list[str]:
    """The parameters of a deployment run that widen what its deployment's defaults allow."""
    if trusted:
        return []
    out: list[str] = []
    if parameters.get("allow_loopback") and not defaults.get("allow_loopback"):
        out.append("allow_loopback")
    default_sources = set(defaults.get("sources") or [])
    sources: Sequence[str] = parameters.get("sources") or []
    out += [f"source {s!r}" for s in sources if _is_local(s) and s not in default_sources]
    for name in ("sources_file", "out", "report_dir", "input"):
        value = parameters.get(name)
        if value and _is_local(str(value)) and value != defaults.get(name):
            out.append(f"{name} {value!r}")
    dask = parameters.get("dask")
    if dask and dask != defaults.get("dask"):
        out.append(f"dask {dask!r}")
    return out


def check_run_parameters(parameters: Mapping[str, Any]) -> None:
    """Refuse a deployment run whose parameters widen its deployment's (see the module docstring).

    Raises:
        ParameterRefused: with the parameters refused.
    """
    from prefect.runtime import deployment

    if deployment.id is None:
        return
    from flows.settings import Settings

    trusted = Settings(**{}).trust_run_parameters
    refused = widened(parameters, deployment.parameters or {}, trusted=trusted)
    if refused:
        raise ParameterRefused(
            f"refused in a run started through the API: {', '.join(refused)} (not the deployment's own; "
            f"set {TRUST_ENV}=true on the worker to allow)"
        )
