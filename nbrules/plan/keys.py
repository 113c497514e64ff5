"""A job spec → its cache key parts: the one mapping, for jobs and for prediction.

:func:`spec_key_parts` is the only place that maps a :class:`JobSpec` onto
:class:`~nbrules.cache.key.KeyParts`, so the key a job computes when it runs and
the key predicted when Snakemake parses the workflow can never drift apart.
:func:`key_parts` computes the parts from the files as they are now.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..cache.code import CodeMemo, CodeSummary, code_summary
from ..cache.key import KeyParts
from ..cache.statcache import StatCache
from ..cache.tables import TableMemo, content_digest
from ..cache.trees import path_digest
from ..common.errors import CacheError
from .interpreter import Interpreter, kernel_interpreter
from .jobspec import JobSpec


def spec_key_parts(
    spec: JobSpec, code: str, inputs: dict[str, str], packages: dict[str, str] | None = None
) -> KeyParts:
    """The key parts of ``spec`` given its code digest and input digests."""
    return KeyParts(
        code=code,
        params=spec.params,
        products=spec.relative_products,
        single=spec.single,
        kernel=spec.kernel,
        inputs=inputs,
        packages=packages,
        checks=spec.checks,
        render=spec.render,
    )


def interpreter_for(spec: JobSpec) -> Interpreter:
    """The interpreter that runs the notebook of ``spec``."""
    return kernel_interpreter(spec.kernel)


def spec_code(spec: JobSpec, cwd: Path, memo: CodeMemo | None) -> CodeSummary:
    """The code digest of the notebook of ``spec``, from its files as they are now."""
    search = [cwd / p for p in spec.pythonpath]
    python = interpreter_for(spec).python
    return code_summary(
        cwd / spec.source, search, python, memo, spec.check_modules, spec.kind, spec.function
    )


def key_parts(
    spec: JobSpec,
    cwd: Path,
    stats: StatCache,
    memo: CodeMemo | None,
    packages: bool = False,
    tables: TableMemo | None = None,
) -> tuple[KeyParts, CodeSummary]:
    """The job's key parts (and its code summary) from the files as they are now.

    A Parquet or Arrow input enters by its table digest (``tables`` memoizes those).
    """
    code = spec_code(spec, cwd, memo)
    inputs = {
        name: input_digest(stats, cwd / path, name, tables)
        for name, path in sorted(spec.key_inputs.items())
    }
    versions = None
    if packages:
        local = {PurePosixPath(key).parts[0].removesuffix(".py") for key in code.local}
        versions = interpreter_for(spec).versions(code.imports, local)
    return spec_key_parts(spec, code.digest, inputs, versions), code


def input_digest(stats: StatCache, path: Path, name: str, tables: TableMemo | None = None) -> str:
    """An input's digest in the key: a folder's tree digest, a table's table digest, else
    its file digest."""
    try:
        if path.is_dir():
            return path_digest(path, stats.digest)
        return content_digest(stats, path, tables)
    except OSError as exc:
        raise CacheError(
            f"cannot read input '{name}': {exc.strerror}",
            path=path,
            hint="an upstream job should have written it; rerun the build",
        ) from exc
