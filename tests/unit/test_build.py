"""`nbrules build` decisions that need no Snakemake run: options, profiles, env files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbrules.common.errors import ConfigError
from nbrules.plan.settings import ENV_CONSOLE
from nbrules.ploomber import build

NOTEBOOK = '# %% tags=["parameters"]\nupstream = None\nproduct = None\n\n# %%\nx = 1\n'
SPEC = "tasks:\n  - source: get-data.py\n    product: out/get.ipynb\n"


def make(tmp: Path, files: dict[str, str]) -> Path:
    for name, text in {"get-data.py": NOTEBOOK, "pipeline.yaml": SPEC, **files}.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(text)
    return tmp


def test_own_options_are_taken_and_the_rest_passes_through_in_order() -> None:
    options = build.parse(["--cores", "2", "--profile", "sample", "-n", "--env--a--b=1",
                           "--env--c", "x", "--entry-point=pipeline.serve.yaml", "get"])
    assert options.profile == "sample"
    assert options.entry_point == "pipeline.serve.yaml"
    assert options.env == {"a": {"b": "1"}, "c": "x"}
    assert options.snakemake == ("--cores", "2", "-n", "get")


def test_an_option_without_its_value_is_an_error() -> None:
    with pytest.raises(ConfigError, match="--profile needs a value"):
        build.parse(["--profile"])


def args_for(tmp: Path, *argv: str) -> list[str]:
    options = build.parse(argv)
    req, profile = build.request(options, tmp)
    return build.snakemake_args(options, build.load_project(req), profile)


def test_task_names_become_rule_names_and_cores_default_to_one(tmp_path: Path) -> None:
    make(tmp_path, {})
    assert args_for(tmp_path, "get-data", "--forcerun", "get-data", "out/get.ipynb") == [
        "--rerun-incomplete", "--cores", "1", "get_data", "--forcerun", "get_data",
        "out/get.ipynb"]


@pytest.mark.parametrize("cores", [["-c", "2"], ["--cores=3"], ["-j4"], ["--jobs", "1"]])
def test_given_cores_are_kept(tmp_path: Path, cores: list[str]) -> None:
    make(tmp_path, {})
    assert args_for(tmp_path, *cores) == ["--rerun-incomplete", *cores]


def test_a_killed_build_is_recovered_unless_told_otherwise(tmp_path: Path) -> None:
    make(tmp_path, {"profiles/keep/config.yaml": "cores: 1\nrerun-incomplete: false\n"})
    assert args_for(tmp_path)[0] == "--rerun-incomplete"
    assert args_for(tmp_path, "--ri", "-c1") == ["--ri", "-c1"]
    assert "--rerun-incomplete" not in args_for(tmp_path, "--profile", "keep")


@pytest.mark.parametrize(("executor", "cores"), [
    ("parallel", "all"), ("serial", "1"),
    ("{dotted_path: ploomber.executors.Parallel, processes: 2}", "2"),
])
def test_the_ploomber_executor_sets_the_default_cores(
    tmp_path: Path, executor: str, cores: str,
) -> None:
    make(tmp_path, {"pipeline.yaml": f"executor: {executor}\n" + SPEC})
    assert args_for(tmp_path)[1:3] == ["--cores", cores]


def test_a_profile_folder_is_a_snakemake_profile_and_env_overrides(tmp_path: Path) -> None:
    make(tmp_path, {"env.yaml": "n: 1\nm: 1\n", "profiles/sample/config.yaml": "cores: 2\n",
                    "profiles/sample/env.yaml": "n: 5\n"})
    options = build.parse(["--profile", "sample"])
    req, profile = build.request(options, tmp_path)
    assert profile.snakemake == (tmp_path / "profiles/sample").resolve()
    assert req.env == {"n": 5}
    args = build.snakemake_args(options, build.load_project(req), profile)
    assert args == ["--rerun-incomplete", "--profile", str(profile.snakemake)]  # sets cores


def test_a_profile_may_select_env_name_yaml(tmp_path: Path) -> None:
    make(tmp_path, {"env.yaml": "n: 1\n", "env.dev.yaml": "n: 2\n"})
    req, profile = build.request(build.parse(["--profile", "dev"]), tmp_path)
    assert profile.snakemake is None
    assert req.env_file == str((tmp_path / "env.dev.yaml").resolve())


def test_an_unknown_profile_says_did_you_mean(tmp_path: Path) -> None:
    make(tmp_path, {"profiles/sample/config.yaml": "cores: 1\n"})
    with pytest.raises(ConfigError, match="no profile 'sampel'") as caught:
        build.request(build.parse(["--profile", "sampel"]), tmp_path)
    assert "did you mean 'sample'?" in caught.value.render()


def test_pipeline_name_yaml_selects_env_name_yaml(tmp_path: Path) -> None:
    make(tmp_path, {"pipeline.serve.yaml": SPEC, "env.yaml": "n: 1\n",
                    "env.serve.yaml": "n: 2\n"})
    req, _ = build.request(build.parse(["-e", "pipeline.serve.yaml"]), tmp_path)
    assert req.env_file == str((tmp_path / "env.serve.yaml").resolve())


def test_ploomber_env_filename_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path, {"env.yaml": "n: 1\n", "env.other.yaml": "n: 2\n"})
    monkeypatch.setenv("PLOOMBER_ENV_FILENAME", "env.other.yaml")
    req, _ = build.request(build.parse([]), tmp_path)
    assert req.env_file == str((tmp_path / "env.other.yaml").resolve())


def test_without_pipeline_yaml_the_folder_is_a_native_project(tmp_path: Path) -> None:
    req, _ = build.request(build.parse([]), tmp_path)
    project = build.load_project(req)
    assert project.spec is None and project.tasks is None
    config: dict[str, object] = {}
    build.config_defaults(config, project)
    assert config == {}


def test_the_request_round_trips_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    make(tmp_path, {"env.yaml": "n: 1\n"})
    req, _ = build.request(build.parse(["--env--n", "3"]), tmp_path)
    monkeypatch.setenv(build.ENV_VAR, req.to_json())
    monkeypatch.chdir(tmp_path.parent)
    project = build.from_environment()
    assert project.root == tmp_path.resolve()
    assert [t.name for t in project.tasks or []] == ["get-data"]
    assert not build.quiet()


def test_failures_are_the_located_errors_of_logs_written_during_the_build(tmp_path: Path) -> None:
    old = tmp_path / "old.log"
    old.write_text("nbrules: a.py:3: ValueError: from an earlier build\n")
    before = {old: old.stat().st_mtime_ns}
    (tmp_path / "new.log").write_text(
        "nbrules: b: cache miss 123 — first build\n"
        "nbrules: scripts/b.py:12: KeyError: 'x'\nhint: the executed notebook ...\n")
    assert build.failures(tmp_path, before) == ["scripts/b.py:12: KeyError: 'x'"]


def test_a_native_project_with_its_own_snakefile_runs_it(tmp_path: Path) -> None:
    project = build.Project(tmp_path, None)
    assert build.snakefile_args(project) == ["--snakefile", str(build.SNAKEFILE)]
    (tmp_path / "workflow").mkdir()
    (tmp_path / "workflow" / "Snakefile").write_text("import nbrules\n")
    assert build.snakefile_args(project) == []


def test_a_folder_with_nothing_to_build_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nothing to build here"):
        build.run([], tmp_path)


def test_engine_option_is_taken_and_checked() -> None:
    assert build.parse(["--engine", "inprocess", "-n"]).engine == "inprocess"
    assert build.parse(["--engine=kernel"]).snakemake == ()
    with pytest.raises(ConfigError, match="--engine 'inproc' is not an engine") as caught:
        build.parse(["--engine", "inproc"])
    assert "did you mean 'inprocess'" in caught.value.render()


def test_ploomber_partially_skip_upstream_and_log_flags(tmp_path: Path) -> None:
    make(tmp_path, {})
    assert args_for(tmp_path, "--partially", "get-data", "--skip-upstream", "--log", "DEBUG") == [
        "--rerun-incomplete", "--cores", "1", "get_data", "--allowed-rules", "get_data",
        "--verbose"]
    assert args_for(tmp_path, "get-data", "--skip-upstream", "--log=warning")[-7:] == [
        "--allowed-rules", "get_data", "--quiet", "progress", "rules", "reason", "host"]
    options = build.parse(["--log-file", "build.log", "-n"])
    assert options.log_file == "build.log" and options.snakemake == ("-n",)


@pytest.mark.parametrize(("argv", "message"), [
    (["--partially", "get-dat"], "--partially get-dat: no such task"),
    (["--skip-upstream"], "--skip-upstream needs the tasks to run"),
    (["--log", "loud"], "--log 'loud' is not a logging level"),
])
def test_ploomber_flag_errors(tmp_path: Path, argv: list[str], message: str) -> None:
    make(tmp_path, {})
    with pytest.raises(ConfigError, match=message):
        args_for(tmp_path, *argv)


@pytest.mark.parametrize("logger", [False, True])
def test_failures_are_repeated_last_unless_nbrules_logger_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    logger: bool,
) -> None:
    make(tmp_path, {})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(build.ENV_VAR, "")
    monkeypatch.setenv(ENV_CONSOLE, "")  # restored (unset) after the test

    def failing_snakemake(args: object) -> int:
        if logger:  # what nbrules' logger plugin sets in Snakemake's (this) process
            os.environ[ENV_CONSOLE] = "1"
        log = tmp_path / build.LOGS / "get-data.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("nbrules: get-data.py:6: KeyError: 'x'\n")
        return 1

    assert build.run([], tmp_path, failing_snakemake) == 1
    repeated = "nbrules build: failed: get-data.py:6: KeyError: 'x'"
    assert (repeated in capsys.readouterr().err) is not logger
