"""Splitting, fitting and scoring the arrival-delay classifier.

The model is a scikit-learn ``Pipeline``: an ``OrdinalEncoder`` for the
categorical columns, then a ``HistGradientBoostingClassifier`` that treats them as
categories and handles missing weather/plane values natively.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

from flights.data import FLIGHT_ID
from flights.features import CATEGORICAL, FEATURES, TARGET

PROBA = "proba"


@dataclass(frozen=True, slots=True)
class ModelParams:
    """Hyper-parameters of the boosted trees; ``seed`` fixes every random choice."""

    max_iter: int = 200
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    l2_regularization: float = 1.0
    seed: int = 42


def split(features: pd.DataFrame, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified train/test split, each part in ``flight_id`` order."""
    train, test = train_test_split(
        features, test_size=test_size, random_state=seed, stratify=features[TARGET]
    )
    return _by_id(train), _by_id(test)


def _by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(FLIGHT_ID).reset_index(drop=True)


def build_pipeline(params: ModelParams) -> Pipeline:
    encode = ColumnTransformer(
        [("categories", _category_encoder(), list(CATEGORICAL))],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    classifier = HistGradientBoostingClassifier(
        max_iter=params.max_iter,
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.max_leaf_nodes,
        l2_regularization=params.l2_regularization,
        categorical_features=list(CATEGORICAL),
        early_stopping=False,
        random_state=params.seed,
    )
    return Pipeline([("encode", encode), ("classify", classifier)])


def _category_encoder() -> OrdinalEncoder:
    """Unseen categories become -1, which the classifier treats as missing."""
    return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)


def fit(train: pd.DataFrame, params: ModelParams) -> Pipeline:
    """Fit on ``train``'s :data:`FEATURES` and :data:`TARGET`.

    OpenMP is limited to one thread because the trees' gradient sums are parallel
    reductions: with more threads the float rounding, and so the pickled model,
    would depend on the machine's core count.
    """
    pipeline = build_pipeline(params)
    with threadpool_limits(limits=1, user_api="openmp"):
        pipeline.fit(train[list(FEATURES)], train[TARGET])
    return pipeline


def predict_proba(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    """Probability of a delay for each row of ``frame``."""
    proba: np.ndarray = model.predict_proba(frame[list(FEATURES)])[:, 1]
    return proba


def scored(model: Pipeline, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{PROBA: predict_proba(model, frame)})


def training_summary(model: Pipeline, train: pd.DataFrame, test: pd.DataFrame) -> pd.Series:
    """Sizes, base rate and boosting iterations, for display after fitting."""
    classifier: HistGradientBoostingClassifier = model[-1]
    return pd.Series(
        dtype="object",
        data={
            "train_rows": len(train),
            "test_rows": len(test),
            "train_base_rate": round(float(train[TARGET].mean()), 4),
            "features": len(FEATURES),
            "boosting_iterations": int(classifier.n_iter_),
        },
    )


def evaluate(scores: pd.DataFrame, threshold: float = 0.5) -> dict[str, float | int]:
    """Ranking and thresholded metrics of a :func:`scored` frame.

    Ranking metrics are NaN when the frame holds a single class (tiny samples).
    """
    truth = scores[TARGET].to_numpy()
    proba = scores[PROBA].to_numpy()
    predicted = (proba >= threshold).astype("int64")
    both_classes = len(np.unique(truth)) > 1
    return {
        "n": len(scores),
        "base_rate": float(truth.mean()),
        "predicted_rate": float(predicted.mean()),
        "threshold": threshold,
        "roc_auc": float(roc_auc_score(truth, proba)) if both_classes else math.nan,
        "average_precision": (
            float(average_precision_score(truth, proba)) if both_classes else math.nan
        ),
        "accuracy": float(accuracy_score(truth, predicted)),
        "precision": float(precision_score(truth, predicted, zero_division=0)),
        "recall": float(recall_score(truth, predicted, zero_division=0)),
    }


def rates_by(scores: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per value of ``column``: flights, observed delay rate and mean predicted probability."""
    grouped = scores.groupby(column, sort=True)
    return pd.DataFrame(
        {
            "flights": grouped.size(),
            "observed": grouped[TARGET].mean(),
            "predicted": grouped[PROBA].mean(),
        }
    ).reset_index()
