"""Bad output paths, empty strings and non-finite numbers on the command line: exit status 2 and one clear error
line naming the option and the bad value, never a traceback; valid outputs get the mode a plain open() gives."""
from __future__ import annotations

import json
import os
import pathlib
import re
import stat

import pytest

from archsim.cli import main
from archsim.report.files import OutputError, atomic_write_text, write_json

SIM = ["sim", "--workload", "resnet18-mini", "--batch", "1", "--passes", "forward", "--quiet"]
SPEC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "examples" / "study-small.yaml"


def _fail(argv, capsys, *want):
    """Run the CLI; argparse errors exit through SystemExit(2), run-time ones return 2. Returns the error line."""
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert rc == 2, err
    assert "Traceback" not in err and "Traceback" not in captured.out
    line = err.splitlines()[-1]
    assert line.startswith("archsim"), line
    for w in want:
        assert w in line, (w, line)
    return line


@pytest.fixture
def adir(tmp_path):
    d = tmp_path / "adir"
    d.mkdir()
    return d


@pytest.fixture
def afile(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    return f


# ---- 1-4: output file is a directory, or below a regular file
@pytest.mark.parametrize("opt", ["--json", "--csv"])
def test_sim_output_is_directory(opt, adir, capsys):
    _fail([*SIM, opt, str(adir)], capsys, opt, str(adir), "directory")
    assert list(adir.iterdir()) == []


@pytest.mark.parametrize("opt", ["--json", "--csv"])
def test_sim_output_below_a_file(opt, afile, capsys):
    _fail([*SIM, opt, str(afile / "x.json")], capsys, opt, str(afile), "not a directory")
    assert afile.read_text() == "x"


def test_sim_output_with_trailing_slash(tmp_path, capsys):
    _fail([*SIM, "--json", str(tmp_path / "new") + "/"], capsys, "--json", "directory")


@pytest.mark.parametrize("cmd", [["device", "--voltages", "1", "--pulses-ns", "10"],
                                 ["memory", "--capacities-mb", "1"]])
def test_device_memory_json_is_directory(cmd, adir, afile, capsys):
    _fail([*cmd, "--json", str(adir)], capsys, "--json", str(adir), "directory")
    _fail([*cmd, "--json", str(afile / "t.json")], capsys, "--json", "not a directory")


# ---- 5: study --out is a regular file
def test_study_out_is_a_file(afile, capsys):
    _fail(["study", "--spec", str(SPEC), "--no-accuracy", "--quiet", "--out", str(afile)], capsys,
          "--out", str(afile), "not a directory")
    _fail(["study", "--spec", str(SPEC), "--no-accuracy", "--quiet", "--out", str(afile / "sub")], capsys,
          "--out", "not a directory")
    assert afile.read_text() == "x"


# ---- 6: plot paths checked before any work
def test_device_plot_directory_refused_and_nothing_written(adir, capsys):
    _fail(["device", "--plot", str(adir)], capsys, "--plot", "directory")
    assert not adir.with_suffix(".png").exists()


@pytest.mark.parametrize("name", ["wer.txt", "wer"])
def test_device_plot_bad_suffix_up_front(name, tmp_path, capsys):
    try:
        main(["device", "--plot", str(tmp_path / name)])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        pytest.fail("expected an argument error")
    cap = capsys.readouterr()
    assert cap.out == ""  # the table was not computed
    line = cap.err.strip().splitlines()[-1]
    assert "--plot" in line and ".png" in line and ".pdf" in line and ".svg" in line
    assert list(tmp_path.iterdir()) == []


def test_device_plot_svg_still_works(tmp_path, capsys):
    svg = tmp_path / "sub" / "w.svg"
    assert main(["device", "--voltages", "1.25", "--pulses-ns", "10", "--plot", str(svg)]) == 0
    assert svg.read_text().lstrip().startswith("<?xml")


# ---- 7, 9: empty strings are errors, not "the default"
@pytest.mark.parametrize("argv, opt", [
    ([*SIM, "--passes", ""], "--passes"),
    ([*SIM, "--dataflow", ""], "--dataflow"),
    ([*SIM, "--json", ""], "--json"),
    ([*SIM, "--csv", ""], "--csv"),
    ([*SIM, "--config", ""], "--config"),
    ([*SIM, "--array", " "], "--array"),
    (["sim", "--topology", "", "--quiet"], "--topology"),
    (["memory", "--technologies", ""], "--technologies"),
    (["memory", "--technologies", " , "], "--technologies"),
    (["memory", "--json", ""], "--json"),
    (["device", "--json", ""], "--json"),
    (["device", "--plot", ""], "--plot"),
    (["study", "--spec", "", "--no-accuracy"], "--spec"),
    (["study", "--networks", "", "--no-accuracy"], "--networks"),
    (["study", "--out", "", "--no-accuracy"], "--out"),
    (["workloads", "--layers", ""], "--layers"),
])
def test_empty_string_is_an_error(argv, opt, capsys):
    _fail(argv, capsys, f"argument {opt}:", "expected")


# ---- 8: nan / inf in number lists, one consistent range message for device voltages
@pytest.mark.parametrize("value", ["nan", "inf", "1,-inf"])
def test_memory_capacities_not_finite(value, capsys):
    line = _fail(["memory", "--capacities-mb", value], capsys, "--capacities-mb", "finite")
    assert "convert" not in line


def test_study_grid_not_finite(capsys):
    _fail(["study", "--voltages", "1,nan", "--no-accuracy"], capsys, "--voltages", "nan", "finite")


@pytest.mark.parametrize("value", ["nan", "10", "inf", "0.01"])
def test_device_voltages_message_names_option_and_range(value, capsys):
    assert main(["device", "--voltages", value]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("archsim: error: --voltages:")
    assert "[0.05, 3] V" in err and "<= 10" not in err


def test_device_pulses_not_finite(capsys):
    assert main(["device", "--pulses-ns", "nan"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--pulses-ns" in err and "nan" in err


# ---- second line of defence: atomic_write_text turns OS errors into one clear ValueError
def test_atomic_write_errors_name_the_path(adir, afile):
    with pytest.raises(OutputError, match=re.escape(repr(str(adir))) + ".*directory"):
        atomic_write_text(adir, "x")
    with pytest.raises(OutputError, match="is not a directory"):
        atomic_write_text(afile / "x.json", "x")
    with pytest.raises(ValueError, match="empty file name"):
        write_json("", {})
    assert list(adir.iterdir()) == [] and afile.read_text() == "x"
    assert [p.name for p in afile.parent.iterdir() if p.name.endswith(".tmp")] == []


# ---- 10: file mode follows the umask (and an existing file keeps its mode)
@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(old)


def _mode(p):
    return stat.S_IMODE(p.stat().st_mode)


def test_output_files_respect_umask(tmp_path, umask, capsys):
    js, cs = tmp_path / "new" / "r.json", tmp_path / "r.csv"
    assert main([*SIM, "--json", str(js), "--csv", str(cs)]) == 0
    assert _mode(js) == 0o644 and _mode(cs) == 0o644
    assert json.loads(js.read_text())["records"]
    dj, mj = tmp_path / "d.json", tmp_path / "m.json"
    assert main(["device", "--voltages", "1.25", "--pulses-ns", "10", "--json", str(dj)]) == 0
    assert main(["memory", "--capacities-mb", "1", "--json", str(mj)]) == 0
    assert _mode(dj) == 0o644 and _mode(mj) == 0o644
    assert json.loads(dj.read_text())["rows"] and json.loads(mj.read_text())["rows"]
    umask(0o077)
    f = tmp_path / "private.json"
    write_json(f, {"a": 1})
    assert _mode(f) == 0o600
    umask(0o022)
    os.chmod(cs, 0o640)
    atomic_write_text(cs, "a\n")
    assert _mode(cs) == 0o640 and cs.read_text() == "a\n"


# ---- 11: workload names are never truncated
@pytest.mark.parametrize("cols", ["80", "60"])
def test_workloads_names_whole_in_narrow_terminal(cols, monkeypatch, capsys):
    from archsim.workload import registry

    monkeypatch.setenv("COLUMNS", cols)
    assert main(["workloads"]) == 0
    out = capsys.readouterr().out
    firsts = {line.split()[0] for line in out.splitlines() if line.strip()}
    for name in registry.names():
        assert name in firsts, (name, out)
    if cols == "80":
        assert max(len(line) for line in out.splitlines()) <= 80
        assert "…" not in out


@pytest.mark.parametrize("argv,msg", [
    (["sim", "--workload", "resnet18-mini", "--scenario", "iso-area", "--quiet"], "applies with --memory mram"),
    (["sim", "--workload", "resnet18-mini", "--scenario", "iso-area", "--memory", "sram", "--quiet"],
     "got --memory sram"),
    (["sim", "--workload", "resnet18-mini", "--scenario", "iso-volume", "--quiet"], "unknown scenario"),
    (["memory", "--technologies", "sram", "--write-voltage", "1.0"], "--write-voltage sets STT-MRAM cells"),
])
def test_options_that_would_be_ignored_exit_2(argv, msg, capsys):
    from archsim.cli import main

    assert main(argv) == 2
    assert msg in capsys.readouterr().err


def test_study_bad_workers_leaves_no_store(tmp_path, capsys):
    from archsim.cli import main

    out = tmp_path / "st"
    assert main(["study", "--out", str(out), "--workers", "0", "--quiet"]) == 2
    assert "--workers must be >= 1" in capsys.readouterr().err and not out.exists()


def test_writes_go_through_symlinks_and_special_files(tmp_path):
    import os

    from archsim.report.files import atomic_write_text

    target = tmp_path / "target.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so that opening the FIFO for writing does not block
    try:
        atomic_write_text(fifo, "through")
        assert os.read(r, 100) == b"through"
    finally:
        os.close(r)
    assert fifo.exists() and not fifo.is_file()


def test_plot_suffixes_matplotlib_writes(tmp_path):
    import argparse

    from archsim.cli.argtypes import plot_file

    for ok in ("a.png", "a.tiff", "a.webp", "a.svgz", "a.PDF"):
        assert plot_file(str(tmp_path / ok))
    with pytest.raises(argparse.ArgumentTypeError, match="unsupported plot file type"):
        plot_file(str(tmp_path / "a.txt"))


def test_unwritable_plot_keeps_the_sweep_json(tmp_path, capsys, monkeypatch):
    from archsim.accuracy import sweep

    def refuse(self, path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(sweep.SweepResult, "plot", refuse)
    js = tmp_path / "s.json"
    rc = main(["accuracy", "sweep", "--workload", "resnet18-mini", "--epochs", "1", "--train-samples", "64",
               "--datatypes", "weight", "--rates", "1e-3", "--seeds", "0", "--quiet", "--json", str(js),
               "--plot", str(tmp_path / "p.png")])
    assert rc == 2 and "--plot: cannot write" in capsys.readouterr().err and js.exists()
