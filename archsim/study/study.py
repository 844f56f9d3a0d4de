"""One study run: expand, compute what the store lacks, analyse, write the outputs."""
from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Callable

from .analysis import build_rows, headline, recommend
from .points import DesignPoint, attach_tasks, expand
from .report import plot, write_outputs
from .runner import RunStats, outstanding, run_tasks
from .spec import StudySpec
from .store import ResultStore


@dataclass
class StudyResult:
    spec: StudySpec
    points: list[DesignPoint]
    rows: list[dict]
    headline: list[dict]
    recommended: dict[str, dict | None]
    stats: RunStats
    files: list[pathlib.Path]


def write_recommended_configs(out: pathlib.Path, points: list[DesignPoint], recs: dict) -> list[pathlib.Path]:
    """``recommended/<network>.yaml``: the recommended point's full config, which ``archsim sim --config`` and
    ``archsim accuracy --config`` both read (one file, one placement and one set of rates)."""
    import yaml

    from archsim.report.files import atomic_write_text

    files = []
    for net, rec in recs.items():
        if rec is None:
            continue
        p = next(p for p in points if p.network == net and p.label == rec["label"])
        path = out / "recommended" / f"{net}.yaml"
        atomic_write_text(path, f"# archsim study: recommended configuration for {net} ({rec['label']})\n"
                          + yaml.safe_dump(p.config.model_dump(mode="json"), sort_keys=False))
        files.append(path)
    return files


def plan(spec: StudySpec) -> tuple[list[DesignPoint], list[dict]]:
    """The design points and the distinct tasks they need."""
    points = expand(spec)
    return points, attach_tasks(spec, points)


def run_study(spec: StudySpec, out: str | pathlib.Path, backend: str = "local", workers: int | None = None,
              on_start: Callable[[int, int], None] | None = None, on_done: Callable[[dict], None] | None = None,
              stop_after: int | None = None, ray_address: str | None = None, plots: bool = True) -> StudyResult:
    """Run (or resume) ``spec`` into the directory ``out``.

    ``on_start(total, already_done)`` is called once the tasks are known; ``on_done(result)`` after each computed
    task. Raises :class:`~archsim.study.runner.SweepStopped` when ``stop_after`` cuts the sweep short."""
    out = pathlib.Path(out)
    store = ResultStore(out)
    points, tasks = plan(spec)
    todo = outstanding(tasks, store)
    if on_start:
        on_start(todo[0], todo[0] - len(todo[1]))
    stats = run_tasks(tasks, store, backend, workers, on_done, stop_after, ray_address, todo)
    rows = build_rows(points, store)
    recs = recommend(rows, spec.accuracy_drop_pp)
    head = headline(rows, recs, spec.accuracy_drop_pp)
    files = write_outputs(out, rows, head, recs, spec.model_dump(mode="json"),
                          {"tasks": stats.total, "skipped": stats.skipped, "computed": stats.computed,
                           "backend": backend})
    files += write_recommended_configs(out, points, recs)
    if plots:
        files += plot(out, rows, head, recs)
    return StudyResult(spec, points, rows, head, recs, stats, files)
