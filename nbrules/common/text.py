"""Small text helpers shared by every layer: canonical JSON and did-you-mean hints."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from typing import Any


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces, ASCII): rule params, cache keys, specs."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def did_you_mean(
    name: str,
    known: Iterable[str],
    what: str = "known",
    *,
    fallback: str | None = None,
    prefix: str = "",
) -> str:
    """The one did-you-mean hint: ``did you mean 'x'?`` for the closest known name.

    Without a close name: ``fallback`` if given, else ``what: a, b, c``. ``prefix``
    is put before the suggestion (``did you mean 'env.sample'?``).
    """
    choices = sorted({str(k) for k in known})
    close = closest(name, choices)
    if close:
        return f"did you mean '{prefix}{close}'?"
    return fallback if fallback is not None else f"{what}: {', '.join(choices) or '(none)'}"


def closest(name: str, known: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The known name closest to ``name``, if any is close enough."""
    close = difflib.get_close_matches(
        str(name), sorted({str(k) for k in known}), n=1, cutoff=cutoff
    )
    return close[0] if close else None


def safe_name(name: str) -> str:
    """``name`` as a file name: only ``[A-Za-z0-9._-]``, at most 120 characters."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:120] or "_"
