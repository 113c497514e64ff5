"""Bad and hostile inputs, each tried on a real process: a located message, nothing corrupted.

Parse-time mistakes run ``snakemake -n`` on a copy of the fixture with one edit; each
must stop at the file (and line) that is wrong, with the expected words. Run-time
ones run ``nbrules run`` or a real build. Inputs that are only odd (a 200 KB
parameter value, a lease file of garbage) must simply work. The parse-time checks
also have unit tests (tests/unit/test_declarations.py, test_graph.py,
test_settings.py, test_pipeline_yaml.py); here they are tried as a user meets them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .harness import IGNORE, PROJECTS, build, environment, start

Edit = Callable[[Path], None]


def edit(relative: str, old: str, new: str) -> Edit:
    def apply(project: Path) -> None:
        path = project / relative
        text = path.read_text()
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1))

    return apply


def add(relative: str, text: str) -> Edit:
    def apply(project: Path) -> None:
        (project / relative).write_text(text)

    return apply


def latin1(project: Path) -> None:
    path = project / "notebooks" / "square.py"
    accented = "# café\n# %%\nfrom".encode("latin-1")
    path.write_bytes(path.read_bytes().replace(b"# %%\nfrom", accented, 1))


SQUARE = "notebooks/square.py"
PRODUCT = 'product = {"nb": "square.ipynb", "data": "squares.txt"}'
CONFIG = "config.yaml"
ENGINE = "nbrules:\n  pythonpath: [src]\n"


def product(new: str) -> Edit:
    return edit(SQUARE, PRODUCT, new)


def engine(extra: str) -> Edit:
    return edit(CONFIG, ENGINE, ENGINE + extra)


#: case → (edit, file named in the message, words of the message)
PARSE_TIME: dict[str, tuple[Edit, str, list[str]]] = {
    "product escaping the output root": (
        product('product = {"nb": "square.ipynb", "data": "../escape.txt"}'), SQUARE,
        ["escapes the output folder"]),
    "absolute product path": (
        product('product = {"nb": "square.ipynb", "data": "/tmp/abs.txt"}'), SQUARE,
        ["escapes the output folder"]),
    "braces in a product path": (
        product('product = {"nb": "square.ipynb", "data": "sq{x}.txt"}'), SQUARE,
        ["contains '{' or '}'"]),
    "the executed notebook declared as a folder": (
        product('product = {"nb": "square/", "data": "squares.txt"}'), SQUARE,
        ["cannot be a folder"]),
    "a product inside another notebook's folder product": (
        product('product = {"nb": "square.ipynb", "data": "parts/inner.txt"}'), SQUARE,
        ["lies inside folder product 'parts/' of 'make-data'"]),
    "two notebooks declaring one product": (
        product('product = {"nb": "square.ipynb", "data": "data.txt"}'), SQUARE,
        ["is also declared by 'make-data'"]),
    "unknown upstream": (
        edit(SQUARE, 'upstream = ["make-data"]', 'upstream = ["make-dat"]'), SQUARE,
        ["unknown upstream 'make-dat'", "did you mean 'make-data'?"]),
    "cycle": (
        edit("notebooks/make-data.py", "upstream = None", 'upstream = ["report"]'),
        "notebooks/", ["cycle in upstream:", "->"]),
    "non-literal product": (
        product('product = dict(nb="square.ipynb")'), SQUARE, ["'product' must be a literal"]),
    "upstream as a plain string": (
        edit(SQUARE, 'upstream = ["make-data"]', 'upstream = "make-data"'), SQUARE,
        ["'upstream' must be None or a list"]),
    "product key that is not an identifier": (
        product('product = {"nb": "square.ipynb", "my data": "squares.txt"}'), SQUARE,
        ["key 'my data' must be an identifier"]),
    "syntax error in the parameters cell": (
        edit(SQUARE, 'upstream = ["make-data"]', 'upstream = ["make-data"'), SQUARE,
        ["parameters cell"]),
    "notebook that is not UTF-8": (latin1, SQUARE, ["not UTF-8 text"]),
    "a notebook shadowing the standard library": (
        add("notebooks/random.py", '# %% tags=["parameters"]\nupstream = None\n'
            'product = "random.ipynb"\n'), "notebooks/random.py",
        ["shadows the standard library module 'random'"]),
    "cache_link misspelled": (
        engine("  cache_link: hardlnk\n"), CONFIG, ["did you mean 'hardlink'?"]),
    "cache_lease_timeout of zero": (
        engine("  cache_lease_timeout: 0\n"), CONFIG, ["must be a number of seconds >= 1"]),
    "cache_verify that is not a flag": (
        engine("  cache_verify: sometimes\n"), CONFIG, ["must be true or false"]),
    "unknown nbrules key": (
        engine("  cahce: elsewhere\n"), CONFIG, ["unknown config key 'nbrules.cahce'",
                                                 "did you mean 'cache'?"]),
    "a parameter the notebook does not declare": (
        edit(CONFIG, "params:\n", "tasks:\n  square:\n    params: {power: 3}\nparams:\n"),
        SQUARE, ["which its parameters cell does not declare"]),
    "a global parameter no notebook declares": (
        edit(CONFIG, "  n: 6\n", "  n: 6\n  nn: 7\n"), CONFIG,
        ["which no notebook declares", "did you mean 'n'?"]),
    "a parameter value that is not a literal": (
        edit(CONFIG, "  n: 6\n", "  n: 2024-01-01\n"), "notebooks/make-data.py",
        ["is date", "not a plain literal"]),
    "a resource of zero threads": (
        edit(SQUARE, "product = {", 'resources = {"threads": 0}\nproduct = {'), SQUARE,
        ["resource 'threads' must be a whole number >= 1"]),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "reliability"
    shutil.copytree(PROJECTS / "reliability", target, ignore=IGNORE)
    return target


@pytest.mark.slow
@pytest.mark.parametrize("case", list(PARSE_TIME))
def test_a_parse_time_mistake_stops_at_its_file_with_a_message(project: Path,
                                                              case: str) -> None:
    change, where, words = PARSE_TIME[case]
    change(project)
    done = build(project, "-n", "--cores", "1", "--configfile", CONFIG, ok=False)
    assert done.code != 0
    located = [line for line in done.output.splitlines() if where in line]
    assert located, done.output[-3000:]
    for word in words:
        assert word in done.output, done.output[-3000:]
    assert "Traceback (most recent call last)" not in done.output
    assert not (project / "results").exists()


def nbrules_run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nbrules", "run", *args], cwd=project,
                          env=environment(project / ".nbrules/cache", "bad", **env),
                          capture_output=True, text=True, check=False)


def spec_file(project: Path, task: str) -> str:
    build(project, "-n", "--cores", "1", "--configfile", CONFIG)
    return str(next((project / ".nbrules" / "jobs").glob(f"{task}-*.json")).relative_to(project))


@pytest.mark.slow
def test_a_missing_job_spec_file_is_explained(project: Path) -> None:
    done = nbrules_run(project, ".nbrules/jobs/square-0123.json")
    assert done.returncode == 1
    assert ".nbrules/jobs/square-0123.json: job spec file is missing" in done.stderr
    assert "hint: it is written when Snakemake parses the Snakefile" in done.stderr


@pytest.mark.slow
def test_a_garbled_job_spec_file_is_explained(project: Path) -> None:
    garbage = project / ".nbrules" / "jobs" / "square-garbled.json"
    garbage.parent.mkdir(parents=True)
    garbage.write_text('{"name": "square", "source": ')
    done = nbrules_run(project, str(garbage.relative_to(project)))
    assert done.returncode == 1 and "job spec file is unreadable" in done.stderr


@pytest.mark.slow
def test_a_garbled_runtime_setting_is_explained_and_writes_nothing(project: Path) -> None:
    done = nbrules_run(project, spec_file(project, "make-data"), NBRULES_RUNTIME="{broken")
    assert done.returncode != 0
    assert "$NBRULES_RUNTIME is not valid" in done.stderr
    assert not (project / "results").exists()


@pytest.mark.slow
def test_a_parameter_value_of_200_kb_travels_by_file(project: Path) -> None:
    label = "x" * 200_000  # argv is limited to ~128 KB per argument
    (project / CONFIG).write_text((project / CONFIG).read_text()
                                  + f"tasks:\n  make-data:\n    params: {{label: {label}}}\n")
    build(project, "--cores", "1", "--configfile", CONFIG)
    assert (project / "results/sample/data.txt").read_text().splitlines()[0] == label


@pytest.mark.slow
def test_a_lease_file_of_garbage_is_taken_over_after_the_timeout(project: Path) -> None:
    build(project, "--cores", "1", "--configfile", CONFIG)
    store = project / ".nbrules" / "cache"
    manifest = next(p for p in (store / "manifests").glob("*.json")
                    if json.loads(p.read_text())["task"] == "make-data")
    manifest.unlink()  # make-data must execute again …
    (store / "leases" / manifest.name).write_text("\x00garbage")  # … behind a bad lease
    shutil.rmtree(project / "results")
    (project / CONFIG).write_text((project / CONFIG).read_text() + "  cache_lease_timeout: 1\n")
    done = build(project, "--cores", "1", "--configfile", CONFIG)
    assert done.executed() == ["make-data"]
    assert "another build is running it (an unreadable lease); waiting" in done.output
    assert not list((store / "leases").iterdir())


@pytest.mark.slow
@pytest.mark.parametrize(("declared", "written", "message"), [
    ("parts/", "file", "is declared as a folder, but the notebook wrote a file"),
    ("data.txt", "folder", "is a folder, but it is declared as a file"),
])
def test_a_product_of_the_wrong_kind_fails_its_job_at_the_notebook(
    project: Path, declared: str, written: str, message: str
) -> None:
    source = project / "notebooks" / "make-data.py"
    text = source.read_text()
    if written == "file":
        text = text.replace('parts = Path(product["parts"])',
                            'Path(product["parts"]).write_text("oops")\nparts = Path("elsewhere")')
    else:
        text = text.replace('Path(product["data"]).write_text(',
                            'Path(product["data"]).mkdir()\nPath("ignored.txt").write_text(')
    source.write_text(text)
    done = build(project, "--cores", "1", "--configfile", CONFIG, ok=False)
    assert done.code != 0
    assert "notebooks/make-data.py: product '" in done.output
    assert message in done.output and "hint: " in done.output
    assert not (project / "results/sample" / declared.rstrip("/")).exists()


@pytest.fixture
def ploomber(tmp_path: Path) -> Path:
    target = tmp_path / "ploomber-folder"
    shutil.copytree(PROJECTS / "ploomber-folder", target, ignore=IGNORE)
    return target


def nbrules_build(project: Path) -> tuple[int, str]:
    done = start(project, "build", "-n", command=("-m", "nbrules")).wait()
    return done.code or 0, done.output


@pytest.mark.slow
def test_a_template_expression_in_env_yaml_cannot_reach_python(ploomber: Path) -> None:
    (ploomber / "env.yaml").write_text("rows: 3\nsneaky: \"{{ rows.__class__.__mro__ }}\"\n")
    spec = ploomber / "pipeline.yaml"
    spec.write_text(spec.read_text().replace("rows: 3", "rows: '{{sneaky}}'"))
    code, output = nbrules_build(ploomber)
    assert code != 0
    assert "env.yaml" in output and "is unsafe" in output
    assert "<class 'object'>" not in output


@pytest.mark.slow
def test_a_misspelled_grid_placeholder_is_an_error_not_an_empty_string(ploomber: Path) -> None:
    spec = ploomber / "pipeline.yaml"
    spec.write_text(spec.read_text().replace(
        "  - source: load.py\n", "  - source: load.py\n    name: 'load-[[rowz]]'\n"
        "    grid: {rows: [1, 2]}\n").replace("    params:\n      rows: 3\n", ""))
    code, output = nbrules_build(ploomber)
    assert code != 0
    assert "pipeline.yaml:" in output and "did you mean 'rows'?" in output
