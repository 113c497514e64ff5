"""A notebook's ``resources`` → the rule's threads/resources, and profiles on top."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_project, rules_of, run_snakemake

from nbrules.common.errors import ConfigError, DeclarationError
from nbrules.plan.declarations import Task
from nbrules.plan.resources import ALIASES, KNOWN, rule_resources
from nbrules.plan.settings import parse_settings


def task(resources: Mapping[str, Any], name: str = "fit-model") -> Task:
    return Task(
        name=name,
        source=Path("notebooks") / f"{name}.py",
        upstream=(),
        products={"nb": f"{name}.ipynb"},
        single=True,
        resources=dict(resources),
        line=3,
        lines={"resources": 6},
    )


# ------------------------------------------------------------------ declared values


def test_threads_become_the_rule_threads_and_the_rest_its_resources() -> None:
    got = rule_resources(task({"threads": 4, "mem_mb": 8000, "runtime": 60}))
    assert got.threads == 4
    assert got.resources == {"mem_mb": 8000, "runtime": 60}
    assert got.warnings == ()


def test_without_resources_a_rule_gets_one_thread_and_the_profile_defaults() -> None:
    got = rule_resources(task({}))
    assert (got.threads, dict(got.resources)) == (1, {})


def test_friendly_names_map_to_snakemake_and_slurm_names() -> None:
    got = rule_resources(task({"partition": "long", "account": "proj", "gpus": 0,
                               "cpus": 3, "extra": "--exclusive"}))
    assert got.threads == 3
    assert got.resources == {"slurm_partition": "long", "slurm_account": "proj", "gpu": 0,
                             "slurm_extra": "--exclusive"}
    assert got.warnings == ()


def test_human_friendly_sizes_and_times_pass_through_for_snakemake_to_parse() -> None:
    got = rule_resources(task({"mem": "8GB", "runtime": "1h30m", "disk": "2GB"}))
    assert got.resources == {"mem": "8GB", "runtime": "1h30m", "disk": "2GB"}


def test_every_alias_targets_a_known_name() -> None:
    assert set(ALIASES.values()) <= KNOWN


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"threads": 0}, "resource 'threads' must be a whole number >= 1, got 0"),
        ({"threads": 2.5}, "resource 'threads' must be a whole number >= 1, got 2.5"),
        ({"mem_mb": -1}, "resource 'mem_mb' must be a whole number >= 0, got -1"),
        ({"mem_mb": "8GB"}, "resource 'mem_mb' must be a whole number >= 0, got '8GB'"),
        ({"runtime": 1.5}, "resource 'runtime' must be a whole number (MB or minutes)"),
        ({"gpus": True}, "resource 'gpus' must be a number or a string, got True"),
        ({"partition": 3}, "resource 'partition' must be a non-empty string, got 3"),
        ({"slurm_extra": " "}, "resource 'slurm_extra' must be a non-empty string"),
        ({"io": [1]}, "resource 'io' must be a whole number or a string, got [1]"),
        ({"partition": "a", "slurm_partition": "b"},
         "resource 'slurm_partition' is given twice (as 'partition' and as 'slurm_partition')"),
        ({"mem": "8GB", "mem_mb": 8000}, "resources 'mem' and 'mem_mb' give the same amount"),
    ],
)
def test_bad_values_fail_at_the_notebooks_resources_line(
    resources: dict[str, Any], message: str
) -> None:
    with pytest.raises(DeclarationError) as caught:
        rule_resources(task(resources))
    assert caught.value.location() == str(Path("notebooks/fit-model.py")) + ":6: "
    assert message in caught.value.message
    assert caught.value.hint


def test_an_unknown_name_warns_with_did_you_mean_and_is_kept() -> None:
    got = rule_resources(task({"mem_gb": 8, "runtim": 30}))
    assert got.resources == {"mem_gb": 8, "runtim": 30}
    first, second = got.warnings
    assert first.startswith(f"{Path('notebooks/fit-model.py')}:6: warning: unknown resource "
                            "'mem_gb'")
    assert "hint: did you mean 'mem_mb'?" in first
    assert "hint: did you mean 'runtime'?" in second


def test_a_typo_of_an_alias_suggests_the_real_name() -> None:
    (warning,) = rule_resources(task({"partitoin": "long"})).warnings
    assert "did you mean 'slurm_partition'?" in warning


def test_a_custom_resource_without_lookalike_explains_itself() -> None:
    (warning,) = rule_resources(task({"licenses_foo": 1})).warnings
    assert "only limits scheduling (--resources licenses_foo=N)" in warning


# ------------------------------------------------------------------ config overrides


def test_config_overrides_the_notebook_name_by_name() -> None:
    got = rule_resources(task({"threads": 4, "mem_mb": 8000, "runtime": 60}),
                         {"threads": 2, "partition": "short"})
    assert got.threads == 2
    assert got.resources == {"mem_mb": 8000, "runtime": 60, "slurm_partition": "short"}


def test_config_mem_replaces_a_declared_mem_mb_instead_of_clashing() -> None:
    got = rule_resources(task({"mem_mb": 8000}), {"mem": "16GB"})
    assert got.resources == {"mem": "16GB"}


def test_bad_config_values_name_the_config_key() -> None:
    with pytest.raises(ConfigError) as caught:
        rule_resources(task({}), {"threads": "many"})
    assert caught.value.message.startswith("config tasks.fit-model.resources: resource "
                                           "'threads' must be a whole number")


def test_config_resources_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_settings({"tasks": {"fit": {"resources": ["threads"]}}}, tmp_path, tmp_path)


def test_config_typos_warn_at_the_config_key() -> None:
    (warning,) = rule_resources(task({}), {"mem_md": 10}).warnings
    assert warning.startswith("config tasks.fit-model.resources: warning: unknown resource")


# ------------------------------------------------------------------ through the rules


@pytest.fixture
def slurm_project(tmp_path: Path) -> Path:
    return copy_project("slurm-resources", tmp_path)


def specs(project: Path, config: Mapping[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[
        str, Any]:
    monkeypatch.chdir(project)
    return {spec.task: spec for spec in rules_of(config, project)}


def test_rule_specs_carry_the_declared_resources(
    slurm_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = specs(slurm_project, {"results": "results/x"}, monkeypatch)["threads"]
    assert spec.threads == 2
    assert spec.resources == {"mem_mb": 1100, "runtime": 7, "slurm_partition": "debug"}


def test_rule_specs_apply_per_task_config(
    slurm_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"tasks": {"threads": {"resources": {"threads": 1, "mem_mb": 600}}}}
    spec = specs(slurm_project, config, monkeypatch)["threads"]
    assert (spec.threads, spec.resources["mem_mb"]) == (1, 600)


def test_rule_specs_log_resource_typos_as_snakemake_warnings(
    slurm_project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = {"tasks": {"check": {"resources": {"mem_gb": 2}}}}
    with caplog.at_level(logging.WARNING):
        specs(slurm_project, config, monkeypatch)
    assert "did you mean 'mem_mb'?" in caplog.text


# ------------------------------------------------- Snakemake: profile on top (dry run)


def resources_of(output: str, rule: str) -> dict[str, str]:
    """``name=value`` pairs of ``rule``'s ``resources:`` line in a dry run's output."""
    block = output[output.index(f"rule {rule}:"):]
    line = re.search(r"^\s+resources: (.*)$", block, re.M)
    assert line, block[:500]
    pairs = (item.split("=", 1) for item in line.group(1).split(", "))
    return {key: value for key, value in pairs}


def test_dry_run_shows_declared_resources_and_profile_defaults(slurm_project: Path) -> None:
    code, out = run_snakemake(slurm_project, "-n", "--configfile", "config.yaml",
                              "--default-resources", "mem_mb=500", "runtime=5", "qos=normal")
    assert code == 0, out[-3000:]
    threads = resources_of(out, "threads")
    assert (threads["mem_mb"], threads["runtime"], threads["slurm_partition"]) == (
        "1100", "7", "debug")
    assert threads["qos"] == "normal"
    check = resources_of(out, "check")
    assert (check["mem_mb"], check["runtime"]) == ("500", "5")


def test_set_resources_and_set_threads_beat_the_notebook(slurm_project: Path) -> None:
    code, out = run_snakemake(
        slurm_project, "-n", "--configfile", "config.yaml", "--cores", "4",
        "--set-resources", "threads:mem_mb=3000*attempt", "threads:slurm_partition=long",
        "--set-threads", "threads=3", "-p",
    )
    assert code == 0, out[-3000:]
    threads = resources_of(out, "threads")
    assert (threads["mem_mb"], threads["slurm_partition"]) == ("3000", "long")
    assert re.search(r"nbrules run \.nbrules/jobs/threads-[0-9a-f]+\.json --threads 3\b", out)



# ------------------------------------------------------------------ job groups


def group(value: Any, tmp_path: Path) -> str | None:
    return parse_settings({"tasks": {"clean": {"group": value}}}, tmp_path, tmp_path).task(
        "clean").group


def test_config_group_names_the_rules_job_group(tmp_path: Path) -> None:
    assert group("prep", tmp_path) == "prep"
    assert group(None, tmp_path) is None


@pytest.mark.parametrize("value", ["", "two words", 3, ["prep"]])
def test_a_bad_group_is_a_config_error(value: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config key 'tasks\.clean\.group' must be a group"):
        group(value, tmp_path)


def test_rule_specs_carry_the_config_group(
    slurm_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"tasks": {"check": {"group": "both"}, "threads": {"group": "both"}}}
    found = specs(slurm_project, config, monkeypatch)
    assert (found["threads"].group, found["check"].group) == ("both", "both")
