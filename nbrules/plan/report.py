"""What a notebook puts in Snakemake's report, read from its parameters cell.

::

    report = {
        "roc": "ROC curve of the classifier on the held-out flights.",
        "by_hour": "Observed and predicted delay rates by scheduled hour.",
        "nb": "The evaluation, executed.",     # a caption of your own (optional)
    }

maps product keys to captions. The executed notebook (``nb``) is in the report by
default, rendered as HTML; ``"nb": None`` leaves it out. An executed notebook that is
not HTML already (``.ipynb``, or the one kept beside the job's log when the notebook
declares no ``nb``) gets an HTML rendering, written by the job right after the
notebook ran and cached with its products: :data:`RENDERED` below, beside the
``.ipynb`` (``clean.ipynb`` → ``clean.html``), or ``<name>.html`` in the output root.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from ..common.errors import DeclarationError
from ..common.text import did_you_mean

#: The executed notebook's product key (``declarations.NB_KEY``, which imports this).
NB_KEY = "nb"
#: The product key of the HTML rendering (not an identifier: never a declared key).
RENDERED = "nb.html"
_HTML = (".html", ".htm")
_HINT = 'report = {"roc": "ROC curve on the test split", "nb": None}'


def parse_report(
    value: Any, products: Mapping[str, str], path: Any, line: int, notebook: bool = True
) -> dict[str, str]:
    """Product key → caption (``""``: the default caption) of what goes in the report.

    ``notebook``: whether the executed notebook is in by default.
    """
    declared = {} if value is None else value
    if not isinstance(declared, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in declared.items()
    ):
        raise DeclarationError(
            "'report' must map product keys to captions (or None)",
            path=path,
            line=line,
            hint=_HINT,
        )
    for key in declared:
        if key not in products and key != NB_KEY:
            raise DeclarationError(
                f"'report' names product {key!r}, which this notebook does not declare",
                path=path,
                line=line,
                hint=did_you_mean(key, [*products, NB_KEY], "products"),
            )
    chosen = {NB_KEY: ""} if notebook else {}
    for key, caption in declared.items():
        if caption is None:
            chosen.pop(key, None)
        else:
            chosen[key] = caption
    return chosen


def rendered_path(name: str, products: Mapping[str, str], report: Mapping[str, str]) -> str | None:
    """Where the HTML rendering of the executed notebook goes (relative to the output
    root), or ``None`` when the notebook is not in the report or is HTML already."""
    if NB_KEY not in report:
        return None
    notebook = products.get(NB_KEY)
    if notebook is None:
        return f"{name}.html"
    pure = PurePosixPath(notebook)
    return None if pure.suffix.lower() in _HTML else str(pure.with_suffix(".html"))


def report_keys(report: Mapping[str, str], products: Mapping[str, str]) -> dict[str, str]:
    """The report's product keys as output names: the executed notebook as its HTML."""
    keys: dict[str, str] = {}
    for key, caption in report.items():
        keys[RENDERED if key == NB_KEY and RENDERED in products else key] = caption
    return keys
