"""Tasks → validated DAG: names, upstream, cycles, products, order."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbrules.common.errors import (
    Cycle,
    DuplicateName,
    DuplicateProduct,
    GraphError,
    UnknownUpstream,
)
from nbrules.plan.declarations import Task
from nbrules.plan.graph import Pipeline, build, normalize_product, rule_name


def task(
    name: str,
    upstream: tuple[str, ...] = (),
    products: dict[str, str] | None = None,
    stem: str | None = None,
) -> Task:
    """A task as ``notebooks/<stem>.py`` would declare it: cell at line 2."""
    return Task(
        name=name,
        source=Path("notebooks") / f"{stem or name}.py",
        upstream=upstream,
        products=products or {"nb": f"{name}.ipynb"},
        single=products is None,
        line=2,
        lines={"upstream": 2, "product": 3},
    )


def names(pipeline: Pipeline) -> list[str]:
    return [t.name for t in pipeline]


def test_upstream_comes_before_downstream() -> None:
    pipeline = build([task("total", ("square", "make")), task("square", ("make",)), task("make")])
    assert names(pipeline) == ["make", "square", "total"]
    assert pipeline.order == ("make", "square", "total")


def test_order_is_deterministic_whatever_the_input_order() -> None:
    tasks = [task("d", ("b", "c")), task("c", ("a",)), task("b", ("a",)), task("a"), task("e")]
    shuffles = (tasks, tasks[::-1], tasks[2:] + tasks[:2])
    orders = {build(list(permuted)).order for permuted in shuffles}
    assert orders == {("a", "b", "c", "d", "e")}


def test_unknown_upstream_suggests_the_close_name() -> None:
    with pytest.raises(UnknownUpstream) as caught:
        build([task("get-data"), task("clean", ("get_data",))])
    error = caught.value
    assert error.render() == (
        "notebooks/clean.py:2: unknown upstream 'get_data'\nhint: did you mean 'get-data'?"
    )


def test_unknown_upstream_without_a_close_name_lists_known_notebooks() -> None:
    with pytest.raises(UnknownUpstream) as caught:
        build([task("alpha"), task("beta", ("zzz",))])
    assert caught.value.hint == "known notebooks: alpha, beta"


def test_cycle_prints_the_cycle() -> None:
    with pytest.raises(Cycle) as caught:
        build([task("a", ("b",)), task("b", ("a",))])
    assert caught.value.message == "cycle in upstream: a -> b -> a"
    assert caught.value.location() == "notebooks/a.py:2: "
    assert caught.value.hint


def test_longer_cycle_prints_only_the_loop() -> None:
    with pytest.raises(Cycle) as caught:
        build([task("a"), task("b", ("a", "d")), task("c", ("b",)), task("d", ("c",))])
    assert caught.value.message == "cycle in upstream: b -> d -> c -> b"


def test_a_notebook_listing_itself_is_a_cycle() -> None:
    with pytest.raises(Cycle) as caught:
        build([task("a", ("a",))])
    assert caught.value.render() == (
        "notebooks/a.py:2: notebook 'a' lists itself as upstream\n"
        "hint: remove 'a' from its own upstream list"
    )


def test_two_notebooks_declaring_one_product() -> None:
    with pytest.raises(DuplicateProduct) as caught:
        build([
            task("first", products={"nb": "first.ipynb", "data": "data/out.csv"}),
            task("second", products={"nb": "second.ipynb", "data": "data/./out.csv"}),
        ])
    error = caught.value
    assert error.location() == "notebooks/second.py:3: "
    assert "'first'" in error.message and "notebooks/first.py" in error.message


@pytest.mark.parametrize("path", ["../outside.csv", "data/../../outside.csv", "/tmp/out.csv", "."])
def test_product_escaping_the_output_root(path: str) -> None:
    with pytest.raises(GraphError) as caught:
        build([task("leak", products={"nb": "leak.ipynb", "data": path})])
    assert "escapes the output folder" in caught.value.message
    assert caught.value.location() == "notebooks/leak.py:3: "
    assert caught.value.hint


def test_product_with_braces_would_be_a_wildcard() -> None:
    with pytest.raises(GraphError) as caught:
        build([task("dated", products={"nb": "dated.ipynb", "data": "out_{date}.csv"})])
    assert "'{'" in caught.value.message
    assert caught.value.hint and "wildcard" in caught.value.hint


def test_product_inside_the_root_after_normalising_is_fine() -> None:
    assert normalize_product("data/../out.csv") == "out.csv"
    assert normalize_product("./a/b.csv") == "a/b.csv"
    assert normalize_product("a\\b.csv") == "a/b.csv"


def test_same_name_twice_is_rejected() -> None:
    with pytest.raises(DuplicateName) as caught:
        build([task("clean"), task("clean", stem="clean-copy")])
    assert "same name as notebooks/clean.py" in caught.value.message


def test_names_that_become_one_rule_name_are_rejected() -> None:
    with pytest.raises(DuplicateName) as caught:
        build([task("a-b"), task("a_b")])
    error = caught.value
    assert error.render().startswith(
        "notebooks/a_b.py:2: notebook 'a_b' has the same rule name 'a_b' as notebooks/a-b.py"
    )
    assert error.hint and "rename" in error.hint


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("get-data", "get_data"),
        ("fit.model", "fit_model"),
        ("with space", "with_space"),
        ("1st", "nb_1st"),
        ("class", "nb_class"),
        ("None", "nb_None"),
        ("notebooks", "nb_notebooks"),  # nbrules' own target rule
        ("plain_name", "plain_name"),
    ],
)
def test_rule_name_is_a_valid_identifier(name: str, expected: str) -> None:
    assert rule_name(name) == expected
    assert expected.isidentifier()


def test_a_notebook_named_like_the_target_rule_does_not_collide() -> None:
    pipeline = build([task("notebooks")])
    assert [rule_name(t.name) for t in pipeline] == ["nb_notebooks"]


def test_errors_are_graph_errors() -> None:
    for cls in (UnknownUpstream, Cycle, DuplicateProduct, DuplicateName):
        assert issubclass(cls, GraphError)


def test_a_notebook_shadowing_the_standard_library_is_refused(tmp_path: Path) -> None:
    from nbrules.plan.graph import check_not_shadowing

    ok = Task(name="get-data", source=tmp_path / "get-data.py", upstream=(),
              products={"nb": "a.ipynb"})
    check_not_shadowing([ok])
    bad = Task(name="numbers", source=tmp_path / "numbers.py", upstream=(),
               products={"nb": "n.ipynb"}, line=3)
    with pytest.raises(GraphError) as caught:
        check_not_shadowing([ok, bad])
    text = caught.value.render()
    assert text.startswith(f"{tmp_path / 'numbers.py'}:3: notebook file name 'numbers.py' "
                           "shadows the standard library module 'numbers'")
    assert "hint: rename it" in text


@pytest.mark.parametrize("inner", ["model/weights.bin", "model/sub/", "./model/x"])
def test_a_product_inside_another_folder_product_is_refused(inner: str) -> None:
    owner = task("train", products={"nb": "train.ipynb", "model": "model/"})
    other = task("tune", ("train",), {"nb": "tune.ipynb", "best": inner})
    with pytest.raises(DuplicateProduct, match="lies inside folder product 'model/' of 'train'"):
        build([owner, other])


def test_a_folder_beside_a_file_of_a_similar_name_is_fine() -> None:
    owner = task("train", products={"nb": "train.ipynb", "model": "model/"})
    other = task("tune", ("train",), {"nb": "tune.ipynb", "best": "model.txt", "m": "modelx/"})
    assert names(build([owner, other])) == ["train", "tune"]
