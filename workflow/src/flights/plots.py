"""Figures for the evaluation and the report, rendered to reproducible PNG bytes.

Figures are built on :class:`matplotlib.figure.Figure` directly rather than
through ``pyplot``: no global figure registry, nothing shown twice inline.
Notebooks display the PNG bytes (``IPython.display.Image``), so what the reader
sees is exactly the product that was written.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from flights.io import PathLike

DPI = 100
FIGSIZE = (6.0, 4.0)
# Matplotlib stamps its version into the PNG's "Software" text chunk; dropping it
# keeps the bytes equal across matplotlib upgrades that do not change the pixels.
PNG_METADATA: dict[str, str | None] = {"Software": None}


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata=PNG_METADATA)
    return buffer.getvalue()


def save_png(fig: Figure, path: PathLike) -> bytes:
    """Write ``fig`` as PNG to ``path`` and return the bytes written."""
    data = png_bytes(fig)
    Path(path).write_bytes(data)
    return data


def roc_figure(truth: np.ndarray, proba: np.ndarray, auc: float) -> Figure:
    false_pos, true_pos, _ = roc_curve(truth, proba)
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    ax = fig.subplots()
    ax.plot(false_pos, true_pos, label=f"model (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    ax.legend(loc="lower right")
    return fig


def rates_figure(rates: pd.DataFrame, column: str, title: str) -> Figure:
    """Observed delay rate next to mean predicted probability, per value of ``column``.

    ``rates`` is the table :func:`flights.model.rates_by` returns.
    """
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    ax = fig.subplots()
    positions = np.arange(len(rates))
    ax.bar(positions - 0.2, rates["observed"], width=0.4, label="observed")
    ax.bar(positions + 0.2, rates["predicted"], width=0.4, label="predicted")
    ax.set_xticks(positions, [str(value) for value in rates[column]])
    ax.set(xlabel=column, ylabel="share delayed > 15 min", title=title)
    ax.legend()
    return fig


def delay_rate_figure(rates: pd.Series, xlabel: str, title: str) -> Figure:
    """Horizontal bars of a delay rate indexed by a label (carrier name, airport…)."""
    ordered = rates.sort_values(kind="stable")
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    ax = fig.subplots()
    ax.barh([str(label) for label in ordered.index], ordered.to_numpy())
    ax.set(xlabel=xlabel, title=title)
    return fig
