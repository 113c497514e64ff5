"""The cache's hashing: content digests, the stat cache, the code digest and its memo."""

from __future__ import annotations

import multiprocessing
import os
import socket
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest
import xxhash

from nbrules.cache import code as hashing
from nbrules.cache import statcache
from nbrules.cache.code import CodeMemo, DirectoryMemo, SourceSummary, code_summary
from nbrules.cache.digests import digest_bytes, digest_file, hex_part
from nbrules.cache.statcache import StatCache

PYTHON = "3.11"


def code_digest(path: Path, search: list[Path], memo: CodeMemo | None = None,
                python: str = PYTHON) -> str:
    return code_summary(path, search, python, memo).digest

NOTEBOOK = '''\
# %% [markdown]
# # Clean
# Some prose.

# %% tags=["parameters"]
upstream = ["get-data"]
product = {"nb": "clean.ipynb", "data": "clean.txt"}
factor = 2

# %%
def double(values):
    """Multiply every value."""
    return [v * factor for v in values]

# %%
result = double([1, 2, 3])  # the answer
'''

REFORMATTED = '''\
# %% [markdown]
# # Cleaning, with edited prose
# Entirely different words.

# %% tags=["parameters"]
upstream = [
    'get-data',
]
product = {
    "nb": 'clean.ipynb',
    "data": "clean.txt",
}
factor = 2  # how much

# %%
"""A cell docstring that does nothing."""


def double(values):
    """A rewritten docstring."""
    # a comment
    return [
        v * factor
        for v in values
    ]


# %%
# a cell of comments only

# %%
"""Or of prose in a string."""

# %%

result = double(
    [1, 2, 3],
)

# %% tags=["injected-parameters"]
# a stale cell papermill left behind
factor = 99
'''


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---------------------------------------------------------------- digests


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20])
def test_file_digest_equals_digest_of_bytes(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert digest_file(path) == digest_bytes(data)
    assert digest_file(path) == f"xxh3-128:{xxhash.xxh3_128_hexdigest(data)}"


def test_digests_are_tagged_with_the_algorithm() -> None:
    digest = digest_bytes(b"x")
    assert digest.startswith("xxh3-128:") and len(digest) == len("xxh3-128:") + 32
    assert hex_part(digest) == digest.split(":")[1]
    with pytest.raises(ValueError):
        hex_part("md5:" + "0" * 32)


# ---------------------------------------------------------------- stat cache


def old_file(path: Path, data: bytes, *, settle: bool = True) -> Path:
    """A file last changed (mtime and ctime) before the racy window."""
    path.write_bytes(data)
    stamp = path.stat().st_mtime_ns - 10**9
    os.utime(path, ns=(stamp, stamp))
    if settle:
        time.sleep(statcache.RACY_NS / 1e9 + 0.01)  # the utime moved ctime to now
    return path


def test_stat_cache_never_rereads_an_unchanged_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = old_file(tmp_path / "input", b"data")
    reads: list[Path] = []
    real = digest_file

    def counting(p: Path) -> str:
        reads.append(p)
        return real(p)

    monkeypatch.setattr(statcache, "digest_file", counting)
    with StatCache(tmp_path / "stat.sqlite") as stats:
        first = stats.digest(path)
    with StatCache(tmp_path / "stat.sqlite") as stats:  # another job, same database
        assert stats.digest(path) == first == digest_bytes(b"data")
    assert reads == [path]


def test_stat_cache_rereads_after_same_size_edit_or_touch(tmp_path: Path) -> None:
    path = old_file(tmp_path / "input", b"aaaa")
    with StatCache(tmp_path / "stat.sqlite") as stats:
        assert stats.digest(path) == digest_bytes(b"aaaa")
        mtime = path.stat().st_mtime_ns
        path.write_bytes(b"bbbb")  # same size …
        os.utime(path, ns=(mtime, mtime))  # … and the old mtime: ctime still moves
        assert stats.digest(path) == digest_bytes(b"bbbb")
        os.utime(path)  # a touch (what Snakemake does to outputs) rereads, same digest
        assert stats.digest(path) == digest_bytes(b"bbbb")


def test_stat_cache_does_not_remember_a_file_changed_just_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "fresh"
    path.write_bytes(b"new")
    reads: list[Path] = []
    real = digest_file

    def counting(p: Path) -> str:
        reads.append(p)
        return real(p)

    monkeypatch.setattr(statcache, "digest_file", counting)
    with StatCache(tmp_path / "stat.sqlite") as stats:
        stats.digest(path)
        stats.digest(path)
    assert len(reads) == 2  # a write in the same timestamp tick would go unnoticed


def test_stat_cache_replaces_a_garbage_database(tmp_path: Path) -> None:
    db = tmp_path / "stat.sqlite"
    db.write_bytes(b"this is not sqlite" * 100)
    path = old_file(tmp_path / "input", b"data")
    with StatCache(db) as stats:  # replaced by a fresh database
        assert stats.digest(path) == digest_bytes(b"data")
    with StatCache(db) as stats:
        assert stats.lookup(path.stat()) == digest_bytes(b"data")


def test_stat_cache_in_an_unwritable_place_is_disabled(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    path = old_file(tmp_path / "input", b"data")
    with StatCache(blocker / "stat.sqlite") as stats:
        assert stats.digest(path) == digest_bytes(b"data")
        stats.remember(path, digest_bytes(b"data"))
        assert stats.lookup(path.stat()) is None


def test_disabled_stat_cache_always_reads(tmp_path: Path) -> None:
    path = old_file(tmp_path / "input", b"data")
    with StatCache(None) as stats:
        assert stats.digest(path) == digest_bytes(b"data")
        assert stats.lookup(path.stat()) is None


def _hash_many(args: tuple[str, str]) -> list[str]:
    db, folder = args
    with StatCache(Path(db)) as stats:
        return [stats.digest(p) for p in sorted(Path(folder).glob("f*"))]


def test_stat_cache_with_concurrent_jobs(tmp_path: Path) -> None:
    for index in range(40):
        old_file(tmp_path / f"f{index:02}", f"content {index}".encode(), settle=False)
    time.sleep(statcache.RACY_NS / 1e9 + 0.01)
    args = (str(tmp_path / "stat.sqlite"), str(tmp_path))
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_hash_many, [args] * 8)
    expected = [digest_bytes(f"content {i}".encode()) for i in range(40)]
    assert all(result == expected for result in results)
    rows = sqlite3.connect(args[0]).execute("SELECT COUNT(*) FROM digests").fetchone()
    assert rows == (40,)


# ---------------------------------------------------------------- normalisation


def test_comments_blank_lines_docstrings_markdown_formatting_are_ignored(
    tmp_path: Path,
) -> None:
    a = write(tmp_path / "a" / "clean.py", NOTEBOOK)
    b = write(tmp_path / "b" / "clean.py", REFORMATTED)
    assert code_digest(a, []) == code_digest(b, [])


@pytest.mark.parametrize("old, new", [
    ("factor = 2\n", "factor = 3\n"),  # a parameter default
    ("v * factor", "factor * v"),
    ("result = double([1, 2, 3])", "result = double([1, 2, 3, 4])"),
    ("result = double([1, 2, 3])", "output = double([1, 2, 3])"),  # a rename is code
    ('    """Multiply every value."""\n', '    """Multiply."""\n    pass\n'),
])
def test_a_code_change_changes_the_digest(tmp_path: Path, old: str, new: str) -> None:
    assert old in NOTEBOOK
    a = write(tmp_path / "a" / "clean.py", NOTEBOOK)
    b = write(tmp_path / "b" / "clean.py", NOTEBOOK.replace(old, new))
    assert code_digest(a, []) != code_digest(b, [])


def test_magics_are_normalized_like_the_kernel_runs_them(tmp_path: Path) -> None:
    base = NOTEBOOK + "\n# %%\n%time x = 1\n"
    a = write(tmp_path / "a" / "n.py", base)
    b = write(tmp_path / "b" / "n.py", base.replace("%time x = 1", "# c\n\n%time x = 1\n"))
    c = write(tmp_path / "c" / "n.py", base.replace("%time x = 1", "%time x = 2"))
    assert code_digest(a, []) == code_digest(b, []) != code_digest(c, [])


def test_python_minor_version_is_part_of_the_code_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "n.py", NOTEBOOK)
    assert code_digest(path, [], python="3.99") != code_digest(path, [])


# ---------------------------------------------------------------- local modules


def importing(statement: str) -> str:
    return NOTEBOOK.replace("# %%\ndef double", f"# %%\n{statement}\n\n\ndef double")


HELPER_USER = importing("from helpers import scale")
PACKAGE_USER = importing("from pkg.sub import thing")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "notebooks" / "uses_helper.py", HELPER_USER)
    write(tmp_path / "notebooks" / "uses_package.py", PACKAGE_USER)
    write(tmp_path / "notebooks" / "plain.py", NOTEBOOK)
    write(tmp_path / "src" / "helpers.py", '"""Helpers."""\nimport json\n\n\ndef scale(x):\n'
          "    return 2 * x\n")
    write(tmp_path / "src" / "pkg" / "__init__.py", "")
    write(tmp_path / "src" / "pkg" / "sub.py", "from .deep import value\n\nthing = value\n")
    write(tmp_path / "src" / "pkg" / "deep.py", "value = 1\n")
    return tmp_path


def digests(project: Path) -> dict[str, str]:
    search = [project / "notebooks", project / "src"]
    return {p.stem: code_digest(p, search) for p in sorted((project / "notebooks").glob("*.py"))}


def test_helper_module_change_affects_only_its_importers(project: Path) -> None:
    before = digests(project)
    (project / "src" / "helpers.py").write_text(
        '"""Helpers, reworded."""\nimport json  # json\n\n\ndef scale(x):\n    return 2 * x\n')
    assert digests(project) == before  # docstring and comment only
    (project / "src" / "helpers.py").write_text("def scale(x):\n    return 3 * x\n")
    after = digests(project)
    assert after["uses_helper"] != before["uses_helper"]
    assert after["uses_package"] == before["uses_package"]
    assert after["plain"] == before["plain"]


def test_transitive_relative_import_inside_a_package_counts(project: Path) -> None:
    before = digests(project)
    (project / "src" / "pkg" / "deep.py").write_text("value = 2\n")
    after = digests(project)
    assert after["uses_package"] != before["uses_package"]
    assert after["uses_helper"] == before["uses_helper"]
    summary = code_summary(project / "notebooks" / "uses_package.py",
                           [project / "notebooks", project / "src"], PYTHON)
    assert summary.local == ("pkg/__init__.py", "pkg/deep.py", "pkg/sub.py")


def test_third_party_imports_are_reported_not_hashed(project: Path) -> None:
    summary = code_summary(project / "notebooks" / "uses_helper.py",
                           [project / "notebooks", project / "src"], PYTHON)
    assert {"helpers", "helpers.scale", "json"} <= summary.imports
    assert summary.local == ("helpers.py",)


# ---------------------------------------------------------------- memo


def test_memo_skips_parsing_an_unchanged_notebook(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memo = DirectoryMemo(project / "memo")
    search = [project / "notebooks", project / "src"]
    path = project / "notebooks" / "uses_helper.py"
    first = code_digest(path, search, memo)
    hashing._summarize_notebook.cache_clear()
    hashing._summarize_module.cache_clear()

    def no_parsing(*args: object) -> object:
        raise AssertionError("parsed although memoized")

    monkeypatch.setattr(hashing, "code_cells", no_parsing)
    monkeypatch.setattr(hashing, "parse_python", no_parsing)
    assert code_digest(path, search, memo) == first


def test_memo_and_no_memo_agree_and_a_corrupt_memo_is_recomputed(project: Path) -> None:
    memo = DirectoryMemo(project / "memo")
    search = [project / "notebooks", project / "src"]
    path = project / "notebooks" / "uses_package.py"
    plain = code_digest(path, search)
    assert code_digest(path, search, memo) == plain
    for entry in (project / "memo").rglob("*.json"):
        entry.write_text("{broken")
    assert code_digest(path, search, memo) == plain
    assert SourceSummary.from_json(next((project / "memo").rglob("*.json")).read_text())


# ---------------------------------------------------------------- stat cache location


def test_the_stat_cache_lives_on_this_host_not_in_the_store(tmp_path: Path) -> None:
    store = tmp_path / "shared" / "store"
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    path = statcache.stat_cache_path(store, env)
    assert path.parent == tmp_path / "xdg" / "nbrules" / "stat"
    assert path.name.startswith(socket.gethostname().replace(" ", "_"))
    assert path != statcache.stat_cache_path(tmp_path / "other-store", env)  # one per store
    explicit = statcache.stat_cache_path(store, {**env, "NBRULES_STAT_CACHE": str(tmp_path / "s")})
    assert explicit.parent == tmp_path / "s"


def test_a_home_on_a_network_file_system_moves_the_stat_cache_to_local_tmp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statcache, "filesystem_type", lambda path: "nfs4")
    path = statcache.stat_cache_path(tmp_path / "store", {"XDG_CACHE_HOME": "/home/u/.cache"})
    assert path.parent == Path(tempfile.gettempdir()) / f"nbrules-{os.getuid()}" / "stat"


def test_filesystem_type_reads_the_longest_mount_point(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    spaced = str(tmp_path / "with space").replace(" ", "\\040")
    mounts.write_text("/dev/vda / ext4 rw 0 0\n"
                      f"server:/home {tmp_path / 'home'} nfs4 rw 0 0\n"
                      f"server:/odd {spaced} nfs rw 0 0\n")
    (tmp_path / "home" / "u").mkdir(parents=True)
    assert statcache.filesystem_type(tmp_path / "home" / "u" / ".cache", mounts) == "nfs4"
    assert statcache.filesystem_type(tmp_path / "with space" / "x", mounts) == "nfs"
    assert statcache.filesystem_type(tmp_path / "elsewhere", mounts) == "ext4"
    assert statcache.filesystem_type(tmp_path, tmp_path / "missing") is None


def test_verified_objects_are_remembered_by_inode_size_and_mtime(tmp_path: Path) -> None:
    path = old_file(tmp_path / "object", b"data")
    with StatCache(tmp_path / "stat.sqlite") as stats:
        assert stats.verified(path.stat()) is None
        stats.mark_verified(path.stat(), digest_bytes(b"data"))
        os.link(path, tmp_path / "hardlink")  # changes ctime only
        assert stats.verified(path.stat()) == digest_bytes(b"data")
        path.chmod(0o644)
        path.write_bytes(b"DATA")
        assert stats.verified(path.stat()) is None
