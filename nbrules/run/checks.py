"""Run a notebook's integrity checks on the products it just wrote, before any is published.

Table checks (:mod:`.tablechecks`) run in this process with pyarrow. Called checks
(``module:function``) run in one child process of the *kernel's* interpreter, with
the kernel's import path and working directory, so they see the same packages and
modules the notebook did and cannot disturb this process:

- on a product: ``function(path)``, the product's path as a string;
- on the whole task (``pipeline.yaml``'s ``on_finish``): as Ploomber calls a hook,
  with those of ``product``, ``params`` and ``upstream`` its signature names.

A check passes unless it raises or returns ``False``. The first failure, in the
order of declaration (table checks first), raises :class:`CheckFailed`.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..common.errors import CheckFailed
from ..plan.checks import Check
from ..plan.declarations import NB_KEY
from ..plan.interpreter import kernel_interpreter
from ..plan.jobspec import JobSpec
from .tablechecks import Failure, check_table

#: Runs in the kernel's interpreter: ``python -c CALLER calls.json results.json``.
CALLER = r"""
import importlib, inspect, json, os, sys, traceback
calls = json.load(open(sys.argv[1], encoding="utf-8"))
results = []
for call in calls:
    module, _, name = call["target"].partition(":")
    try:
        function = getattr(importlib.import_module(module), name)
        if call["path"] is not None:
            value = function(call["path"])
        else:
            wanted = inspect.signature(function).parameters
            value = function(**{k: v for k, v in call["task"].items() if k in wanted})
        results.append({"ok": value is not False, "message": "returned False", "where": ""})
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        frames = traceback.extract_tb(exc.__traceback__)[1:]
        frame = frames[-1] if frames else None
        text = str(exc) or (frame.line if frame is not None and frame.line else "")
        where = ""
        if frame is not None:
            where = "%s:%d" % (os.path.relpath(frame.filename), frame.lineno)
        results.append({"ok": False, "message": ": ".join(
            p for p in (type(exc).__name__, text) if p), "where": where})
    if not results[-1]["ok"]:
        break
with open(sys.argv[2], "w", encoding="utf-8") as out:
    json.dump(results, out)
"""


def run_checks(spec: JobSpec, cwd: Path, env: Mapping[str, str]) -> None:
    """Check the products of ``spec`` (in ``cwd``); raises :class:`CheckFailed`."""
    checks = [Check.from_json(c) for c in spec.checks]
    for check in checks:
        if not check.is_call and check.product is not None:
            failure = check_table(cwd / spec.products[check.product], check.name, check.settings)
            if failure is not None:
                raise _failed(spec, check, failure)
    calls = [check for check in checks if check.is_call]
    if calls:
        for check, failure in zip(calls, _call(spec, calls, cwd, env), strict=False):
            if failure is not None:
                raise _failed(spec, check, failure)


def _failed(spec: JobSpec, check: Check, failure: Failure) -> CheckFailed:
    return CheckFailed(
        f"check '{check.name}' failed on {_products(spec, check)}: {failure.message}",
        path=spec.source,
        hint=failure.hint,
        check=check.name,
        product=check.product or "",
    )


def _products(spec: JobSpec, check: Check) -> str:
    if check.product is not None:
        return f"product '{check.product}'"
    keys = [k for k in spec.products if k != NB_KEY] or list(spec.products)
    return f"product '{keys[0]}'" if len(keys) == 1 else f"products {', '.join(map(repr, keys))}"


def _call(
    spec: JobSpec, calls: list[Check], cwd: Path, env: Mapping[str, str]
) -> list[Failure | None]:
    """Run the called checks in the kernel's interpreter; one result per check run."""
    absolute = {k: str(cwd / p) for k, p in spec.products.items()}
    product: Any = absolute[NB_KEY] if spec.single else absolute
    task = {"product": product, "params": spec.params, "upstream": spec.upstream}
    payload = [
        {"target": c.name, "path": absolute[c.product] if c.product else None, "task": task}
        for c in calls
    ]
    with tempfile.TemporaryDirectory(prefix="nbrules-checks-") as folder:
        request, answer = Path(folder) / "calls.json", Path(folder) / "results.json"
        request.write_text(json.dumps(payload), encoding="utf-8")
        python = kernel_interpreter(spec.kernel).executable
        done = subprocess.run(
            [python, "-c", CALLER, str(request), str(answer)],
            cwd=cwd,
            env=dict(env),
            check=False,
        )
        try:
            results = json.loads(answer.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            died = Failure(
                f"the check process exited with code {done.returncode} before reporting",
                f"run `{python} -c 'import {calls[0].module}'` in {cwd} to see why",
            )
            return [died]
    return [_failure(result) for result in results]


def _failure(result: Mapping[str, Any]) -> Failure | None:
    if result["ok"]:
        return None
    where = str(result.get("where") or "")
    hint = f"raised at {where}" if where else "a check fails by raising or returning False"
    return Failure(str(result["message"]), hint)


__all__ = ["CheckFailed", "run_checks"]
