"""pipeline.yaml (Ploomber's spec) → Task objects: every key, every placeholder rule."""

from __future__ import annotations

import textwrap
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from conftest import rules_of

from nbrules.common.errors import ConfigError, DeclarationError, NbrulesError, UnknownUpstream
from nbrules.plan.declarations import Task
from nbrules.plan.jobspec import job_spec
from nbrules.plan.settings import Settings
from nbrules.ploomber import build
from nbrules.ploomber import spec as pipeline_yaml


def notebook(upstream: str = "None", extra: str = "", product: str = "None") -> str:
    return (f'# %% tags=["parameters"]\nupstream = {upstream}\nproduct = {product}\n'
            f"{extra}\n\n# %%\nx = 1\n")


def project(tmp: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp


def yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def load(tmp: Path, *args: str) -> pipeline_yaml.Spec:
    req, _ = build.request(build.parse(args), tmp)
    spec = build.load_project(req).spec
    assert spec is not None
    return spec


def tasks(tmp: Path, *args: str) -> dict[str, Task]:
    return {task.name: task for task in load(tmp, *args).tasks}


def error(tmp: Path, *args: str) -> NbrulesError:
    with pytest.raises(NbrulesError) as caught:
        load(tmp, *args)
    return caught.value


BASIC = {
    "get.py": notebook(extra="count = 1"),
    "scripts/clean-data.py": notebook('["get"]'),
    "pipeline.yaml": yaml("""
        tasks:
          - source: get.py
            product: {nb: out/get.ipynb, data: out/get.csv}
          - source: scripts/clean-data.py
            product: out/clean.html
        """),
}


def test_dict_and_single_products_stay_relative_to_the_project_folder(tmp_path: Path) -> None:
    found = tasks(project(tmp_path, BASIC))
    assert found["get"].products == {"nb": "out/get.ipynb", "data": "out/get.csv"}
    assert not found["get"].single
    assert found["clean-data"].products == {"nb": "out/clean.html"}
    assert found["clean-data"].single
    assert found["clean-data"].source == Path("scripts/clean-data.py")
    assert found["clean-data"].upstream == ("get",)


@pytest.mark.parametrize("declared", ["out/parts/", "out/parts", "out/./parts//"])
def test_a_folder_product_ends_in_a_slash_or_has_no_suffix(tmp_path: Path,
                                                           declared: str) -> None:
    files = {**BASIC, "pipeline.yaml": BASIC["pipeline.yaml"].replace(
        "data: out/get.csv", f"data: {declared}")}
    found = tasks(project(tmp_path, files))
    assert found["get"].products == {"nb": "out/get.ipynb", "data": "out/parts/"}
    spec = job_spec(found["clean-data"], found, Settings(results="."))
    assert spec.key_inputs == {"get/data": "out/parts"}  # what Snakemake and notebooks see


def test_a_grid_folder_product_is_indexed_and_stays_a_folder(tmp_path: Path) -> None:
    files = {**GRID, "pipeline.yaml": GRID["pipeline.yaml"].replace(
        "out/[[mode]]/model.tar.gz", "out/[[mode]]/weights")}
    found = tasks(project(tmp_path, files))
    assert found["fit-2"].products["model"] == "out/mul/weights-2/"


def test_name_defaults_to_the_source_stem_and_name_key_renames(tmp_path: Path) -> None:
    files = {**BASIC, "pipeline.yaml": BASIC["pipeline.yaml"].replace(
        "- source: get.py", "- source: get.py\n    name: load")}
    files["scripts/clean-data.py"] = notebook('["load"]')
    assert set(tasks(project(tmp_path, files))) == {"load", "clean-data"}


def test_the_whole_file_may_be_a_list_of_tasks(tmp_path: Path) -> None:
    project(tmp_path, {"get.py": notebook(),
                       "pipeline.yaml": "- source: get.py\n  product: out/get.ipynb\n"})
    assert set(tasks(tmp_path)) == {"get"}


TYPED = {
    "env.yaml": "sample: false\ncount: 3\nname: run\n",
    "get.py": notebook(extra="sample = None"),
    "pipeline.yaml": yaml("""
        tasks:
          - source: get.py
            product: 'out/{{name}}/get.ipynb'
            params:
              sample: '{{sample}}'
              count: '{{count}}'
              tag: 'sample={{sample}}'
              text: hello
              number: '10'
              flag: 'true'
              nothing: 'null'
              items: '[1, 2]'
              day: 2024-01-31
        """),
}


def test_a_single_placeholder_keeps_the_env_type_a_longer_string_uses_str(
    tmp_path: Path,
) -> None:
    task = tasks(project(tmp_path, TYPED))["get"]
    assert task.params["sample"] is False
    assert task.params["count"] == 3
    assert task.params["tag"] == "sample=False"
    assert task.products == {"nb": "out/run/get.ipynb"}


def test_strings_that_read_as_literals_are_cast_as_ploomber_does(tmp_path: Path) -> None:
    params = tasks(project(tmp_path, TYPED))["get"].params
    assert params["text"] == "hello"
    assert params["number"] == 10
    assert params["flag"] is True
    assert params["nothing"] is None
    assert params["items"] == [1, 2]
    assert params["day"] == "2024-01-31"  # papermill injects unknown scalars as str


def test_builtin_placeholders_and_an_env_key_overriding_one(tmp_path: Path) -> None:
    project(tmp_path, {
        "get.py": notebook(extra="where = None\nwho = None"),
        "env.yaml": "user: someone\n",
        "pipeline.yaml": yaml("""
            tasks:
              - source: get.py
                product: {nb: '{{root}}/out/get.ipynb', data: '{{here}}/out/data.csv'}
                params: {where: '{{cwd}}', who: '{{user}}', when: '{{now}}'}
            """),
    })
    task = tasks(tmp_path)["get"]
    assert task.products == {"nb": "out/get.ipynb", "data": "out/data.csv"}
    assert task.params["where"] == str(tmp_path.resolve())
    assert task.params["who"] == "someone"
    assert task.params["when"][:2] == "20"


def test_nested_env_keys_and_env_values_using_other_keys(tmp_path: Path) -> None:
    project(tmp_path, {
        "get.py": notebook(),
        "env.yaml": "base: data\npath:\n  raw: '{{base}}/raw'\nlabel: '{{base}}-{{path.raw}}'\n",
        "pipeline.yaml": yaml("""
            tasks:
              - source: get.py
                product: {nb: out/get.ipynb, data: '{{path.raw}}/get.csv'}
                params: {label: '{{label}}'}
            """),
    })
    task = tasks(tmp_path)["get"]
    assert task.products["data"] == "data/raw/get.csv"
    assert task.params["label"] == "data-data/raw"


def test_undefined_placeholder_names_the_key_and_line_with_did_you_mean(tmp_path: Path) -> None:
    files = {**TYPED, "pipeline.yaml": TYPED["pipeline.yaml"].replace("{{count}}", "{{cuont}}")}
    problem = error(project(tmp_path, files))
    assert isinstance(problem, ConfigError)
    assert problem.render().startswith("pipeline.yaml:6: undefined placeholder '{{cuont}}'")
    assert "did you mean 'count'?" in problem.render()


def test_env_override_from_the_command_line_is_typed_like_ploomber(tmp_path: Path) -> None:
    task = tasks(project(tmp_path, TYPED), "--env--sample", "true", "--env--count=7")["get"]
    assert task.params["sample"] is True
    assert task.params["count"] == 7


def test_overriding_an_env_key_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    problem = error(project(tmp_path, TYPED), "--env--smaple", "true")
    assert "env key 'smaple'" in problem.render()
    assert "did you mean 'sample'?" in problem.render()


def test_env_yml_is_refused_with_a_rename_hint(tmp_path: Path) -> None:
    files = {k: v for k, v in TYPED.items() if k != "env.yaml"}
    project(tmp_path, {**files, "env.yml": TYPED["env.yaml"]})
    assert "rename env.yml to env.yaml" in error(tmp_path).render()


def test_import_tasks_from_resolves_sources_from_the_imported_file(tmp_path: Path) -> None:
    project(tmp_path, {
        "get.py": notebook(),
        "more/report.py": notebook('["get"]'),
        "env.yaml": "flavour: plain\n",
        "more/tasks.yaml": yaml("""
            - source: report.py
              product: 'out/report-{{flavour}}.ipynb'
            """),
        "pipeline.yaml": yaml("""
            meta:
              import_tasks_from: more/tasks.yaml
            tasks:
              - source: get.py
                product: out/get.ipynb
            """),
    })
    found = tasks(tmp_path)
    assert found["report"].source == Path("more/report.py")
    assert found["report"].products == {"nb": "out/report-plain.ipynb"}


GRID = {
    "make.py": notebook(),
    "fit.py": notebook('["make"]', "alpha = 0\nmode = None\nseed = 0"),
    "pipeline.yaml": yaml("""
        tasks:
          - source: make.py
            product: out/make.ipynb
          - source: fit.py
            name: fit-
            product: {nb: out/fit.html, model: 'out/[[mode]]/model.tar.gz'}
            params: {seed: 7}
            grid:
              - {mode: add, alpha: [1, 2]}
              - {mode: mul, alpha: 3}
        """),
}


def test_grid_expands_to_named_tasks_with_indexed_products_like_ploomber(tmp_path: Path) -> None:
    found = tasks(project(tmp_path, GRID))
    fits = [found[f"fit-{i}"] for i in range(3)]
    assert [t.params for t in fits] == [
        {"alpha": 1, "mode": "add", "seed": 7},
        {"alpha": 2, "mode": "add", "seed": 7},
        {"alpha": 3, "mode": "mul", "seed": 7},
    ]
    assert fits[2].products == {"nb": "out/fit-2.html", "model": "out/mul/model-2.tar.gz"}
    assert all(t.upstream == ("make",) for t in fits)


def test_grid_name_with_brackets_names_tasks_by_their_params(tmp_path: Path) -> None:
    files = {**GRID, "pipeline.yaml": GRID["pipeline.yaml"].replace(
        "name: fit-", "name: 'fit-[[mode]]-[[alpha]]'")}
    assert {"fit-add-1", "fit-add-2", "fit-mul-3"} <= set(tasks(project(tmp_path, files)))


@pytest.mark.parametrize(("old", "new", "message"), [
    ("    name: fit-\n", "", "a task with 'grid' needs a 'name'"),
    ("params: {seed: 7}", "params: {alpha: 7}", "'grid' and 'params' both set alpha"),
])
def test_grid_errors(tmp_path: Path, old: str, new: str, message: str) -> None:
    files = {**GRID, "pipeline.yaml": GRID["pipeline.yaml"].replace(old, new)}
    assert message in error(project(tmp_path, files)).render()


def test_a_wildcard_upstream_is_injected_grouped_as_ploomber_does(tmp_path: Path) -> None:
    files = {**GRID, "compare.py": notebook('["fit-*", "make"]')}
    files["pipeline.yaml"] += "  - source: compare.py\n    product: out/compare.ipynb\n"
    found = tasks(project(tmp_path, files))
    compare = found["compare"]
    assert set(compare.upstream) == {"fit-0", "fit-1", "fit-2", "make"}
    spec = job_spec(compare, found, Settings(results="."))
    assert spec.upstream["make"] == "out/make.ipynb"
    assert spec.upstream["fit-*"]["fit-1"] == {"nb": "out/fit-1.html",
                                               "model": "out/add/model-1.tar.gz"}


def test_yaml_upstream_needs_extract_upstream_false(tmp_path: Path) -> None:
    files = {**BASIC, "pipeline.yaml": BASIC["pipeline.yaml"] + "    upstream: [get]\n"}
    problem = error(project(tmp_path, files))
    assert "needs meta.extract_upstream: false" in problem.render()


def test_yaml_upstream_is_honoured_with_extract_upstream_false(tmp_path: Path) -> None:
    files = {**BASIC, "scripts/clean-data.py": notebook("get_upstream()"),
             "pipeline.yaml": "meta: {extract_upstream: false}\n"
             + BASIC["pipeline.yaml"] + "    upstream: get\n"}
    assert tasks(project(tmp_path, files))["clean-data"].upstream == ("get",)


def test_an_unknown_yaml_upstream_points_at_the_yaml_line(tmp_path: Path) -> None:
    files = {**BASIC, "pipeline.yaml": "meta: {extract_upstream: false}\n"
             + BASIC["pipeline.yaml"] + "    upstream: [gte]\n"}
    problem = error(project(tmp_path, files))
    assert problem.render().startswith("pipeline.yaml:5: task 'clean-data': unknown upstream")
    assert "did you mean 'get'?" in problem.render()


def test_extract_product_reads_the_product_from_the_notebook(tmp_path: Path) -> None:
    project(tmp_path, {
        "get.py": notebook(product='{"nb": "out/get.ipynb", "data": "out/get.csv"}'),
        "pipeline.yaml": "meta: {extract_product: true}\ntasks:\n  - source: get.py\n",
    })
    assert tasks(tmp_path)["get"].products == {"nb": "out/get.ipynb", "data": "out/get.csv"}


def test_product_relative_to_source(tmp_path: Path) -> None:
    files = {**BASIC, "pipeline.yaml": "meta: {product_relative_to_source: true}\n"
             + BASIC["pipeline.yaml"]}
    assert tasks(project(tmp_path, files))["clean-data"].products == {
        "nb": "scripts/out/clean.html"}


def test_upstream_may_be_a_dict_a_set_or_a_tuple(tmp_path: Path) -> None:
    files = {**BASIC, "scripts/clean-data.py": notebook("{'get': None}")}
    assert tasks(project(tmp_path, files))["clean-data"].upstream == ("get",)
    (tmp_path / "scripts/clean-data.py").write_text(notebook("{'get'}"))
    assert tasks(tmp_path)["clean-data"].upstream == ("get",)


@pytest.mark.parametrize(("where", "old", "new", "hint"), [
    ("pipeline.yaml", "tasks:", "taks: []\ntasks:", "did you mean 'tasks'?"),
    ("task", "    product: out/clean.html", "    prodcut: out/clean.html",
     "did you mean 'product'?"),
    ("meta", "tasks:", "meta: {extract_upstrem: true}\ntasks:",
     "did you mean 'extract_upstream'?"),
])
def test_unknown_keys_are_errors_with_did_you_mean(
    tmp_path: Path, where: str, old: str, new: str, hint: str,
) -> None:
    files = {**BASIC, "pipeline.yaml": BASIC["pipeline.yaml"].replace(old, new)}
    problem = error(project(tmp_path, files))
    assert isinstance(problem, ConfigError)
    assert f"unknown {where} key" in problem.render()
    assert problem.render().startswith("pipeline.yaml:")
    assert hint in problem.render()


def test_warned_keys_warn_once_each_with_what_nbrules_does_instead(tmp_path: Path) -> None:
    files = {**BASIC, "pipeline.yaml": "executor: parallel\nclients: {SQLScript: db.get}\n"
             + BASIC["pipeline.yaml"].replace(
                 "product: out/clean.html",
                 "product: out/clean.html\n    static_analysis: disable\n"
                 "    papermill_params: {log_output: true}").replace(
                 "product: {nb: out/get.ipynb, data: out/get.csv}",
                 "product: {nb: out/get.ipynb, data: out/get.csv}\n    static_analysis: strict")}
    spec = load(project(tmp_path, files))
    keys = [w.key for w in spec.warnings]
    assert sorted(keys) == ["clients", "papermill_params", "static_analysis"]
    assert spec.cores == "all"
    first = next(w for w in spec.warnings if w.key == "static_analysis")
    assert first.render().startswith("pipeline.yaml:6: warning: 'static_analysis' is ignored:")


FUNCTIONS = {
    "tasks.py": (
        "import json\n\n\ndef get(product, count):\n    pass\n\n\n"
        "def clean(product, upstream):\n    x = upstream['get']\n    y = upstream['raw']\n"
    ),
    "pipeline.yaml": yaml("""
        tasks:
          - source: tasks.get
            product: out/raw.csv
            params: {count: 2}
          - source: tasks.clean
            name: raw
            product: {data: out/clean.csv, folder: out/parts}
          - source: run.sh
            product: out/run.txt
    """),
    "run.sh": "cat {{upstream['get']}} {{ upstream[\"raw\"]['data'] }} > {{product}}\n",
}


def test_function_tasks_read_upstream_from_the_body_as_ploomber_does(tmp_path: Path) -> None:
    files = {**FUNCTIONS, "tasks.py": FUNCTIONS["tasks.py"].replace("upstream['raw']", "1")}
    get, clean, run = load(project(tmp_path, files)).tasks
    assert (get.kind, get.function, get.source, get.upstream) == (
        "function", "tasks.get", Path("tasks.py"), ())
    assert (get.products, get.single, get.params) == ({"nb": "out/raw.csv"}, True, {"count": 2})
    assert (clean.name, clean.upstream) == ("raw", ("get",))
    assert clean.products == {"data": "out/clean.csv", "folder": "out/parts/"}
    assert (run.kind, run.function, run.upstream) == ("shell", "", ("get", "raw"))


def test_a_function_reading_itself_as_upstream_is_a_cycle(tmp_path: Path) -> None:
    problem = error(project(tmp_path, FUNCTIONS))
    assert "'raw' lists itself as upstream" in problem.render()


@pytest.mark.parametrize(("source", "message"), [
    ("tasks.gett", "tasks.py: module defines no function 'gett'\nhint: did you mean 'get'?"),
    ("task.get", "cannot find module 'task' of function task.get"),
])
def test_a_missing_function_is_located(tmp_path: Path, source: str, message: str) -> None:
    files = {**FUNCTIONS, "pipeline.yaml": FUNCTIONS["pipeline.yaml"].replace(
        "source: tasks.get", f"source: {source}")}
    assert message in error(project(tmp_path, files)).render()


def test_an_ipynb_source_is_read_like_a_py_notebook(tmp_path: Path) -> None:
    import jupytext

    script = jupytext.reads(notebook('["get"]', "alpha = 2"), fmt="py:percent")
    notebook_text = jupytext.writes(script, fmt="ipynb")
    files = {**BASIC, "scripts/clean-data.ipynb": notebook_text, "pipeline.yaml": BASIC[
        "pipeline.yaml"].replace("scripts/clean-data.py", "scripts/clean-data.ipynb")}
    _, clean = load(project(tmp_path, files)).tasks
    assert (clean.source, clean.upstream, clean.params) == (
        Path("scripts/clean-data.ipynb"), ("get",), {"alpha": 2})


@pytest.mark.parametrize(("source", "message"), [
    ("query.sql", "SQL tasks are not supported"),
    ("plot.R", "R notebooks are not supported"),
])
def test_non_notebook_sources_are_refused(tmp_path: Path, source: str, message: str) -> None:
    files = {**BASIC, "pipeline.yaml": BASIC["pipeline.yaml"].replace(
        "- source: get.py", f"- source: {source}\n    product: out/x.csv\n  - source: get.py")}
    assert message in error(project(tmp_path, files)).render()


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("location: factory.make\n", "'location' (a Python factory"),
    (BASIC["pipeline.yaml"].replace("product: out/clean.html",
                                    "product: out/clean.html\n    class: ScriptRunner"),
     "class: ScriptRunner is not supported"),
    (BASIC["pipeline.yaml"].replace("product: out/clean.html",
                                    "product: out/clean.html\n    product_class: GenericProduct"),
     "product_class: GenericProduct is not supported"),
    (BASIC["pipeline.yaml"].replace("product: out/clean.html", "product: {data: out/x.csv}"),
     "a dict of paths with an 'nb' key"),
    (BASIC["pipeline.yaml"].replace("product: out/clean.html", "product: out/clean.pdf"),
     "must end in .ipynb or .html"),
    (BASIC["pipeline.yaml"].replace("product: out/clean.html", "product: ../clean.html"),
     "is outside the project folder"),
    (BASIC["pipeline.yaml"].replace("nb: out/get.ipynb", "nb: out/get/"),
     "must end in .ipynb or .html"),
    (BASIC["pipeline.yaml"].replace("source: get.py", "source: gte.py"),
     "did you mean 'get.py'?"),
    (BASIC["pipeline.yaml"].replace("product: out/clean.html",
                                    "product: out/clean.html\n    params: {n: 'm::f'}"),
     "cannot import module 'm'"),
])
def test_refused_specs_say_why(tmp_path: Path, yaml_text: str, message: str) -> None:
    assert message in error(project(tmp_path, {**BASIC, "pipeline.yaml": yaml_text})).render()


def test_a_notebook_without_a_parameters_cell_is_an_error(tmp_path: Path) -> None:
    problem = error(project(tmp_path, {**BASIC, "get.py": "# %%\nx = 1\n"}))
    assert isinstance(problem, DeclarationError)
    assert problem.render().startswith("get.py: notebook has no cell tagged 'parameters'")


def test_params_resources_become_absolute_paths_with_a_warning(tmp_path: Path) -> None:
    files = {**BASIC, "query.sql": "select 1",
             "pipeline.yaml": BASIC["pipeline.yaml"].replace(
                 "product: out/clean.html",
                 "product: out/clean.html\n    params: {resources_: {q: query.sql}}")}
    spec = load(project(tmp_path, files))
    task = next(t for t in spec.tasks if t.name == "clean-data")
    assert task.params["resources_"] == {"q": str((tmp_path / "query.sql").resolve())}
    assert [w.key for w in spec.warnings] == ["params.resources_"]


def test_a_package_layout_is_relative_to_the_setup_py_folder(tmp_path: Path) -> None:
    project(tmp_path, {
        "setup.py": "",
        "src/pkg/get.py": notebook(),
        "src/pkg/pipeline.yaml": "tasks:\n  - source: src/pkg/get.py\n"
                                 "    product: products/get.ipynb\n",
    })
    spec = load(tmp_path)
    assert spec.root == tmp_path.resolve()
    assert spec.tasks[0].products == {"nb": "products/get.ipynb"}


def rule_params(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    monkeypatch.chdir(tmp)
    project_ = build.load_project(build.request(build.parse([]), tmp)[0])
    config: dict[str, Any] = {}
    build.config_defaults(config, project_)
    specs = rules_of(config, tmp, tasks=project_.tasks)
    return {spec.task: asdict(spec.job) for spec in specs}


def test_rule_params_follow_env_values_but_not_yaml_comments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    project(tmp_path, TYPED)
    before = rule_params(tmp_path, monkeypatch)
    spec_file = tmp_path / "pipeline.yaml"
    spec_file.write_text("# a comment\n" + spec_file.read_text().replace(
        "text: hello", "text: hello   # another comment"))
    assert rule_params(tmp_path, monkeypatch) == before
    (tmp_path / "env.yaml").write_text(TYPED["env.yaml"].replace("count: 3", "count: 4"))
    after = rule_params(tmp_path, monkeypatch)
    assert after["get"]["params"]["count"] == 4
    assert before["get"]["results"] == "."
    assert before["get"]["log"] == ".nbrules/logs/get.log"


def test_graph_errors_still_apply_to_yaml_tasks(tmp_path: Path) -> None:
    files = {**BASIC, "scripts/clean-data.py": notebook('["gte"]')}
    with pytest.raises(UnknownUpstream, match="unknown upstream 'gte'"):
        load(project(tmp_path, files))


@pytest.mark.parametrize(("old", "new", "message"), [
    ("product: out/clean.html", "product: out/get.ipynb",
     "pipeline.yaml:4: task 'clean-data': product out/get.ipynb is also the product of "
     "task 'get' (pipeline.yaml:2)"),
    ("- source: scripts/clean-data.py", "- source: scripts/clean-data.py\n    name: get",
     "pipeline.yaml:4: task 'get': name get is also the name of task 'get'"),
])
def test_duplicate_names_and_products_point_at_the_yaml(
    tmp_path: Path, old: str, new: str, message: str,
) -> None:
    files = {**BASIC, "pipeline.yaml": BASIC["pipeline.yaml"].replace(old, new)}
    assert message in error(project(tmp_path, files)).render()


def test_a_symlinked_output_folder_stays_inside_the_project(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "project"
    project(root, BASIC)
    (root / "out").symlink_to(elsewhere)
    assert tasks(root)["get"].products["data"] == "out/get.csv"


DOTTED = {
    **BASIC,
    "values.py": ("def alphas():\n    return [1, 2]\n\n"
                  "def scaled(factor, base=10):\n    return base * factor\n\n"
                  "def nothing():\n    return None\n\n"
                  "def opaque():\n    return object()\n"),
}


def dotted(tmp: Path, params: str) -> Path:
    text = BASIC["pipeline.yaml"].replace("product: out/clean.html",
                                          f"product: out/clean.html\n    params: {params}")
    return project(tmp, {**DOTTED, "pipeline.yaml": text})


def test_dotted_path_params_are_called_with_their_keyword_arguments(tmp_path: Path) -> None:
    found = tasks(dotted(tmp_path, "{a: 'values::alphas', "
                                   "b: {dotted_path: values::scaled, factor: 3}, "
                                   "c: {dotted_path: values.scaled, factor: 2, base: 1}, "
                                   "nested: {x: {dotted_path: values::alphas}}}"))
    assert found["clean-data"].params == {
        "a": [1, 2], "b": 30, "c": 2,
        "nested": {"x": {"dotted_path": "values::alphas"}},  # only top-level values, as Ploomber
    }


def test_a_dotted_path_in_a_grid_gives_the_axis(tmp_path: Path) -> None:
    text = BASIC["pipeline.yaml"].replace(
        "product: out/clean.html",
        "product: out/clean.html\n    name: c-\n    grid: {k: values::alphas}")
    found = tasks(project(tmp_path, {**DOTTED, "pipeline.yaml": text}))
    assert found["c-0"].params == {"k": 1} and found["c-1"].params == {"k": 2}


@pytest.mark.parametrize(("params", "message"), [
    ("{n: 'm::f'}", "params.n: cannot import module 'm'"),
    ("{n: 'values::missing'}", "params.n: module 'values' has no function 'missing'"),
    ("{n: 'values::nothing'}", "params.n: values::nothing() returned None"),
    ("{n: 'values::opaque'}", "params.n: values::opaque returned a object"),
    ("{n: {dotted_path: values::scaled}}", "params.n: values::scaled() raised TypeError"),
    ("{n: {dotted_path: 3}}", "params.n: dotted_path 3 is not 'module::function'"),
])
def test_dotted_path_errors_are_located(tmp_path: Path, params: str, message: str) -> None:
    rendered = error(dotted(tmp_path, params)).render()
    assert message in rendered and "pipeline.yaml:6:" in rendered, rendered


def test_every_unsupported_thing_is_listed_in_one_run(tmp_path: Path) -> None:
    text = yaml("""
        clientz: {}
        tasks:
          - source: get.py
            product: {nb: out/get.ipynb, data: out/get.csv}
            papermill_parms: {}
            kernel_name: python3
          - source: scripts/clean-data.py
            product: out/clean.html
            client: db.get_client
          - source: query.sql
            product: [schema, table]
          - source: get.py
            name: dump
            class: SQLDump
            product: out/dump.ipynb
        """)
    problem = error(project(tmp_path, {**BASIC, "query.sql": "select 1", "pipeline.yaml": text}))
    lines = problem.render().splitlines()
    located = [line for line in lines if line.startswith("pipeline.yaml:")]
    assert located == [
        "pipeline.yaml:1: unknown pipeline.yaml key 'clientz'",
        "pipeline.yaml:5: unknown task key 'papermill_parms'",
        "pipeline.yaml:6: unknown task key 'kernel_name'",
        "pipeline.yaml:9: SQL tasks are not supported ('client' is a key of Ploomber's SQL tasks)",
        "pipeline.yaml:10: task 'query.sql': SQL tasks are not supported",
        "pipeline.yaml:14: task 'dump': SQL tasks are not supported (class: SQLDump)",
    ], lines
    assert "hint: did you mean 'clients'?" in lines
    assert "hint: did you mean 'papermill_params'?" in lines
    assert lines[-1] == "6 problems found; nothing was run"


def test_one_problem_is_reported_alone(tmp_path: Path) -> None:
    text = BASIC["pipeline.yaml"].replace("product: out/clean.html",
                                          "product: out/clean.html\n    chunksize: 10")
    rendered = error(project(tmp_path, {**BASIC, "pipeline.yaml": text})).render()
    assert rendered.startswith("pipeline.yaml:6: SQL tasks are not supported ('chunksize'")
    assert "problems found" not in rendered
