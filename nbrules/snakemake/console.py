"""nbrules' Snakemake logger plugin: one line per notebook, live cell counts, a summary.

Selected with ``snakemake --logger nbrules`` (the shipped profiles set ``logger:``);
without it Snakemake prints its own output, unchanged. Snakemake finds the plugin by
its top-level module ``snakemake_logger_plugin_nbrules``, which only re-exports
:class:`LogHandler` from here (see ``pyproject.toml``).

What it prints, to Snakemake's stream (stderr unless ``--stdout``)::

    ▶ clean           code or parameters changed
      clean           cell 4/9 (12s)
    ✓ clean           executed in 14.2s — params changed: sample_frac
    ↺ features        restored in 0.3s (2 products)
    ✗ train           failed after 3.1s

    nbrules: 1 executed, 1 restored, 2 up to date, 1 failed (18.0s)
    workflow/notebooks/train.py:34: KeyError: 'mean_delay'
    hint: the executed notebook with the full traceback is at logs/…/train.failed.ipynb

The end of each line comes from the job's own line in its log (the cache's reason:
which parameter, which input, "code changed"); the cell counter from the
``<notebook>.progress`` file the job keeps beside its log while it runs (a cluster
job on a file system the submit host does not see shows no counter). Every failure
comes again as the last lines, each ``path:line: message`` and its hint. The jobs
themselves stay quiet on the console while this logger runs (``$NBRULES_CONSOLE``):
their lines are in their logs.

With ``--verbose`` every record is also printed as Snakemake prints it.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent

from ..plan.jobspec import progress_file
from ..plan.settings import ENV_CONSOLE

#: The job line of a notebook's log: task, hit/miss, reason, what happened.
_JOB_LINE = re.compile(
    r"^nbrules: (?P<task>[\w.-]+): cache (?P<result>hit|miss) [0-9a-f]+"
    r"(?: — (?P<reason>.+?))? \((?P<what>[^()]*)\)$",
    re.MULTILINE,
)
_LOG_PREFIX = "nbrules: "
#: Snakemake's own words around a failed job; the summary says it better.
_JOB_FAILURE_NOISE = (
    "CalledProcessError",
    "At least one job did not complete successfully",
    "Exiting because a job execution failed",
    "Shutting down, this might take some time",
)
#: Snakemake's reasons, as a notebook's author thinks of them (the job says which
#: parameter or input when it ends).
_REASONS = (
    ("Missing output files", "products missing"),
    ("Params have changed", "code or parameters changed"),
    ("Input files updated by another job", "upstream ran"),
    ("Updated input files", "input changed"),
    ("Set of input files has changed", "inputs changed"),
    ("Code has changed", "rule changed"),
    ("Forced execution", "forced"),
    ("Software environment definition has changed", "environment changed"),
)
_POLL = 0.5  # seconds between looks at the progress files
_QUIET_PROGRESS = 2.0  # seconds between two counter lines of one notebook (not a terminal)
_TARGET_RULE = "notebooks"
_NOTHING_TO_DO = "Nothing to be done"
_FRAME = re.compile(r'^\s+File ".*", line \d+, in ')


@dataclass(frozen=True, slots=True)
class Notebook:
    """A notebook rule as the adapter declared it (see :func:`declare`)."""

    task: str
    source: str


#: Rule name → notebook, filled by ``rules_for`` in this (Snakemake's main) process.
_DECLARED: dict[str, Notebook] = {}


def declare(notebooks: dict[str, Notebook]) -> None:
    """The notebook rules of the workflow being parsed, for the summary's counts."""
    _DECLARED.clear()
    _DECLARED.update(notebooks)


def readable_reason(reason: str) -> str:
    """Snakemake's ``reason:`` without digests: ``Params have changed …`` → ``code or
    parameters changed``; several reasons are joined with ``; ``."""
    found = [text for prefix, text in _REASONS if prefix in reason]
    return "; ".join(found) or reason.split(":", 1)[0].strip().lower()


def job_outcome(log_text: str) -> tuple[str, str, str] | None:
    """``(result, reason, what)`` of the job line in a notebook's log, or ``None``."""
    matches = list(_JOB_LINE.finditer(log_text))
    if not matches:
        return None
    found = matches[-1]
    return found["result"], found["reason"] or "", found["what"]


def failure_text(log_text: str) -> str:
    """A failed job's located error (``path:line: message`` and ``hint:``) from its log."""
    lines = log_text.rstrip("\n").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(_LOG_PREFIX)]
    if not starts:
        return ""
    first = starts[-1]
    return "\n".join([lines[first][len(_LOG_PREFIX) :], *lines[first + 1 :]])


@dataclass(slots=True)
class _Job:
    rule: str
    notebook: Notebook | None
    log: Path | None
    started: float | None = None
    shown: str = ""
    shown_at: float = 0.0


@dataclass(slots=True)
class _Tally:
    executed: int = 0
    restored: int = 0
    other: int = 0
    scheduled: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)


class LogHandler(LogHandlerBase):
    """The ``nbrules`` logger: see the module's docstring."""

    def __post_init__(self) -> None:
        self.stream: IO[str] = sys.stdout if self.common_settings.stdout else sys.stderr
        self.tty = self.stream.isatty()
        self.dryrun = bool(self.common_settings.dryrun)
        self.jobs: dict[int, _Job] = {}
        self.tally = _Tally()
        self.begun = time.monotonic()
        self.out_lock = threading.Lock()
        self.status = ""  # the counter line a terminal shows under the others
        self.closed = False
        self.errors = 0
        self.stop = threading.Event()
        self.default: logging.Formatter | None = None
        if self.common_settings.verbose:
            from snakemake.logging import DefaultFormatter

            self.default = DefaultFormatter(self.common_settings.quiet)
        os.environ[ENV_CONSOLE] = "1"  # local jobs inherit it: their lines go to their logs
        self.ticker = threading.Thread(target=self._tick, name="nbrules-progress", daemon=True)
        self.ticker.start()

    writes_to_stream = True
    writes_to_file = False
    has_filter = True
    has_formatter = True
    needs_rulegraph = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.default is not None:
                self._print(self.default.format(record))
            self._handle(record)
        except Exception:
            self.handleError(record)

    def _handle(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        if event == LogEvent.JOB_INFO:
            self._job_info(record)
        elif event == LogEvent.JOB_STARTED:
            now = time.monotonic()
            for jobid in getattr(record, "jobs", ()):
                if jobid in self.jobs:
                    self.jobs[jobid].started = now
        elif event == LogEvent.JOB_FINISHED:
            self._job_finished(getattr(record, "job_id", None))
        elif event == LogEvent.JOB_ERROR:
            self._job_error(record)
        elif self.default is None and (
            record.levelno >= logging.WARNING or _NOTHING_TO_DO in str(record.msg)
        ):
            self._message(record)

    def _message(self, record: logging.LogRecord) -> None:
        text = str(record.getMessage() if record.msg is not None else "").strip()
        # Snakemake's frames inside nbrules' own .smk: the located message says it all
        text = "\n".join(line for line in text.splitlines() if not _FRAME.match(line))
        if text and not (self.jobs and _is_job_failure_noise(text)):
            self.errors += record.levelno >= logging.ERROR
            self._print(text)  # else: the failed job's own JOB_ERROR record says it better

    def _job_info(self, record: logging.LogRecord) -> None:
        rule = str(getattr(record, "rule_name", ""))
        logs = list(getattr(record, "log", None) or [])
        notebook = _DECLARED.get(rule)
        # Snakemake announces a job ("Execute 1 jobs...") right before its JOB_INFO.
        started = None if self.dryrun else time.monotonic()
        job = _Job(rule, notebook, Path(logs[0]) if logs else None, started)
        self.jobs[int(getattr(record, "jobid", -1))] = job
        if notebook is None:
            return
        self.tally.scheduled.add(rule)
        reason = readable_reason(str(getattr(record, "reason", "")))
        if self.dryrun:  # what it would write, as Snakemake's own dry run shows
            outputs = ", ".join(getattr(record, "output", None) or [])
            self._print(f"would run {notebook.task:<{_width()}} {reason} → {outputs}")
        else:
            self._print(f"▶ {notebook.task:<{_width()}} {reason}")

    def _job_finished(self, jobid: object) -> None:
        job = self.jobs.get(int(jobid)) if isinstance(jobid, int) else None
        if job is None:
            return
        took = _took(job)
        if job.notebook is None:
            if job.rule != _TARGET_RULE:
                self.tally.other += 1
                self._print(f"✓ rule {job.rule:<{_width() - 5}} done in {took}")
            return
        outcome = job_outcome(_read(job.log))
        name = job.notebook.task
        if outcome is None:
            self.tally.executed += 1
            self._print(f"✓ {name:<{_width()}} done in {took}")
        elif outcome[0] == "hit":
            self.tally.restored += 1
            self._print(f"↺ {name:<{_width()}} {outcome[2]} in {took}")
        else:
            self.tally.executed += 1
            because = f" — {outcome[1]}" if outcome[1] else ""
            self._print(f"✓ {name:<{_width()}} {outcome[2]}{because}")

    def _job_error(self, record: logging.LogRecord) -> None:
        job = self.jobs.get(int(getattr(record, "jobid", -1)))
        rule = str(getattr(record, "rule_name", "?"))
        if job is None:
            job = _Job(rule, _DECLARED.get(rule), None)
        logs = list(getattr(record, "log", None) or [])
        log = job.log or (Path(logs[0]) if logs else None)
        name = job.notebook.task if job.notebook is not None else f"rule {rule}"
        text = failure_text(_read(log)) if job.notebook is not None else ""
        if not text:
            where = f"; its log is {log}" if log is not None else ""
            text = f"{name}: the job failed{where}"
        self.tally.failures.append(text)
        self._print(f"✗ {name:<{_width()}} failed after {_took(job)}: {text.splitlines()[0]}")

    def close(self) -> None:
        with self.out_lock:
            if self.closed:
                super().close()
                return
            self.closed = True
        self.stop.set()
        self.ticker.join(timeout=2 * _POLL)
        if self.errors and not self.jobs:
            super().close()  # stopped before any job (a located parse error): it stays last
            return
        self._print(self._summary())
        for failure in self.tally.failures:
            self._print(failure)
        super().close()

    def _summary(self) -> str:
        t = self.tally
        if self.dryrun:
            return f"\nnbrules: {len(t.scheduled)} to run, {_up_to_date(t)} up to date (dry run)"
        parts = [f"{t.executed} executed", f"{t.restored} restored"]
        parts.append(f"{_up_to_date(t)} up to date")
        if t.other:
            parts.append(f"{t.other} other jobs")
        if t.failures:
            parts.append(f"{len(t.failures)} failed")
        took = time.monotonic() - self.begun
        return f"\nnbrules: {', '.join(parts)} ({took:.1f}s)"

    def _tick(self) -> None:
        while not self.stop.wait(_POLL):
            lines = []
            now = time.monotonic()
            for job in list(self.jobs.values()):
                line = self._progress(job, now)
                if line:
                    lines.append(line)
            if self.tty:
                self._show_status("  ".join(lines))
            else:
                for line in lines:
                    self._print(line)

    def _progress(self, job: _Job, now: float) -> str:
        if job.started is None or job.notebook is None or job.log is None:
            return ""
        count = _read(progress_file(job.log)).strip()
        done, _, total = count.partition("/")
        if not (done.isdigit() and total.isdigit()):
            return ""
        running = min(int(done) + 1, int(total))
        line = f"  {job.notebook.task:<{_width()}} cell {running}/{total}"
        if not self.tty:
            if line == job.shown or now - job.shown_at < _QUIET_PROGRESS:
                return ""
            job.shown, job.shown_at = line, now
        return f"{line} ({now - job.started:.0f}s)"

    def _show_status(self, status: str) -> None:
        with self.out_lock:
            self.stream.write("\r\033[K" + status)
            self.status = status
            self.stream.flush()

    def _print(self, text: str) -> None:
        with self.out_lock:
            clear = "\r\033[K" if self.tty and self.status else ""
            self.stream.write(f"{clear}{text}\n")
            if clear:
                self.stream.write(self.status)
            self.stream.flush()


def _is_job_failure_noise(text: str) -> bool:
    return any(noise in text for noise in _JOB_FAILURE_NOISE)


def _width() -> int:
    return max((len(n.task) for n in _DECLARED.values()), default=12)


def _up_to_date(tally: _Tally) -> int:
    return len(set(_DECLARED) - tally.scheduled)


def _took(job: _Job) -> str:
    if job.started is None:
        return "0.0s"
    return f"{time.monotonic() - job.started:.1f}s"


def _read(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


__all__ = ["LogHandler", "Notebook", "declare", "failure_text", "job_outcome"]
