"""Notebook tasks → rule specs: inputs, outputs, log, params, shell."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_project, rules_of

from nbrules.common.errors import NbrulesError
from nbrules.plan.jobspec import JobSpec
from nbrules.snakemake.rules import RuleSpec, all_products, shell_command


@pytest.fixture
def chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the chain project, as the working directory."""
    root = copy_project("chain", tmp_path)
    monkeypatch.chdir(root)
    return root


def specs(root: Path, config: Mapping[str, Any] | None = None) -> dict[str, RuleSpec]:
    return {spec.task: spec for spec in rules_of(dict(config or {}), root)}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))


def test_one_rule_per_notebook_in_topological_order(chain: Path) -> None:
    found = rules_of({}, chain)
    assert [(s.task, s.name) for s in found] == [
        ("make-numbers", "make_numbers"), ("square", "square"), ("total", "total"),
    ]


def test_inputs_are_upstream_data_products_not_their_notebooks(chain: Path) -> None:
    rules = specs(chain)
    assert rules["make-numbers"].input == []
    assert rules["square"].input == ["results/numbers.txt"]
    assert sorted(rules["total"].input) == ["results/numbers.txt", "results/squares.txt"]


def test_an_upstream_notebook_read_by_the_code_is_an_input(chain: Path) -> None:
    edit(chain / "notebooks" / "total.py", "print(", 'nb = upstream["square"]["nb"]\nprint(')
    rules = specs(chain)
    assert "results/square.ipynb" in rules["total"].input
    assert "results/make-numbers.ipynb" not in rules["total"].input
    assert rules["total"].job.key_inputs["square/nb"] == "results/square.ipynb"


def test_an_upstream_whose_only_product_is_its_notebook_is_an_input(chain: Path) -> None:
    (chain / "notebooks" / "report.py").write_text(
        '# %% tags=["parameters"]\nupstream = ["total"]\nproduct = "report.ipynb"\n'
    )
    assert specs(chain)["report"].input == ["results/total.ipynb"]


def test_reading_a_single_product_upstream_puts_its_notebook_in_the_key(chain: Path) -> None:
    (chain / "notebooks" / "report.py").write_text(
        '# %% tags=["parameters"]\nupstream = ["total"]\nproduct = "report.ipynb"\n'
        '# %%\nsize = len(open(upstream["total"]).read())\n')
    (chain / "notebooks" / "index.py").write_text(
        '# %% tags=["parameters"]\nupstream = ["total"]\nproduct = "index.ipynb"\n'
        '# %%\nprint("runs after total, reads nothing of it")\n')
    rules = specs(chain)
    assert rules["report"].job.key_inputs == {"total/nb": "results/total.ipynb"}
    assert rules["index"].job.key_inputs == {}
    assert rules["index"].input == ["results/total.ipynb"]


def test_outputs_are_the_products_under_the_results_folder(chain: Path) -> None:
    rules = specs(chain, {"results": "results/demo"})
    # ``nb.html``: the executed notebook rendered for Snakemake's report (by default)
    assert rules["make-numbers"].output == {
        "nb": "results/demo/make-numbers.ipynb", "data": "results/demo/numbers.txt",
        "nb.html": "results/demo/make-numbers.html",
    }
    assert rules["total"].output == {
        "nb": "results/demo/total.ipynb", "nb.html": "results/demo/total.html",
    }
    assert all_products(list(rules.values())) == [
        "results/demo/make-numbers.ipynb", "results/demo/numbers.txt",
        "results/demo/make-numbers.html",
        "results/demo/square.ipynb", "results/demo/squares.txt", "results/demo/square.html",
        "results/demo/total.ipynb", "results/demo/total.html",
    ]


def test_log_is_outside_the_products(chain: Path) -> None:
    for spec in specs(chain, {"results": "results/demo"}).values():
        assert spec.log == f"logs/demo/{spec.task}.log"
        assert spec.log not in spec.output.values()


def test_the_job_is_a_short_shell_command_naming_its_spec_file(chain: Path) -> None:
    for spec in specs(chain).values():
        assert spec.shell == shell_command()
        assert re.fullmatch(r"\.nbrules/jobs/[\w-]+-[0-9a-f]{16}\.json", spec.params["job"])
        assert JobSpec.from_json((chain / spec.params["job"]).read_text()) == spec.job
    command = f"{sys.executable} -m nbrules run {{params.job:q}} --threads {{threads}}"
    assert shell_command() == command


def test_params_carry_the_job_spec_and_a_code_digest(chain: Path) -> None:
    spec = specs(chain, {"params": {"count": 3}})["make-numbers"]
    assert set(spec.params) == {"spec", "values", "code", "job"}
    assert spec.params["code"].startswith("xxh3-128:")
    assert json.loads(spec.params["values"]) == {"count": 3}
    assert "params" not in json.loads(spec.params["spec"])
    assert spec.job.params == {"count": 3}
    assert "notebooks/make-numbers.py" not in spec.input


def test_params_are_deterministic(chain: Path) -> None:
    first = [s.params for s in rules_of({}, chain)]
    second = [s.params for s in rules_of({}, chain)]
    assert first == second


def test_comment_and_formatting_edits_keep_the_params(chain: Path) -> None:
    before = specs(chain)
    edit(chain / "notebooks" / "square.py",
         "# %%\nwith open(product",
         "# %% [markdown]\n# Now write the squares.\n\n# %%\n# write them\nwith open( product")
    after = specs(chain)
    assert {k: v.params for k, v in after.items()} == {k: v.params for k, v in before.items()}


def test_a_code_edit_changes_only_that_notebooks_params(chain: Path) -> None:
    before = specs(chain)
    edit(chain / "notebooks" / "square.py", "n * n", "n ** 2")
    after = specs(chain)
    changed = {name for name in before if before[name].params != after[name].params}
    assert changed == {"square"}


def test_a_config_value_changes_the_params_of_notebooks_declaring_it(chain: Path) -> None:
    before = specs(chain)
    after = specs(chain, {"params": {"count": 9}})
    changed = {name for name in before if before[name].params != after[name].params}
    assert changed == {"make-numbers"}


def test_each_rule_gets_its_own_values(chain: Path) -> None:
    rules = rules_of({}, chain)
    for spec in rules:
        job = spec.job
        assert job.name == spec.task
        assert job.products == spec.output
        assert job.log == spec.log
    assert len({s.params["code"] for s in rules}) == len(rules)


def test_a_syntax_error_in_a_code_cell_fails_at_definition_time(chain: Path) -> None:
    edit(chain / "notebooks" / "square.py", "n * n", "n *")
    with pytest.raises(NbrulesError) as caught:
        rules_of({}, chain)
    assert caught.value.render().startswith("notebooks/square.py:11: syntax error")


def test_defaults_json_cannot_carry_do_not_break_the_rules(chain: Path) -> None:
    edit(chain / "notebooks" / "make-numbers.py", "count = 5",
         'count = 5\nchoices = {"a", "b"}\nshape = (2, 3)')
    spec = specs(chain)["make-numbers"]
    assert json.loads(spec.params["values"]) == {"count": 5}


def test_config_for_an_unknown_notebook_is_an_error(chain: Path) -> None:
    with pytest.raises(NbrulesError) as caught:
        rules_of({"tasks": {"squares": {"params": {}}}}, chain)
    assert caught.value.hint == "did you mean 'square'?"


def test_graph_errors_surface_from_rule_specs(chain: Path) -> None:
    edit(chain / "notebooks" / "square.py", 'upstream = ["make-numbers"]',
         'upstream = ["make_numbers"]')
    with pytest.raises(NbrulesError) as caught:
        rules_of({}, chain)
    assert caught.value.render() == (
        "notebooks/square.py:2: unknown upstream 'make_numbers'\n"
        "hint: did you mean 'make-numbers'?"
    )


def test_a_folder_product_is_a_directory_output_and_a_plain_input(chain: Path) -> None:
    edit(chain / "notebooks" / "make-numbers.py", '"data": "numbers.txt"', '"data": "numbers/"')
    found = specs(chain)
    root = found["make-numbers"].job.results
    assert found["make-numbers"].output["data"] == f"{root}/numbers"
    assert found["make-numbers"].folders == ("data",)
    assert f"{root}/numbers" in found["square"].input
    assert found["square"].job.upstream["make-numbers"]["data"] == f"{root}/numbers"
    assert found["make-numbers"].job.products["data"] == f"{root}/numbers/"
    assert found["make-numbers"].job.relative_products["data"] == "numbers/"  # keys apart
    assert f"{root}/numbers" in all_products(list(found.values()))


def test_a_notebook_without_its_parameters_tag_is_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbrules.snakemake.rules import rules_from_config

    monkeypatch.chdir(tmp_path)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "good.py").write_text(
        '# %% tags=["parameters"]\nupstream = None\nproduct = {"nb": "good.ipynb"}\n')
    (notebooks / "forgot.py").write_text("# %%\nupstream = None\nproduct = 'x.ipynb'\n")
    (notebooks / "helpers.py").write_text("def f():\n    return 1\n")
    warnings: list[str] = []
    _, specs = rules_from_config({"results": "out"}, tmp_path, cwd=tmp_path,
                                 warn=warnings.append, write_specs=False)
    assert [spec.task for spec in specs] == ["good"]
    assert len(warnings) == 1
    assert "forgot.py: has '# %%' cells but no cell tagged 'parameters'" in warnings[0]
    assert 'hint: tag its parameters cell: # %% tags=["parameters"]' in warnings[0]
