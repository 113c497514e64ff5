"""Config → settings, parameter values and job specs."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from nbrules.common.errors import ConfigError
from nbrules.plan.declarations import Task
from nbrules.plan.jobspec import JobSpec, job_spec, resolve_params
from nbrules.plan.settings import Settings, check_names
from nbrules.plan.settings import parse_settings as settings


def task(
    name: str = "fit",
    params: Mapping[str, Any] | None = None,
    declared: set[str] | None = None,
    upstream: tuple[str, ...] = (),
    products: dict[str, str] | None = None,
) -> Task:
    params = dict(params or {})
    return Task(
        name=name,
        source=Path("notebooks") / f"{name}.py",
        upstream=upstream,
        products=products or {"nb": f"{name}.ipynb"},
        single=products is None,
        params=params,
        declared=frozenset(declared if declared is not None else params),
        line=2,
    )


def read(config: Mapping[str, Any], tmp_path: Path) -> Settings:
    return settings(config, tmp_path, tmp_path)


def test_defaults(tmp_path: Path) -> None:
    s = read({}, tmp_path)
    assert (s.results, s.logs, s.notebooks, s.kernel) == (
        "results", "logs/results", "notebooks", "python3"
    )
    assert s.pythonpath == ()


def test_logs_default_follows_the_results_folder(tmp_path: Path) -> None:
    s = read({"results": "results/sample"}, tmp_path)
    assert (s.results, s.logs) == ("results/sample", "logs/sample")


def test_empty_results_key_means_the_default(tmp_path: Path) -> None:
    assert read({"results": None}, tmp_path).results == "results"


def test_results_must_name_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        read({"results": ""}, tmp_path)
    assert caught.value.hint


def test_absolute_results_inside_the_working_dir_become_relative(tmp_path: Path) -> None:
    assert read({"results": str(tmp_path / "out" / "a")}, tmp_path).results == "out/a"


def test_engine_paths_are_relative_to_the_snakefile(tmp_path: Path) -> None:
    config = {"nbrules": {"notebooks": "nbs", "pythonpath": ["src", "lib"], "kernel": "py"}}
    s = settings(config, tmp_path / "workflow", tmp_path)
    assert s.notebooks == "workflow/nbs"
    assert s.pythonpath == ("workflow/src", "workflow/lib")
    assert s.kernel == "py"


def test_unknown_engine_key_suggests_the_close_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        read({"nbrules": {"notebook": "nbs"}}, tmp_path)
    assert caught.value.message == "unknown config key 'nbrules.notebook'"
    assert caught.value.hint == "did you mean 'notebooks'?"


def test_other_top_level_keys_belong_to_the_user(tmp_path: Path) -> None:
    assert read({"my_setting": 1}, tmp_path).results == "results"


def test_params_section_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        read({"params": ["a"]}, tmp_path)


def test_declared_defaults_are_the_values(tmp_path: Path) -> None:
    assert resolve_params(task(params={"alpha": 0.1}), read({}, tmp_path)) == {"alpha": 0.1}


def test_global_params_apply_only_to_notebooks_declaring_them(tmp_path: Path) -> None:
    s = read({"params": {"sample_frac": 0.01}}, tmp_path)
    assert resolve_params(task(params={"sample_frac": 1.0}), s) == {"sample_frac": 0.01}
    assert resolve_params(task(params={"other": 1}), s) == {"other": 1}


def test_per_task_params_win_over_global(tmp_path: Path) -> None:
    s = read({"params": {"seed": 1}, "tasks": {"fit": {"params": {"seed": 2}}}}, tmp_path)
    assert resolve_params(task(params={"seed": 0}), s) == {"seed": 2}
    assert resolve_params(task("other", params={"seed": 0}), s) == {"seed": 1}


def test_config_may_set_a_computed_default(tmp_path: Path) -> None:
    s = read({"tasks": {"fit": {"params": {"started": "2024-01-01"}}}}, tmp_path)
    assert resolve_params(task(declared={"started"}), s) == {"started": "2024-01-01"}


def test_unknown_per_task_param_suggests_the_declared_one(tmp_path: Path) -> None:
    s = read({"tasks": {"fit": {"params": {"n_estimator": 5}}}}, tmp_path)
    with pytest.raises(ConfigError) as caught:
        resolve_params(task(params={"n_estimators": 10}), s)
    assert caught.value.render().startswith(
        "notebooks/fit.py:2: config sets parameter 'n_estimator'"
    )
    assert caught.value.hint == "did you mean 'n_estimators'?"


def test_unknown_per_task_param_without_close_name_says_how_to_declare(tmp_path: Path) -> None:
    s = read({"tasks": {"fit": {"params": {"zzz": 5}}}}, tmp_path)
    with pytest.raises(ConfigError) as caught:
        resolve_params(task(params={"alpha": 1}), s)
    assert caught.value.hint and "declare 'zzz = <default>'" in caught.value.hint


@pytest.mark.parametrize(
    "value",
    [
        datetime.date(2024, 1, 1),  # YAML reads 2024-01-01 as a date
        float("nan"),
        float("inf"),
        {1: "one"},  # would come back from JSON as {"1": "one"}
        (1, 2),
        object(),
    ],
    ids=["date", "nan", "inf", "int-keys", "tuple", "object"],
)
def test_values_that_cannot_reach_the_kernel_unchanged_are_rejected(
    tmp_path: Path, value: Any
) -> None:
    s = read({"tasks": {"fit": {"params": {"x": value}}}}, tmp_path)
    with pytest.raises(ConfigError) as caught:
        resolve_params(task(params={"x": 0}), s)
    assert caught.value.location() == "notebooks/fit.py:2: "
    assert "parameter 'x' of notebook 'fit'" in caught.value.message


def test_defaults_json_would_change_are_left_to_the_notebook(tmp_path: Path) -> None:
    defaults = {"shape": (3, 4), "choices": {"a", "b"}, "lookup": {1: "one"}, "n": 3}
    assert resolve_params(task(params=defaults), read({}, tmp_path)) == {"n": 3}


def test_job_spec_json_round_trips(tmp_path: Path) -> None:
    s = read({"results": "results/demo"}, tmp_path)
    up = task("make", products={"nb": "make.ipynb", "data": "numbers.txt"})
    down = task("total", params={"label": "it's \"quoted\"\n"}, upstream=("make",))
    spec = job_spec(down, {"make": up}, s)
    assert JobSpec.from_json(spec.to_json()) == spec
    assert spec.to_json() == job_spec(down, {"make": up}, s).to_json()
    assert spec.relative_products == {"nb": "total.ipynb", "nb.html": "total.html"}


def test_job_spec_inputs_and_injected_upstream(tmp_path: Path) -> None:
    s = read({"results": "out"}, tmp_path)
    tasks = {
        "data": task("data", products={"nb": "data.ipynb", "rows": "rows.csv"}),
        "single": task("single"),
        "only-nb": task("only-nb", products={"nb": "only.ipynb"}),
    }
    spec = job_spec(task("use", upstream=("data", "single", "only-nb")), tasks, s)
    assert spec.upstream == {
        "data": {"nb": "out/data.ipynb", "rows": "out/rows.csv"},
        "single": "out/single.ipynb",
        "only-nb": {"nb": "out/only.ipynb"},
    }
    assert spec.key_inputs == {"data/rows": "out/rows.csv"}
    assert spec.order_inputs == ["out/single.ipynb", "out/only.ipynb"]
    read_nb = job_spec(task("use", upstream=("data",)), tasks, s, frozenset({"data"}))
    assert read_nb.key_inputs == {"data/nb": "out/data.ipynb", "data/rows": "out/rows.csv"}


def test_job_spec_log_is_outside_the_results(tmp_path: Path) -> None:
    spec = job_spec(task(), {}, read({"results": "results/demo"}, tmp_path))
    assert spec.log == "logs/demo/fit.log"
    assert not spec.log.startswith(spec.results + "/")
    assert spec.products == {"nb": "results/demo/fit.ipynb", "nb.html": "results/demo/fit.html"}


def test_config_naming_an_unknown_notebook_suggests_the_close_one(tmp_path: Path) -> None:
    s = read({"tasks": {"fit-modle": {"params": {"seed": 1}}}}, tmp_path)
    with pytest.raises(ConfigError) as caught:
        check_names(s, [task("fit-model"), task("clean")])
    assert caught.value.message == "config key 'tasks' names unknown notebook 'fit-modle'"
    assert caught.value.hint == "did you mean 'fit-model'?"


def test_global_param_no_notebook_declares_is_rejected(tmp_path: Path) -> None:
    s = read({"params": {"sample_fract": 0.1}}, tmp_path)
    with pytest.raises(ConfigError) as caught:
        check_names(s, [task(params={"sample_frac": 1.0})])
    assert caught.value.hint == "did you mean 'sample_frac'?"


def test_known_names_pass(tmp_path: Path) -> None:
    s = read({"params": {"seed": 1}, "tasks": {"fit": {"params": {"seed": 2}}}}, tmp_path)
    check_names(s, [task(params={"seed": 0})])


def test_engine_defaults_to_the_kernel_and_may_be_set_per_profile_and_notebook(
    tmp_path: Path,
) -> None:
    from nbrules.plan.settings import EngineChoice

    assert read({}, tmp_path).engines == EngineChoice("kernel", {})
    s = read({"nbrules": {"engine": "inprocess"}, "tasks": {"fit": {"engine": "kernel"}}},
             tmp_path)
    assert s.engines.for_task("fit", {}) == "kernel"
    assert s.engines.for_task("clean", {}) == "inprocess"
    assert EngineChoice.from_env({"NBRULES_ENGINES": s.engines.to_env()}) == s.engines


def test_nbrules_engine_in_the_environment_beats_the_config(tmp_path: Path) -> None:
    s = read({"tasks": {"fit": {"engine": "kernel"}}}, tmp_path)
    assert s.engines.for_task("fit", {"NBRULES_ENGINE": "inprocess"}) == "inprocess"
    with pytest.raises(ConfigError, match="NBRULES_ENGINE is 'inproces'") as caught:
        s.engines.for_task("fit", {"NBRULES_ENGINE": "inproces"})
    assert "did you mean 'inprocess'" in caught.value.render()


def test_a_misspelt_engine_is_a_located_error(tmp_path: Path) -> None:
    data = tmp_path / "data.yaml"
    data.write_text("results: results/x\ntasks:\n  fit:\n    engine: kernal\n")
    with pytest.raises(ConfigError) as caught:
        settings({"tasks": {"fit": {"engine": "kernal"}}}, tmp_path, tmp_path, [data])
    text = caught.value.render()
    assert "data.yaml:4: config key 'tasks.fit.engine' is 'kernal'" in text
    assert "did you mean 'kernel'" in text
