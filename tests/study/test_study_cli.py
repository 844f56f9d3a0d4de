"""``archsim study`` end to end: output files, resume after an interruption or a kill, the Ray backend, and one
config file read alike by the simulator and the accuracy harness."""
import collections
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
import yaml

from archsim.cli import main


def _study(spec, out, *extra):
    return main(["study", "--spec", str(spec), "--out", str(out), "--quiet", *extra])


def _points(out):
    return json.loads((pathlib.Path(out) / "points.json").read_text())["points"]


def _computed(out):
    return [json.loads(x)["key"] for x in (pathlib.Path(out) / "computed.log").read_text().splitlines()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The small study run uninterrupted, serially (the resumed parallel runs must reproduce it)."""
    import tests.study.conftest as c

    d = tmp_path_factory.mktemp("ref")
    spec = d / "small.yaml"
    spec.write_text(yaml.safe_dump(c.SMALL_STUDY))
    assert _study(spec, d / "out", "--backend", "serial") == 0
    return spec, d / "out"


def test_small_study_writes_every_output(reference):
    spec, out = reference
    for name in ("points.json", "points.csv", "summary.json", "headline.md", "energy_breakdown.png",
                 "energy_accuracy.png",
                 "recommended/alexnet-cifar.yaml", "recommended/resnet18-cifar.yaml"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    pts = _points(out)
    # per network: SRAM, MRAM at 2 scenarios x 2 ECC settings, 2 grid points x 2 ECC settings of one recipe
    assert len(pts) == 2 * 9 and {p["network"] for p in pts} == {"alexnet-cifar", "resnet18-cifar"}
    for p in pts:
        assert p["total_energy_j"] > 0 and p["latency_s"] > 0 and 0.0 <= p["accuracy_pct"] <= 100.0
        parts = sum(v for k, v in p.items() if k.startswith("energy."))
        assert parts == pytest.approx(p["total_energy_j"], rel=1e-9)  # the breakdown adds up
    summary = json.loads((out / "summary.json").read_text())
    head = {h["network"]: h for h in summary["headline"]}
    for net, h in head.items():
        rows = [p for p in pts if p["network"] == net]
        base = next(p for p in rows if p["family"] == "sram")
        assert h["sram_energy_j"] == base["total_energy_j"] and base["accuracy_drop_pp"] == 0.0
        assert any(p["pareto"] for p in rows)
        rec = next(p for p in rows if p["label"] == summary["recommended"][net])
        assert rec["accuracy_drop_pp"] <= 1.0 + 1e-9
        assert rec["total_energy_j"] == min(p["total_energy_j"] for p in rows if p["accuracy_drop_pp"] <= 1.0 + 1e-9)
        # iso-area MRAM holds more bytes than the SRAM baseline; iso-capacity the same
        mram = {p["label"]: p for p in rows if p["family"] == "mram"}
        assert mram["mram/iso-area"]["capacity_kib"] > base["capacity_kib"] == mram["mram/iso-capacity"]["capacity_kib"]
        # SECDED's check bits take area: less data fits in the same area, and each access costs more
        assert mram["mram+secded/iso-area"]["capacity_kib"] < mram["mram/iso-area"]["capacity_kib"]
        secded, plain = mram["mram+secded/iso-capacity"], mram["mram/iso-capacity"]
        assert secded["scratchpad_energy_j"] > plain["scratchpad_energy_j"]
        assert set(h["mram"]) == set(mram)
    with open(out / "points.csv") as fh:
        assert len(fh.read().splitlines()) == len(pts) + 1


def test_interrupted_then_resumed_equals_uninterrupted(reference, tmp_path):
    spec, ref_out = reference
    out = tmp_path / "out"
    assert _study(spec, out, "--workers", "2", "--stop-after", "5") == 3  # stopped: a non-zero exit
    first = _computed(out)
    assert len(first) == 5
    assert _study(spec, out, "--workers", "2") == 0
    keys = _computed(out)
    assert len(keys) == len(set(keys)) == len(_computed(ref_out))  # nothing computed twice, nothing missing
    assert _points(out) == _points(ref_out)
    assert _study(spec, out) == 0  # a third run computes nothing
    assert len(_computed(out)) == len(keys)


def test_damaged_task_file_is_computed_again(reference, tmp_path):
    """A finished task's file damaged outside archsim (here cut short, and another one emptied) counts as not
    finished: a rerun computes those two tasks again, and only those, and the points equal the reference's."""
    import shutil

    spec, ref_out = reference
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    before = _computed(out)
    damaged = sorted((out / "tasks").glob("*.json"))[:2]
    damaged[0].write_text(damaged[0].read_text()[:20])
    damaged[1].write_bytes(b"")
    assert _study(spec, out, "--no-plots") == 0
    assert sorted(_computed(out)[len(before):]) == sorted(p.stem for p in damaged)
    assert _points(out) == _points(ref_out)


def test_resumed_study_reads_each_task_file_once_to_plan(reference, tmp_path, monkeypatch):
    """A rerun of a finished study computes nothing, and reads each task's file once before it builds the rows:
    the start-up count and the runner share the answer to which tasks are finished."""
    import collections
    import shutil

    import archsim.study.study as study
    from archsim.study.spec import load_spec
    from archsim.study.store import ResultStore

    spec, ref_out = reference
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    reads, planned = collections.Counter(), []
    get, build_rows = ResultStore.get, study.build_rows

    def counted(self, key):
        reads[key] += 1
        return get(self, key)

    def rows(*a, **kw):
        planned.append(dict(reads))
        return build_rows(*a, **kw)

    monkeypatch.setattr(ResultStore, "get", counted)
    monkeypatch.setattr(study, "build_rows", rows)
    started = []
    res = study.run_study(load_spec(spec), out, "serial", plots=False,
                          on_start=lambda total, done: started.append((total, done)))
    keys = {p.stem for p in (out / "tasks").glob("*.json")}
    assert started == [(len(keys), len(keys))] and res.stats.computed == 0 and res.stats.skipped == len(keys)
    assert planned == [{k: 1 for k in keys}]


def test_killed_sweep_loses_only_tasks_in_flight(reference, tmp_path):
    spec, ref_out = reference
    more = yaml.safe_load(spec.read_text())
    more["accuracy"]["seeds"] = [0, 1, 2]  # enough tasks that the kill lands mid-sweep
    spec = tmp_path / "more.yaml"
    spec.write_text(yaml.safe_dump(more))
    out, ref_out = tmp_path / "out", tmp_path / "ref"
    assert _study(spec, ref_out, "--backend", "serial", "--no-plots") == 0
    cmd = [sys.executable, "-m", "archsim.cli", "study", "--spec", str(spec), "--out", str(out), "--quiet",
           "--workers", "2"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = out / "computed.log"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if log.is_file() and len(log.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its pool workers
    proc.wait()
    done = _computed(out)
    assert len(done) >= 3
    for key in done:  # every logged task is complete on disk
        assert json.loads((out / "tasks" / f"{key}.json").read_text())["key"] == key
    assert len(done) < len(_computed(ref_out))
    assert _study(spec, out, "--no-plots") == 0
    counts = collections.Counter(_computed(out))
    assert set(counts) == set(_computed(ref_out)) and max(counts.values()) == 1
    assert _points(out) == _points(ref_out)


def test_ray_backend_matches_local(reference, tmp_path):
    pytest.importorskip("ray")
    spec, ref_out = reference
    assert _study(spec, tmp_path / "out", "--backend", "ray", "--workers", "2") == 0
    assert _points(tmp_path / "out") == _points(ref_out)


def test_one_config_file_gives_sim_and_harness_the_same_placement_and_rates(reference, tmp_path):
    from archsim.datatypes import DataType

    from archsim.study import load_spec
    from archsim.study.points import expand

    spec = load_spec(reference[0])
    point = next(p for p in expand(spec) if p.network == "alexnet-cifar" and p.family == "het" and p.pulse_ns == 5
                 and p.ecc == "none")
    cfg = point.config.model_dump(mode="json")
    f = tmp_path / "het.yaml"
    f.write_text(yaml.safe_dump(cfg))
    sim_json, acc_json = tmp_path / "sim.json", tmp_path / "acc.json"
    assert main(["sim", "--config", str(f), "--workload", "alexnet-cifar", "--json", str(sim_json), "--quiet"]) == 0
    assert main(["accuracy", "--config", str(f), "--workload", "alexnet-mini", "--epochs", "1", "--train-samples",
                 "64", "--json", str(acc_json), "--quiet"]) == 0
    sim = json.loads(sim_json.read_text())["partitions"]
    pol = json.loads(acc_json.read_text())["policy"]
    assert {dt.value for dt in DataType} == set(sim) == set(pol)
    for dt in DataType:
        bank, m = sim[dt.value]["bank"], pol[dt.value]
        assert sim[dt.value]["technology"] == cfg["scratchpad"]["partitions"][dt.value]["technology"]
        assert (m["read_ber"], m["write_ber_0to1"], m["write_ber_1to0"]) == \
            (bank["read_ber"], bank["write_ber_0to1"], bank["write_ber_1to0"])
        assert m["format"] == sim[dt.value]["format"]
    # the het point's relaxed data types see higher write error rates than the nominal ones, SRAM none at all
    assert pol["activation"]["write_ber_0to1"] > pol["weight_gradient"]["write_ber_0to1"] > 0.0
    assert pol["weight"]["write_ber_0to1"] == pol["weight"]["read_ber"] == 0.0


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["study", "--networks", "nosuchnet", "--quiet", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "nosuchnet" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "s.yaml"
    bad.write_text("grid: {pulses_ns: [0]}\n")
    assert main(["study", "--spec", str(bad), "--quiet", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pulses_ns" in err and len(err.strip().splitlines()) == 1
