"""A profile's config read without Snakemake, compared with what Snakemake builds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import copy_project

from nbrules.common.errors import ConfigError
from nbrules.snakemake.project import read_project, snakefile_configfiles

EXAMPLE = Path(__file__).resolve().parents[2]


def test_the_example_sample_profile_reads_like_the_readme_says() -> None:
    project = read_project(EXAMPLE, "sample")
    assert project.snakefile == EXAMPLE / "workflow" / "Snakefile"
    assert project.config["results"] == "results/sample"
    assert project.config["params"] == {"sample_frac": 0.01}
    assert project.config["nbrules"]["pythonpath"] == ["src"]
    assert [f.relative_to(EXAMPLE).as_posix() for f in project.files] == [
        "workflow/config.yaml", "profiles/sample/data.yaml"]


def test_read_config_equals_the_config_snakemake_builds(tmp_path: Path) -> None:
    root = copy_project("profile-config", tmp_path)
    done = subprocess.run([sys.executable, "-m", "snakemake", "--profile", "profiles/fast",
                           "-n", "--quiet"], cwd=root, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads((root / "config-seen.json").read_text())
    assert read_project(root, "fast").config == seen
    assert seen["params"] == {"sample_frac": 0.01, "seed": 42}  # `config: seed=7` below …
    assert seen["seed"] == 7  # … is a top-level key, as in Snakemake


def test_without_a_profile_only_the_snakefile_configfiles_count(tmp_path: Path) -> None:
    root = copy_project("profile-config", tmp_path)
    assert read_project(root, None).config["results"] == "results/default"


def test_an_unknown_profile_suggests_the_close_one(tmp_path: Path) -> None:
    root = copy_project("profile-config", tmp_path)
    with pytest.raises(ConfigError) as caught:
        read_project(root, "fats")
    assert caught.value.hint == "did you mean 'fast'?"


def test_configfile_directives_are_read_in_order(tmp_path: Path) -> None:
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text('configfile: "a.yaml"\nx = 1\nconfigfile: \'b.yaml\'  # later wins\n'
                         '    configfile: "indented.yaml"\n')
    assert snakefile_configfiles(snakefile) == ["a.yaml", "b.yaml"]
