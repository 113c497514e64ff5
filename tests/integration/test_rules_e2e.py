"""Real ``snakemake`` runs on the fixture projects of ``tests/projects``, real kernels."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import PROJECTS, copy_project, run_snakemake


def jobs_run(output: str) -> set[str]:
    """Rules of the jobs Snakemake started (or would start, in a dry run)."""
    return set(re.findall(r"^(?:local)?rule (\w+):$", output, flags=re.MULTILINE))


def outputs_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def clone(built: Path, tmp_path: Path) -> Path:
    """A copy of a built project, mtimes and Snakemake metadata included."""
    target = tmp_path / built.name
    shutil.copytree(built, target, symlinks=True)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def built_chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chain project built once with its config.yaml (count: 4, results/demo)."""
    root = copy_project("chain", tmp_path_factory.mktemp("built"))
    code, output = run_snakemake(root, "--configfile", "config.yaml")
    assert code == 0, output
    assert jobs_run(output) == {"make_numbers", "square", "total", "notebooks"}
    return root


# --- building -----------------------------------------------------------------------------


@pytest.mark.slow
def test_chain_builds_products_and_executed_notebooks(built_chain: Path) -> None:
    results = built_chain / "results" / "demo"
    assert (results / "numbers.txt").read_text().split() == ["0", "1", "2", "3"]
    assert (results / "squares.txt").read_text().split() == ["0", "1", "4", "9"]
    total = nbformat.read(results / "total.ipynb", as_version=4)
    assert "4 14" in outputs_text(total)
    made = nbformat.read(results / "make-numbers.ipynb", as_version=4)
    injected = [c for c in made.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "count = 4" in injected[0].source
    assert "[0, 1, 2, 3]" in outputs_text(made)
    assert made.metadata["kernelspec"]["name"] == "python3"
    for name in ("make-numbers", "square", "total"):
        assert (built_chain / "logs" / "demo" / f"{name}.log").is_file()
        source = built_chain / "notebooks" / f"{name}.py"
        assert source.read_bytes() == (PROJECTS / "chain" / "notebooks" / f"{name}.py").read_bytes()


@pytest.mark.slow
def test_second_run_has_nothing_to_do(built_chain: Path, tmp_path: Path) -> None:
    code, output = run_snakemake(clone(built_chain, tmp_path), "--configfile", "config.yaml", "-n")
    assert code == 0, output
    assert "Nothing to be done" in output


@pytest.mark.slow
def test_comment_only_edit_schedules_nothing(built_chain: Path, tmp_path: Path) -> None:
    root = clone(built_chain, tmp_path)
    edit(root / "notebooks" / "square.py",
         "# %%\nwith open(product",
         "# %% [markdown]\n# Squares, one a line.\n\n# %%\n# write them out\nwith open( product")
    code, output = run_snakemake(root, "--configfile", "config.yaml", "-n")
    assert code == 0, output
    assert "Nothing to be done" in output


@pytest.mark.slow
def test_code_edit_reruns_that_notebook_and_downstream(built_chain: Path, tmp_path: Path) -> None:
    root = clone(built_chain, tmp_path)
    edit(root / "notebooks" / "square.py", "str(n * n)", "str(n * n * n)")
    code, output = run_snakemake(root, "--configfile", "config.yaml")
    assert code == 0, output
    assert jobs_run(output) == {"square", "total", "notebooks"}
    assert (root / "results/demo/squares.txt").read_text().split() == ["0", "1", "8", "27"]
    total = nbformat.read(root / "results/demo/total.ipynb", as_version=4)
    assert "4 36" in outputs_text(total)


@pytest.mark.slow
def test_config_value_change_reruns_the_notebook_declaring_it(
    built_chain: Path, tmp_path: Path
) -> None:
    root = clone(built_chain, tmp_path)
    code, output = run_snakemake(
        root, "--configfile", "config.yaml", "--config", "params={'count': 6}", "-n"
    )
    assert code == 0, output
    assert jobs_run(output) == {"make_numbers", "square", "total", "notebooks"}


# --- planning without running ------------------------------------------------------------


def test_dry_run_lists_every_job_with_its_own_command(tmp_path: Path) -> None:
    root = copy_project("chain", tmp_path)
    code, output = run_snakemake(root, "-n", "-p")
    assert code == 0, output
    assert jobs_run(output) == {"make_numbers", "square", "total", "notebooks"}
    for task in ("make-numbers", "square", "total"):
        # Each job's command names its own spec file: no late binding of the loop variable.
        (spec_file,) = re.findall(rf"nbrules run (\.nbrules/jobs/{task}-[0-9a-f]+\.json)", output)
        assert json.loads((root / spec_file).read_text())["name"] == task
    assert not (root / "results").exists()


def test_dag_is_printed(tmp_path: Path) -> None:
    root = copy_project("chain", tmp_path)
    code, output = run_snakemake(root, "--dag")
    assert code == 0, output
    assert "digraph" in output
    for rule in ("make_numbers", "square", "total"):
        assert rule in output


def test_rule_name_target_schedules_only_its_upstream(tmp_path: Path) -> None:
    root = copy_project("chain", tmp_path)
    code, output = run_snakemake(root, "-n", "square")
    assert code == 0, output
    assert jobs_run(output) == {"make_numbers", "square"}


@pytest.mark.slow
def test_product_target_builds_only_what_it_needs(tmp_path: Path) -> None:
    root = copy_project("chain", tmp_path)
    code, output = run_snakemake(root, "results/numbers.txt")
    assert code == 0, output
    assert jobs_run(output) == {"make_numbers"}
    assert (root / "results" / "numbers.txt").read_text().split() == ["0", "1", "2", "3", "4"]
    assert not (root / "results" / "squares.txt").exists()


# --- errors found while Snakemake parses the Snakefile -----------------------------------


PARSE_ERRORS = {
    "cycle": (
        "notebooks/a.py:2: cycle in upstream: a -> b -> a",
        "hint: a notebook cannot depend on its own products",
    ),
    "unknown-upstream": (
        "notebooks/clean.py:5: unknown upstream 'get_data'",
        "hint: did you mean 'get-data'?",
    ),
    "duplicate-product": (
        "notebooks/second.py:5: product 'data/./out.txt' is also declared by 'first' "
        "(notebooks/first.py)",
        "hint: give every notebook its own product paths",
    ),
    "product-escapes": (
        "notebooks/leak.py:3: product 'data' path 'data/../../outside.txt' escapes the output "
        "folder",
        "hint: write product paths relative to the output root",
    ),
    "bad-literal": (
        "notebooks/computed.py:4: 'product' must be a literal",
        "hint: write product as a plain list/dict/string literal",
    ),
    "duplicate-rule-name": (
        "notebooks/a_b.py:2: notebook 'a_b' has the same rule name 'a_b' as notebooks/a-b.py",
        "hint: rename one of the notebooks",
    ),
}


@pytest.mark.parametrize("name", sorted(PARSE_ERRORS))
def test_invalid_project_fails_while_parsing(tmp_path: Path, name: str) -> None:
    message, hint = PARSE_ERRORS[name]
    root = copy_project(name, tmp_path)
    code, output = run_snakemake(root, "-n")
    assert code != 0
    assert message in output, output
    assert hint in output, output
    assert "Building DAG of jobs" not in output
    assert not (root / "results").exists()
    assert not (root / "logs").exists()


# --- jobs that fail ----------------------------------------------------------------------


def test_failing_cell_names_the_line_and_leaves_no_product(tmp_path: Path) -> None:
    root = copy_project("failing-cell", tmp_path)
    code, output = run_snakemake(root)
    assert code != 0
    assert "notebooks/fails.py:19: ZeroDivisionError: division by zero" in output, output
    assert "hint: the executed notebook with the full traceback is at " \
        "logs/results/fails.failed.ipynb" in output
    assert not (root / "results" / "partial.txt").exists()
    assert not (root / "results" / "fails.ipynb").exists()
    failed = nbformat.read(root / "logs/results/fails.failed.ipynb", as_version=4)
    errors = [o for c in failed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert [e.ename for e in errors] == ["ZeroDivisionError"]
    assert "fails.py:19" in (root / "logs/results/fails.log").read_text()


def test_missing_product_fails_the_job(tmp_path: Path) -> None:
    root = copy_project("missing-product", tmp_path)
    code, output = run_snakemake(root)
    assert code != 0
    assert "notebooks/lazy.py: notebook ran but did not write product 'data' " \
        "(results/never.txt)" in output, output
    assert "hint: write it to product['data'] in the notebook" in output
    assert not (root / "results" / "lazy.ipynb").exists()


# --- projects mixing notebooks with other code --------------------------------------------


def test_hand_written_rule_consumes_a_notebook_product(tmp_path: Path) -> None:
    root = copy_project("hand-written-rule", tmp_path)
    code, output = run_snakemake(root, "count_lines")
    assert code == 0, output
    assert jobs_run(output) == {"make_numbers", "count_lines"}
    assert (root / "results" / "line-count.txt").read_text().strip() == "5"


def test_helper_module_and_parameters_only_notebook_are_not_rules(tmp_path: Path) -> None:
    root = copy_project("helper-module", tmp_path)
    code, output = run_snakemake(root, "--list-rules")
    assert code == 0, output
    assert set(output.split()) >= {"notebooks", "uses_helper"}
    assert not {"helpers", "scratch"} & set(output.split())


@pytest.mark.slow
def test_helper_module_code_edit_reruns_its_importers(tmp_path: Path) -> None:
    root = copy_project("helper-module", tmp_path)
    code, output = run_snakemake(root)
    assert code == 0, output
    assert (root / "results" / "doubled.txt").read_text().split() == ["2", "4", "6"]

    helpers = root / "notebooks" / "helpers.py"
    edit(helpers, "def double(values):", "def double(values):  # each value times two")
    code, output = run_snakemake(root, "-n")
    assert "Nothing to be done" in output, output
    edit(helpers, "2 * value", "value + value")
    code, output = run_snakemake(root, "-n")
    assert code == 0, output
    assert jobs_run(output) == {"uses_helper", "notebooks"}


@pytest.mark.slow
def test_html_notebook_product_embeds_the_figure(tmp_path: Path) -> None:
    root = copy_project("html-report", tmp_path)
    code, output = run_snakemake(root)
    assert code == 0, output
    html = (root / "results" / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "data:image/png;base64," in html
    assert (root / "results" / "points.txt").read_text().split() == ["1", "4", "9", "16"]
    assert not list((root / "results").glob("*.ipynb"))
