"""`archsim sim --topology T --array RxC --dataflow D --passes forward` reports SCALE-Sim's 'Total Cycles'."""
import json

import pytest

from archsim.cli import main
from scalesim_data import golden_cases

CASES = [c for c in golden_cases()]


@pytest.mark.golden
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.topology}-{c.config}" if hasattr(c, "config") else str(c))
def test_cli_forward_cycles_equal_scalesim(case, tmp_path):
    out = tmp_path / "o.json"
    rc = main(["sim", "--topology", str(case.topology_path), "--array", f"{case.rows}x{case.cols}",
               "--dataflow", case.dataflow, "--passes", "forward", "--json", str(out), "--quiet"])
    assert rc == 0
    recs = {r["layer"]: r for r in json.loads(out.read_text())["records"]}
    for layer in case.layers:
        assert recs[layer.name]["compute_cycles"] == layer.total_cycles, layer.name
