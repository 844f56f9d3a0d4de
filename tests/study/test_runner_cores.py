"""Which study tasks train with the injection's worker thread: only those that have a second core to themselves."""
from __future__ import annotations

import importlib

import pytest

from archsim.study import load_spec, runner
from archsim.study import evaluate
from archsim.study.study import plan
from archsim.study.store import ResultStore

TRAIN = importlib.import_module("archsim.accuracy.train")  # the module (the package exports a function of its name)


def _record_training(monkeypatch) -> list:
    """Training replaced by a stand-in that records its settings and stops the task; the list of them."""
    settings = []

    def fake_train(net, data, s, policy, seed):
        settings.append(s)
        raise RuntimeError("recorded")

    monkeypatch.setattr(TRAIN, "train", fake_train)
    return settings


@pytest.mark.parametrize("cpus, side_by_side, spare", [(1, 1, False), (2, 1, True), (2, 2, False), (3, 2, False),
                                                      (4, 2, True), (16, 8, True), (16, 9, False)])
def test_a_task_gets_a_second_core_only_where_the_cores_are_twice_the_tasks(monkeypatch, cpus, side_by_side, spare):
    monkeypatch.setattr(runner, "usable_cpus", lambda: cpus)
    assert runner.spare_core(side_by_side) is spare


@pytest.mark.parametrize("cpus", [1, 2])
def test_serial_tasks_carry_the_decision_into_training(monkeypatch, tmp_path, cpus):
    """One task at a time: each acc task trains with the worker thread exactly where a second core exists."""
    _, tasks = plan(load_spec())
    task = next(t for t in tasks if t["kind"] == "acc")
    settings = _record_training(monkeypatch)
    monkeypatch.setattr(runner, "usable_cpus", lambda: cpus)
    seen = []

    def execute(t):
        seen.append(t)
        with pytest.raises(RuntimeError, match="recorded"):
            evaluate.execute(t)
        return {"key": t["key"], "kind": t["kind"]}

    monkeypatch.setattr(runner, "execute", execute)
    runner.run_tasks([task], ResultStore(tmp_path / "store"), backend="serial")
    assert seen[0]["spare_core"] is (cpus >= 2)
    assert settings[0].injection_thread is (cpus >= 2)
    assert seen[0]["key"] == task["key"] and "spare_core" not in task  # the task (and its key) unchanged


def test_a_task_without_the_decision_trains_without_the_thread(monkeypatch):
    """A task made elsewhere (a Ray driver's, an older store's) keeps the study's old behaviour."""
    _, tasks = plan(load_spec())
    task = next(t for t in tasks if t["kind"] == "acc")
    settings = _record_training(monkeypatch)
    with pytest.raises(RuntimeError, match="recorded"):
        evaluate.execute(task)
    assert settings[0].injection_thread is False
