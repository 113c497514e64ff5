"""The logger plugin's readings: Snakemake's reasons, job lines, failures from logs."""

from __future__ import annotations

from nbrules.snakemake.console import failure_text, job_outcome, readable_reason


def test_snakemake_reasons_lose_their_digests() -> None:
    raw = ("Params have changed since last execution: Union of exclusive params before and "
           "now across all output: before: 'xxh3-128:5494' now: 'xxh3-128:011a'")
    assert readable_reason(raw) == "code or parameters changed"
    assert readable_reason("Missing output files: a.csv; Input files updated by another "
                           "job: b.csv") == "products missing; upstream ran"


def test_the_job_line_gives_result_reason_and_what_happened() -> None:
    log = "nbrules: square: cache miss a79d228fa1a9 — params changed: count (executed in 1.0s)\n"
    assert job_outcome(log) == ("miss", "params changed: count", "executed in 1.0s")
    hit = "nbrules: square: cache hit a79d228fa1a9 (restored 3 products)\n"
    assert job_outcome(hit) == ("hit", "", "restored 3 products")
    assert job_outcome("") is None


def test_a_failure_is_read_back_as_path_line_and_hint() -> None:
    log = ("nbrules: notebooks/fails.py:19: ZeroDivisionError: division by zero\n"
           "hint: the partial notebook is logs/fails.failed.ipynb\n")
    assert failure_text(log) == (
        "notebooks/fails.py:19: ZeroDivisionError: division by zero\n"
        "hint: the partial notebook is logs/fails.failed.ipynb")
    assert failure_text("") == ""
