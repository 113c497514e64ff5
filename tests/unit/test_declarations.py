"""Reading a notebook's parameters cell: upstream, product, params, resources."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nbrules.common.errors import DeclarationError, GraphError
from nbrules.common.notebooks import code_cells
from nbrules.plan.declarations import Task, discover, read_declaration
from nbrules.plan.graph import build


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def declare(tmp_path: Path, text: str, name: str = "task.py") -> Task:
    task = read_declaration(write(tmp_path, name, text))
    assert task is not None
    return task


def declaration_error(tmp_path: Path, text: str) -> DeclarationError:
    path = write(tmp_path, "task.py", text)
    with pytest.raises(DeclarationError) as caught:
        read_declaration(path)
    return caught.value


def test_upstream_none_is_a_source_notebook(tmp_path: Path) -> None:
    task = declare(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = "task.ipynb"
    """)
    assert task.name == "task"
    assert task.upstream == ()


def test_upstream_list_keeps_its_order(tmp_path: Path) -> None:
    task = declare(tmp_path, """
        # %% tags=["parameters"]
        upstream = ["get-data", "clean"]
        product = "task.ipynb"
    """)
    assert task.upstream == ("get-data", "clean")


def test_single_path_product_is_the_notebook(tmp_path: Path) -> None:
    task = declare(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = "out/task.ipynb"
    """)
    assert task.single
    assert task.products == {"nb": "out/task.ipynb"}
    assert task.notebook_product == "out/task.ipynb"
    assert task.data_products == {}


def test_dict_product_separates_notebook_and_data(tmp_path: Path) -> None:
    task = declare(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = {"nb": "task.ipynb", "data": "data/task.csv"}
    """)
    assert not task.single
    assert task.notebook_product == "task.ipynb"
    assert task.data_products == {"data": "data/task.csv"}


def test_other_assignments_are_parameter_defaults(tmp_path: Path) -> None:
    task = declare(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = "task.ipynb"
        sample_frac = 0.5
        seed: int = 42
        columns = ["a", "b"]
        started = now()
    """)
    assert task.params == {"sample_frac": 0.5, "seed": 42, "columns": ["a", "b"]}
    # A computed default cannot be read, but config may still override it.
    assert task.declared == {"sample_frac", "seed", "columns", "started"}


def test_resources_are_read_and_not_parameters(tmp_path: Path) -> None:
    task = declare(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = "task.ipynb"
        resources = {"threads": 2, "mem_mb": 4000}
    """)
    assert task.resources == {"threads": 2, "mem_mb": 4000}
    assert "resources" not in task.params
    assert "resources" not in task.declared


def test_resources_must_be_a_dict(tmp_path: Path) -> None:
    error = declaration_error(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = "task.ipynb"
        resources = 4
    """)
    assert error.line == 4
    assert "resources" in error.message


def test_non_literal_upstream_names_file_line_and_hint(tmp_path: Path) -> None:
    error = declaration_error(tmp_path, """
        # %% [markdown]
        # Computed upstream lists are not allowed.

        # %% tags=["parameters"]
        NAMES = ["a", "b"]
        upstream = [name for name in NAMES]
        product = "task.ipynb"
    """)
    assert error.render().startswith(f"{tmp_path / 'task.py'}:6: 'upstream' must be a literal")
    assert error.hint and "literal" in error.hint
    assert "\nhint: " in error.render()


def test_non_literal_product_names_its_line(tmp_path: Path) -> None:
    error = declaration_error(tmp_path, """
        # %% tags=["parameters"]
        name = "x"
        upstream = None
        product = {"nb": f"{name}.ipynb"}
    """)
    assert (error.path, error.line) == (tmp_path / "task.py", 4)
    assert error.message == "'product' must be a literal"


def test_unbuildable_literal_is_a_declaration_error_not_a_crash(tmp_path: Path) -> None:
    # literal_eval raises TypeError (unhashable key) rather than ValueError here.
    error = declaration_error(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = {["nb"]: "task.ipynb"}
    """)
    assert error.line == 3
    assert "literal" in error.message


def test_unbuildable_parameter_default_is_treated_as_computed(tmp_path: Path) -> None:
    task = declare(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = "task.ipynb"
        lookup = {{1, 2}: "pair"}
    """)
    assert "lookup" in task.declared
    assert "lookup" not in task.params


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('upstream = "get-data"', "'upstream' must be None or a list"),
        ("upstream = [1, 2]", "'upstream' must be None or a list"),
        ('upstream = [""]', "'upstream' must be None or a list"),
        ('upstream = {"a": 1}', "'upstream' must be None or a list"),
    ],
)
def test_upstream_of_the_wrong_shape(tmp_path: Path, line: str, fragment: str) -> None:
    error = declaration_error(tmp_path, f"""
        # %% tags=["parameters"]
        product = "task.ipynb"
        {line}
    """)
    assert error.line == 3
    assert fragment in error.message
    assert error.hint and "upstream = [" in error.hint


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("product = None", "'product' is not declared"),
        ('product = ""', "must be a path string or a dict"),
        ("product = {}", "must be a path string or a dict"),
        ('product = ["a.ipynb"]', "must be a path string or a dict"),
        ('product = {"nb": 3}', "key 'nb' must be an identifier"),
        ('product = {"my data": "x.csv"}', "key 'my data' must be an identifier"),
    ],
)
def test_product_of_the_wrong_shape(tmp_path: Path, line: str, fragment: str) -> None:
    error = declaration_error(tmp_path, f"""
        # %% tags=["parameters"]
        upstream = None
        {line}
    """)
    assert error.line == 3
    assert fragment in error.message
    assert error.hint and "product = {" in error.hint


def test_upstream_without_product_is_an_error(tmp_path: Path) -> None:
    error = declaration_error(tmp_path, """
        # %% tags=["parameters"]
        upstream = ["a"]
    """)
    assert error.message == "'product' is not declared"
    assert error.line == 2  # the parameters cell's first line


def test_syntax_error_in_parameters_cell_names_the_line(tmp_path: Path) -> None:
    error = declaration_error(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = "task.ipynb"
        count = = 3
    """)
    assert error.line == 4
    assert "syntax error" in error.message


def test_file_without_parameters_cell_is_not_a_task(tmp_path: Path) -> None:
    path = write(tmp_path, "helpers.py", '''
        """Helpers; mentions parameters, upstream and product in prose only."""
        product = "not a product"


        def double(x):
            return 2 * x
    ''')
    assert read_declaration(path) is None


def test_parameters_cell_without_upstream_or_product_is_not_a_task(tmp_path: Path) -> None:
    path = write(tmp_path, "scratch.py", """
        # %% tags=["parameters"]
        rows = 10

        # %%
        print(rows)
    """)
    assert read_declaration(path) is None


def test_light_format_cells_are_read(tmp_path: Path) -> None:
    task = declare(tmp_path, """
        # + tags=["parameters"]
        upstream = ["a"]
        product = "task.ipynb"
        alpha = 0.1
        # -

        print(alpha)
    """)
    assert task.upstream == ("a",)
    assert task.params == {"alpha": 0.1}
    assert task.line_of("upstream") == 2


def test_lines_are_file_lines_even_when_markdown_quotes_the_code(tmp_path: Path) -> None:
    task = declare(tmp_path, """
        # %% [markdown]
        # Write `upstream = None` for a notebook without inputs.

        # %% tags=["parameters"]
        upstream = None
        product = "task.ipynb"
    """)
    assert task.line == 5
    assert (task.line_of("upstream"), task.line_of("product")) == (5, 6)


def test_a_later_assignment_wins(tmp_path: Path) -> None:
    task = declare(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = "draft.ipynb"
        product = "task.ipynb"
    """)
    assert task.products == {"nb": "task.ipynb"}
    assert task.line_of("product") == 4


def test_a_later_literal_replaces_a_computed_value(tmp_path: Path) -> None:
    task = declare(tmp_path, """
        # %% tags=["parameters"]
        upstream = default_upstream()
        upstream = ["a"]
        product = "task.ipynb"
    """)
    assert task.upstream == ("a",)


def test_code_cells_skip_markdown_and_stale_injected_cells(tmp_path: Path) -> None:
    path = write(tmp_path, "task.py", """
        # %% [markdown]
        # Title

        # %% tags=["parameters"]
        upstream = None
        product = "task.ipynb"

        # %% tags=["injected-parameters"]
        product = "/old/machine/task.ipynb"

        # %%
        x = 1
    """)
    cells = code_cells(path)
    assert [source for source, _ in cells] == [
        'upstream = None\nproduct = "task.ipynb"',
        "x = 1",
    ]
    assert [line for _, line in cells] == [5, 12]


def test_code_cell_lines_when_a_cell_repeats_an_earlier_line(tmp_path: Path) -> None:
    path = write(tmp_path, "task.py", """
        # %% tags=["parameters"]
        upstream = None
        product = "task.ipynb"

        # %%
        df = 1
        df

        # %%
        df
        1 / 0
    """)
    assert [line for _, line in code_cells(path)] == [2, 6, 10]


def test_discover_reads_only_tasks_sorted_by_name(tmp_path: Path) -> None:
    write(tmp_path, "b.py", """
        # %% tags=["parameters"]
        upstream = ["a"]
        product = "b.ipynb"
    """)
    write(tmp_path, "a.py", """
        # %% tags=["parameters"]
        upstream = None
        product = "a.ipynb"
    """)
    write(tmp_path, "helpers.py", "def f():\n    return 1\n")
    write(tmp_path, "notes.md", "# not python\n")
    assert [task.name for task in discover(tmp_path)] == ["a", "b"]


def test_discover_skips_hidden_files_and_dangling_editor_locks(tmp_path: Path) -> None:
    write(tmp_path, "a.py", """
        # %% tags=["parameters"]
        upstream = None
        product = "a.ipynb"
    """)
    (tmp_path / ".#a.py").symlink_to("user@host.1234:1700000000")
    (tmp_path / ".scratch.py").write_text((tmp_path / "a.py").read_text())
    assert [task.name for task in discover(tmp_path)] == ["a"]


def test_a_helper_module_in_another_encoding_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "legacy.py").write_bytes(b"# -*- coding: latin-1 -*-\nNAME = '\xe9t\xe9'\n")
    assert read_declaration(tmp_path / "legacy.py") is None


def test_a_notebook_that_is_not_utf8_is_a_declaration_error(tmp_path: Path) -> None:
    path = tmp_path / "task.py"
    path.write_bytes(b'# %% tags=["parameters"]\nupstream = None\nproduct = "\xe9.ipynb"\n')
    with pytest.raises(DeclarationError) as caught:
        read_declaration(path)
    assert caught.value.hint == "save notebooks as UTF-8"


def test_discover_of_a_missing_folder_explains_the_config_key(tmp_path: Path) -> None:
    with pytest.raises(DeclarationError) as caught:
        discover(tmp_path / "nowhere")
    assert caught.value.hint and "notebooks" in caught.value.hint


def test_cache_false_declares_a_notebook_the_cache_cannot_see(tmp_path: Path) -> None:
    path = tmp_path / "clock.py"
    path.write_text('# %% tags=["parameters"]\nupstream = None\nproduct = "clock.ipynb"\n'
                    "cache = False\n")
    task = read_declaration(path)
    assert task is not None and not task.cacheable
    assert "cache" not in task.params and "cache" not in task.declared


def test_cache_must_be_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "clock.py"
    path.write_text('# %% tags=["parameters"]\nupstream = None\nproduct = "clock.ipynb"\n'
                    'cache = "no"\n')
    with pytest.raises(DeclarationError) as caught:
        read_declaration(path)
    assert caught.value.render().startswith(f"{path}:4: 'cache' must be True or False")
    assert caught.value.hint == "cache = False  # this notebook reads data no digest can cover"


def test_a_product_path_ending_in_a_slash_is_a_folder(tmp_path: Path) -> None:
    task = declare(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = {"nb": "train.ipynb", "model": "model/", "data": "data.csv"}
    """)
    assert task.products == {"nb": "train.ipynb", "model": "model/", "data": "data.csv"}


@pytest.mark.parametrize("line", ['product = "runs/"', 'product = {"nb": "runs/"}'])
def test_the_executed_notebook_cannot_be_a_folder(tmp_path: Path, line: str) -> None:
    error = declaration_error(tmp_path, f"""
        # %% tags=["parameters"]
        upstream = None
        {line}
    """)
    assert error.line == 3 and "cannot be a folder" in error.message
    assert error.hint and '"model": "model/"' in error.hint


def test_syntax_error_after_a_header_and_cells_names_the_file_line(tmp_path: Path) -> None:
    error = declaration_error(tmp_path, """
        # ---
        # jupyter:
        #   jupytext:
        #     formats: py:percent
        # ---

        # %% [markdown]
        # # Title

        # %%
        import os

        # %% tags=["parameters"]
        upstream = None
        product = "task.ipynb"
        count = = 3
    """)
    assert error.render().startswith(f"{tmp_path / 'task.py'}:16: syntax error")


def test_a_bad_product_path_points_at_its_key_line(tmp_path: Path) -> None:
    task = declare(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = {
            "nb": "task.ipynb",
            "data": "../outside.csv",
        }
    """)
    with pytest.raises(GraphError) as caught:
        build([task])
    assert caught.value.line == 5
    assert "escapes the output folder" in caught.value.message


def test_a_product_key_that_is_not_an_identifier_points_at_its_line(tmp_path: Path) -> None:
    error = declaration_error(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = {
            "nb": "task.ipynb",
            "my data": "x.csv",
        }
    """)
    assert error.line == 5


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("upstream = [clean]", 'quote the names: upstream = ["clean"]'),
        ("upstream = [clean, 'load']", 'quote the names: upstream = ["clean", "load"]'),
    ],
)
def test_bare_upstream_names_get_a_quoting_hint(tmp_path: Path, line: str, hint: str) -> None:
    error = declaration_error(tmp_path, f"""
        # %% tags=["parameters"]
        {line}
        product = "task.ipynb"
    """)
    assert error.line == 2
    assert error.hint == hint
    assert "plain list" not in error.render()


def test_a_bare_name_in_a_product_dict_gets_a_quoting_hint(tmp_path: Path) -> None:
    error = declaration_error(tmp_path, """
        # %% tags=["parameters"]
        upstream = None
        product = {"nb": "task.ipynb", "data": data}
    """)
    assert error.hint == 'quote the names: product = {"nb": "task.ipynb", "data": "data"}'


def test_a_computed_upstream_keeps_the_literal_hint(tmp_path: Path) -> None:
    error = declaration_error(tmp_path, """
        # %% tags=["parameters"]
        upstream = names()
        product = "task.ipynb"
    """)
    assert error.hint and "plain list/dict/string literal" in error.hint
