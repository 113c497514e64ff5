"""Declarations of function and shell-script tasks (nbrules.plan.scripts), read not run."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbrules.common.errors import DeclarationError
from nbrules.plan.scripts import discover_functions, find_function, script_upstream

MODULE = '''\
import nbrules
from nbrules import task

RUN = 1 / 0  # never executed by discovery


@task(product="raw.txt")
def get(product, count=4, *, label="x"):
    pass


@nbrules.task(
    upstream=["get"],
    product={"data": "clean.txt"},
)
def clean(product, upstream, factor=1.5):
    return upstream["get"]


def helper():
    pass
'''


def test_decorated_functions_are_tasks_with_their_defaults_as_params(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(MODULE)
    (tmp_path / "plain.py").write_text("def task(x):\n    return x\n")
    (tmp_path / "jobs.py").write_text(
        "from celery import task\nimport app\n\n@task(x=1)\ndef a():\n    pass\n\n"
        "@app.task()\ndef b():\n    pass\n")
    get, clean = discover_functions(tmp_path, [])
    assert (get.name, get.kind, get.function) == ("get", "function", "tasks.get")
    assert (get.products, get.single, get.upstream) == ({"nb": "raw.txt"}, True, ())
    assert dict(get.params) == {"count": 4, "label": "x"}
    assert get.declared == frozenset({"count", "label"})
    assert (clean.upstream, clean.products, dict(clean.params)) == (
        ("get",), {"data": "clean.txt"}, {"factor": 1.5})
    assert (clean.line, clean.line_of("product")) == (16, 14)


@pytest.mark.parametrize(("decorator", "message"), [
    ('@task(product=f"{x}.txt")', "tasks.py:2: 'product' must be a literal"),
    ('@task(product="a.txt", cache=False)', "takes upstream and product, not cache"),
    ("@task(upstream=[])", "tasks.py:2: @task() needs product="),
])
def test_a_bad_declaration_is_located(tmp_path: Path, decorator: str, message: str) -> None:
    text = f"from nbrules import task\n{decorator}\ndef get(product):\n    pass\n"
    (tmp_path / "tasks.py").write_text(text)
    with pytest.raises(DeclarationError) as caught:
        discover_functions(tmp_path, [])
    assert message in caught.value.render()


def test_a_function_reads_the_upstreams_its_body_subscripts(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(MODULE)
    found = find_function(tmp_path / "tasks.py", "clean", Path("tasks.py"))
    assert (found.line, found.upstream) == (16, ("get",))


def test_a_script_reads_the_upstreams_its_placeholders_name() -> None:
    text = "cat {{upstream['a']}} {{ upstream[\"b\"]['data'] }} {{upstream['a']}} > {{product}}"
    assert script_upstream(text) == ("a", "b")
