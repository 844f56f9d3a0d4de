"""End to end: `archsim accuracy` and `archsim accuracy sweep` through archsim.cli.main."""
import json
import re

import pytest

from archsim.cli import main

FAST = ["--workload", "resnet18-mini", "--epochs", "1", "--train-samples", "96", "--batch-size", "32", "--quiet"]


def test_train_json(tmp_path):
    out = tmp_path / "a.json"
    rc = main(["accuracy", *FAST, "--inject", "weight=1e-3", "--inject", "activation:read=1e-5", "--json", str(out)])
    assert rc == 0
    d = json.loads(out.read_text())
    assert d["clean"]["final_accuracy"] >= 0 and len(d["injected"]["epochs"]) == 1
    assert d["policy"]["weight"]["write_ber_0to1"] == 1e-3 and d["policy"]["activation"]["read_ber"] == 1e-5
    assert d["injected"]["flips"]["weight"]["write_flips"] > 0


def test_sweep_table_plot_json(tmp_path, capsys):
    js, png = tmp_path / "s.json", tmp_path / "s.png"
    rc = main(["accuracy", "sweep", *FAST[:-1], "--datatypes", "weight", "error", "--rates", "0", "1e-3",
               "--seeds", "0", "1", "--json", str(js), "--plot", str(png)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "clean" in text and "weight" in text and "1.0e-03" in text
    d = json.loads(js.read_text())
    pts = d["points"]
    assert {p["seed"] for p in pts} == {0, 1}
    assert sum(p["datatype"] == "clean" for p in pts) == 2
    assert {(p["datatype"], p["rate"]) for p in pts} >= {("weight", 1e-3), ("error", 1e-3), ("weight", 0.0)}
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"


def test_sweep_flag_alias_and_config_option(tmp_path):
    import yaml

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"scratchpad": {"partitions": {"weight": {"technology": "sttmram"}}}}))
    js = tmp_path / "o.json"
    rc = main(["accuracy", "--sweep", *FAST, "--config", str(cfg), "--datatypes", "weight", "--option",
               "write_pulse_ns", "--values", "2", "10", "--seeds", "0", "--json", str(js)])
    assert rc == 0
    pts = [p for p in json.loads(js.read_text())["points"] if p["datatype"] == "weight"]
    by = {p["setting"]: p["rate"] for p in pts}
    assert by["write_pulse_ns=2"] > by["write_pulse_ns=10"]  # shorter pulses: more write errors


@pytest.mark.parametrize("argv,msg", [(["--inject", "weight=7"], "outside"), (["--workload", "nope"], "unknown"),
                                      (["--dataset", "cifar10"], "data-dir"), (["sweep", "--option", "x"], "--config")])
def test_user_errors_exit_2(argv, msg, capsys):
    assert main(["accuracy", *FAST, *argv]) == 2
    assert msg in capsys.readouterr().err


def test_flips_table_fits_80_columns(capsys, monkeypatch):
    """Every rate and count of the per-data-type table is printed whole in an 80-column terminal."""
    monkeypatch.setenv("COLUMNS", "80")
    injects = ["weight=1e-3", "activation:read=1e-7", "error=6.6e-7", "weight_gradient=1e-5", "optimizer_state=1e-5"]
    rc = main(["accuracy", *FAST[:-1], *[a for i in injects for a in ("--inject", i)]])
    assert rc == 0
    text = capsys.readouterr().out
    table = text[text.index("bits flipped per data type"):]
    assert "directional writes" in table and "…" not in table
    assert max(map(len, table.splitlines())) <= 80
    for shown in ("1.0e-03", "1.0e-07", "6.6e-07", "optimizer_state", "weight_gradient"):
        assert shown in table


@pytest.mark.parametrize("argv,msg", [
    (["--rates", "1e-3"], "--rates is for `archsim accuracy sweep`"),
    (["--plot", "p.png", "--seeds", "1"], "--seeds, --plot are for"),
    (["sweep", "--seed", "1"], "--seed is for the train action"),
    (["sweep", "--values", "7"], "--values needs --option"),
    (["sweep", "--config", "c.yaml", "--option", "write_pulse_ns", "--values", "7", "--rates", "1e-3"],
     "give one or the other"),
    (["--datatypes", "weight", "--inject", "activation=1e-3"], "activation is not among --datatypes"),
    (["--data-dir", "."], "--data-dir is for --dataset cifar10"),
    (["--image-size", "10000"], "allowed: 1 to"),
    (["--batch-size", "1"], "needs at least 2 samples per training batch"),
])
def test_options_the_action_would_ignore_exit_2(argv, msg, capsys):
    assert main(["accuracy", *FAST, *argv]) == 2
    assert msg in capsys.readouterr().err


def test_unreadable_cifar_file_exits_2(tmp_path, capsys):
    (tmp_path / "batches.meta").write_bytes(b"garbage")
    (tmp_path / "data_batch_1").write_bytes(b"garbage")
    assert main(["accuracy", *FAST, "--dataset", "cifar10", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "data_batch_1: not a python pickle" in err and "Traceback" not in err


def test_bad_output_paths_rejected_before_training(tmp_path, capsys):
    for argv, msg in ((["--json", str(tmp_path)], "is a directory"),
                      (["sweep", "--plot", str(tmp_path / "p.txt")], "unsupported plot file type")):
        with pytest.raises(SystemExit) as exc:  # argparse: usage and one error line, status 2
            main(["accuracy", *FAST, *argv])
        assert exc.value.code == 2 and msg in capsys.readouterr().err


def test_json_into_new_folder(tmp_path):
    out = tmp_path / "new" / "a.json"
    assert main(["accuracy", *FAST, "--inject", "weight=1e-3", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["command"] == "accuracy"


def test_sweep_plot_title_inside_the_figure(tmp_path, monkeypatch):
    """The title names the adapted network (long): it is wrapped to stay inside the figure, not clipped."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from archsim.accuracy.sweep import SweepResult

    kept = []
    monkeypatch.setattr(plt, "close", kept.append)  # keep the figure to measure it
    res = SweepResult(workload="resnet18-mini(in_channels=1, input_size=8, num_classes=10)", dataset="digits",
                      kind="write", write_model="directional", settings={}, points=[])
    res.plot(str(tmp_path / "t.png"))
    fig = kept[0]
    fig.canvas.draw()
    box, title = fig.bbox, fig.axes[0].title.get_window_extent()
    assert box.x0 <= title.x0 and title.x1 <= box.x1 and title.y1 <= box.y1


def test_help_states_each_default_once(capsys):
    """Defaults resolved after parsing (``--seed``, ``--seeds``, ``--kind``) say so in their help; argparse's own
    "(default: ...)" is added only to the others, and never "None", "[]" or "False"."""
    with pytest.raises(SystemExit) as e:
        main(["accuracy", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for bad in ("(default: None)", "(default: [])", "(default: False)"):
        assert bad not in text
    assert not re.search(r"\(default: [^)]*\) \(default", text), "a default stated twice"
    assert "seed of the train action (default: 0)" in text
    assert "seeds of every point (default: 0 1 2)" in text
    for shown in ("(default: 5)", "(default: 32)", "(default: 0.02)", "(default: directional)"):
        assert shown in text


def test_workload_that_needs_larger_images_gets_its_own_size(tmp_path, capsys):
    """vgg16-mini's five 2x2 pools cannot take the 8x8 digits: without --image-size the harness resizes them to the
    32x32 the workload is registered at, and says so; the ImageNet networks name no size and still fail clearly."""
    out = tmp_path / "v.json"
    argv = ["accuracy", "--workload", "vgg16-mini", "--epochs", "1", "--train-samples", "64", "--batch-size", "32",
            "--init", "kaiming", "--json", str(out)]
    assert main(argv) == 0
    assert "resized to its own 32 x 32" in capsys.readouterr().out
    assert "input_size=32" in json.loads(out.read_text())["network"]
    assert main(["accuracy", *FAST[2:], "--workload", "vgg16"]) == 2
    assert "cannot take 8x8 inputs" in capsys.readouterr().err
    # an explicit size is the user's choice, kept (and 16 is too small for vgg16-mini)
    assert main(["accuracy", *FAST[2:], "--workload", "vgg16-mini", "--image-size", "16"]) == 2
    assert "cannot take 16x16 inputs" in capsys.readouterr().err
