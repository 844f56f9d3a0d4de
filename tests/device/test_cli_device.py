"""End-to-end tests of ``archsim device``."""
from __future__ import annotations

import json

from archsim.cli import main


def test_device_table_json_and_plot(tmp_path, capsys):
    js, png = tmp_path / "t.json", tmp_path / "w.png"
    rc = main(["device", "--voltages", "0.8,1.25", "--pulses-ns", "2,10", "--json", str(js), "--plot", str(png)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "WER" in out and "P>AP" in out
    data = json.loads(js.read_text())
    rows = data["rows"]
    assert len(rows) == 4
    r = next(r for r in rows if r["voltage_v"] == 1.25 and r["pulse_ns"] == 10)
    assert abs(r["current_p2ap_ua"] - 80.0) < 1e-6 and abs(r["energy_p2ap_pj"] - 1.0) < 1e-6
    assert r["wer_p2ap"] > r["wer_ap2p"]
    assert png.stat().st_size > 1000
    assert data["derived"]["ic0_p2ap_ua"] > data["derived"]["ic0_ap2p_ua"]


def test_device_bad_input_one_line(capsys):
    for argv in (["device", "--voltages", "0.8,abc"], ["device", "--pulses-ns", "0.001"],
                 ["device", "--delta", "-3"], ["device", "--voltages", "9"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("archsim:") and "\n" not in err
