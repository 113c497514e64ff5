"""The cache key: everything a task's products depend on, as one digest.

A task's key is ``xxh3-128:<hex>``, the digest of the ASCII bytes of one canonical
JSON document (:func:`nbrules.common.text.canonical_json`)::

    {"algorithm": "xxh3-128",                        # of every digest in the key
     "code": "xxh3-128:…",                           # cache.code.code_summary
     "format": "nbrules-cache-v1",                   # this encoding's version
     "inputs": {"get-data/flights": "table-v1:xxh3-128:…",  # content of the key inputs
                "fit-model/model": "xxh3-128:…"},
     "kernel": "python3",
     "packages": {"pandas": "2.2.1"},                # only with cache_packages: true
     "params": {"sample_frac": 0.01},                # resolved values
     "products": {"data": "clean.parquet", "nb": "clean.ipynb"},  # under the root
     "single": false,
     "checks": [{"check": "rows", "product": "data", "settings": [1, null]}]}

``code`` covers the notebook's normalized code, the project-local modules it
imports and the Python minor version of the interpreter that runs it. Product
paths are relative to the output root, so another profile root or checkout folder
still hits. Executed notebooks of upstreams enter ``inputs`` only when the code
reads ``upstream[name]["nb"]``. An input is its file digest (``xxh3-128:<hex>``), or for a
Parquet or Arrow table its *table digest* (``table-v1:xxh3-128:<hex>``, the table's
content in a canonical form: :mod:`nbrules.cache.tables`); the tag tells the two
kinds apart. ``checks`` (only when the notebook declares any) are its integrity
checks with their settings; the code of the functions they call is in ``code``.
Parameter values are plain JSON except where JSON
would merge two distinct literals: ``{"$tuple": [...]}``, ``{"$set": [...]}``,
``{"$dict": [[k, v], ...]}`` (non-string keys), ``{"$bytes": "<hex>"}``,
``{"$repr": "..."}``. Any change to this encoding changes ``FORMAT``.

This module knows nothing of jobs or notebooks: the plan layer maps a job onto
:class:`KeyParts` (``nbrules.plan.keys``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..common.text import canonical_json
from .digests import ALGORITHM, digest_bytes

FORMAT = "nbrules-cache-v1"


def canonical_value(value: Any) -> Any:
    """A JSON value that tells apart every pair of distinct parameter literals."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [canonical_value(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [canonical_value(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"$set": sorted((canonical_value(v) for v in value), key=canonical_json)}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: canonical_value(v) for k, v in value.items()}
        pairs = [[canonical_value(k), canonical_value(v)] for k, v in value.items()]
        return {"$dict": sorted(pairs, key=canonical_json)}
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    return {"$repr": repr(value)}


@dataclass(frozen=True, slots=True)
class KeyParts:
    """Everything a task's products depend on; see the module docstring."""

    code: str
    params: Mapping[str, Any]
    products: Mapping[str, str]
    single: bool
    kernel: str
    inputs: Mapping[str, str]
    packages: Mapping[str, str] | None = None
    checks: Sequence[Mapping[str, Any]] = ()
    #: nbconvert options of the HTML rendering (``exclude_input``…): other HTML bytes.
    render: Mapping[str, bool] | None = None

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": FORMAT,
            "algorithm": ALGORITHM,
            "code": self.code,
            "params": canonical_value(dict(self.params)),
            "products": dict(self.products),
            "single": self.single,
            "kernel": self.kernel,
            "inputs": dict(self.inputs),
        }
        if self.packages is not None:
            doc["packages"] = dict(self.packages)
        if self.checks:
            doc["checks"] = [canonical_value(dict(check)) for check in self.checks]
        if self.render:
            doc["render"] = dict(sorted(self.render.items()))
        return doc

    def canonical(self) -> bytes:
        return canonical_json(self.document()).encode("ascii")

    @property
    def key(self) -> str:
        return digest_bytes(self.canonical())


_SCALARS = (
    ("format", "cache format changed"),
    ("algorithm", "digest algorithm changed"),
    ("code", "code changed"),
    ("kernel", "kernel changed"),
    ("single", "product shape changed"),
    ("checks", "checks changed"),
    ("render", "HTML rendering options changed"),
)
_MAPPINGS = (
    ("params", "params changed"),
    ("products", "products changed"),
    ("inputs", "input changed"),
    ("packages", "packages changed"),
)


def miss_reason(current: Mapping[str, Any], previous: Mapping[str, Any] | None) -> str:
    """Which key parts differ from the previous key document, for humans."""
    if previous is None:
        return "first build"
    reasons = [label for name, label in _SCALARS if current.get(name) != previous.get(name)]
    for name, label in _MAPPINGS:
        now, before = current.get(name) or {}, previous.get(name) or {}
        changed = sorted(k for k in {*now, *before} if now.get(k) != before.get(k))
        if changed:
            reasons.append(f"{label}: {', '.join(changed)}")
    return "; ".join(reasons) or "not in cache"
