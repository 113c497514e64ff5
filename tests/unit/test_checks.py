"""Integrity checks: declarations, resolution of called functions, the table checks, keys."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from nbrules.cache.code import code_summary
from nbrules.common.errors import CheckFailed, ConfigError, DeclarationError
from nbrules.plan.checks import Check, check_calls, parse_checks
from nbrules.plan.declarations import parse_parameters, task_from_cell
from nbrules.plan.jobspec import JobSpec
from nbrules.plan.keys import spec_key_parts
from nbrules.run.checks import run_checks
from nbrules.run.tablechecks import check_table

PRODUCTS = {"nb": "flights.ipynb", "data": "flights.parquet", "metrics": "metrics.json"}
NB = Path("notebooks/flights.py")


def checks_of(value: Any) -> tuple[Check, ...]:
    return parse_checks(value, PRODUCTS, NB, 7)


def error_of(value: Any) -> str:
    with pytest.raises(DeclarationError) as info:
        checks_of(value)
    return info.value.render()


# ---------------------------------------------------------------- declarations


def test_checks_are_read_per_product_in_declared_order() -> None:
    found = checks_of(
        {"data": {"rows": (1, None), "call": ["qa:a", "qa.more:b"], "not_null": ["id"]}}
    )
    assert [(c.product, c.name, c.settings) for c in found] == [
        ("data", "rows", [1, None]),
        ("data", "qa:a", None),
        ("data", "qa.more:b", None),
        ("data", "not_null", ["id"]),
    ]


def test_an_unknown_product_or_check_gets_a_did_you_mean() -> None:
    assert error_of({"dta": {"rows": [1, None]}}) == (
        "notebooks/flights.py:7: 'checks' names product 'dta', which this notebook does "
        "not declare\nhint: did you mean 'data'?"
    )
    assert error_of({"data": {"not_nul": ["id"]}}).endswith("hint: did you mean 'not_null'?")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"metrics": {"rows": [1, None]}}, "reads a table, but metrics.json is not Parquet"),
        ({"data": {"rows": 5}}, "must be [min, max]"),
        ({"data": {"rows": [-1, None]}}, "must be [min, max]"),
        ({"data": {"columns": ["a"]}}, "must map column names to type names"),
        ({"data": {"unique": "id"}}, "must be a list of column names"),
        ({"data": {"call": "qa.check-it"}}, "is not 'module:function'"),
        (["data"], "'checks' must map product keys to dicts of checks"),
    ],
)
def test_malformed_checks_are_declaration_errors(value: Any, message: str) -> None:
    assert message in error_of(value)


def test_a_ploomber_dotted_path_becomes_module_function() -> None:
    (check,) = checks_of({"metrics": {"call": "integration_tests.check_metrics"}})
    assert check.name == "integration_tests:check_metrics" and check.module == "integration_tests"


def test_checks_is_reserved_not_a_parameter(tmp_path: Path) -> None:
    cell = parse_parameters(
        'upstream = None\nproduct = {"nb": "a.ipynb", "data": "a.parquet"}\n'
        'checks = {"data": {"rows": [1, None]}}\nn = 3\n',
        NB,
        1,
    )
    task = task_from_cell(NB, "flights", cell)
    assert dict(task.params) == {"n": 3}
    assert task.checks == (Check("data", "rows", [1, None]),)


def test_called_functions_must_exist_in_the_project(tmp_path: Path) -> None:
    package = tmp_path / "src" / "qa"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "delays.py").write_text("import math\n\ndef plausible(path):\n    pass\n")
    search = [tmp_path / "notebooks", tmp_path / "src"]
    check_calls([Check("data", "qa.delays:plausible")], search, NB, 7)
    with pytest.raises(ConfigError) as info:
        check_calls([Check("data", "qa.delays:plausibel")], search, NB, 7)
    assert info.value.hint == "did you mean 'plausible'?"
    with pytest.raises(ConfigError) as info:
        check_calls([Check("data", "qa.nothing:f")], search, NB, 7)
    assert "module 'qa.nothing' is not in the project" in info.value.message


# ---------------------------------------------------------------- table checks


@pytest.fixture(params=["parquet", "feather"])
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    data = pa.table(
        {
            "id": pa.array([1, 2, 3, 3], pa.int64()),
            "name": pa.array(["a", None, "c", "d"], pa.large_string()),
            "x": pa.array([0.5, 1.5, None, None]),
        }
    )
    path = tmp_path / f"t.{request.param}"
    if request.param == "parquet":
        pq.write_table(data, path, row_group_size=3)
    else:
        feather.write_feather(data, path, chunksize=3)
    return path


def message(path: Path, kind: str, settings: Any) -> str | None:
    failure = check_table(path, kind, settings)
    return None if failure is None else failure.message


def test_rows_bounds(table: Path) -> None:
    assert message(table, "rows", [4, 4]) is None
    assert message(table, "rows", [5, None]) == "4 rows, expected at least 5"
    assert message(table, "rows", [None, 3]) == "4 rows, expected at most 3"


def test_columns_and_types(table: Path) -> None:
    assert message(table, "columns", {"id": "int64", "name": "string", "x": "float64"}) is None
    assert message(table, "columns", {"id": "int32"}) == "column 'id' is int64, expected int32"
    failure = check_table(table, "columns", {"nmae": "string"})
    assert failure is not None and failure.message == "no column 'nmae'"
    assert failure.hint == "did you mean 'name'?"


def test_no_nulls(table: Path) -> None:
    assert message(table, "not_null", ["id"]) is None
    assert message(table, "not_null", ["id", "x"]) == "column 'x' has 2 nulls (the first in row 2)"


def test_unique_keys(table: Path) -> None:
    assert message(table, "unique", ["id", "name"]) is None
    assert message(table, "unique", ["id"]) == "1 value repeats in key 'id', e.g. id=3 (2 rows)"


# ---------------------------------------------------------------- running and keys


def spec(tmp_path: Path, checks: list[Check]) -> JobSpec:
    return JobSpec(
        name="flights",
        source=str(NB),
        products={"nb": "r/flights.ipynb", "data": "r/flights.parquet"},
        single=False,
        upstream={},
        key_inputs={},
        order_inputs=[],
        params={},
        log="logs/flights.log",
        kernel="python3",
        pythonpath=["notebooks", "src"],
        results="r",
        checks=[c.to_json() for c in checks],
    )


def test_called_checks_run_in_the_kernels_interpreter_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "qa.py").write_text(
        "import os\n\ndef ok(path):\n    assert os.path.isabs(path)\n\n"
        "def bad(path):\n    assert False\n"
    )
    (tmp_path / "r").mkdir()
    pq.write_table(pa.table({"id": [1]}), tmp_path / "r/flights.parquet")
    env = {"PYTHONPATH": str(tmp_path / "src"), "PATH": "/usr/bin:/bin"}
    run_checks(spec(tmp_path, [Check("data", "qa:ok")]), tmp_path, env)
    with pytest.raises(CheckFailed) as info:
        run_checks(spec(tmp_path, [Check("data", "qa:ok"), Check("data", "qa:bad")]), tmp_path, env)
    assert info.value.render() == (
        "notebooks/flights.py: check 'qa:bad' failed on product 'data': "
        "AssertionError: assert False\nhint: raised at src/qa.py:7"
    )


def test_check_settings_enter_the_key(tmp_path: Path) -> None:
    plain = spec(tmp_path, [])
    one = spec(tmp_path, [Check("data", "rows", [1, None])])
    other = dataclasses.replace(one, checks=[Check("data", "rows", [2, None]).to_json()])
    keys = {spec_key_parts(s, "code", {}).key for s in (plain, one, other)}
    assert len(keys) == 3
    assert "checks" not in spec_key_parts(plain, "code", {}).document()


def test_a_checks_module_enters_the_code_digest(tmp_path: Path) -> None:
    (tmp_path / "nb.py").write_text('# %% tags=["parameters"]\nupstream = None\n')
    (tmp_path / "qa.py").write_text("def ok(path):\n    return True\n")
    search = [tmp_path]
    without = code_summary(tmp_path / "nb.py", search, "3.11")
    with_qa = code_summary(tmp_path / "nb.py", search, "3.11", also=["qa"])
    (tmp_path / "qa.py").write_text("def ok(path):\n    return False\n")
    changed = code_summary(tmp_path / "nb.py", search, "3.11", also=["qa"])
    assert len({without.digest, with_qa.digest, changed.digest}) == 3
    assert "qa.py" in with_qa.parts
