"""Study files: defaults, validation messages, expansion into design points."""
import pytest
from pydantic import ValidationError

from archsim.datatypes import DataType
from archsim.study import load_spec
from archsim.study.points import expand
from archsim.study.study import plan


def test_default_study_covers_the_issue_networks_and_scenarios():
    spec = load_spec()
    assert [n.name for n in spec.networks] == ["vgg16", "resnet18", "resnet50", "alexnet", "mobilenetv2"]
    assert set(spec.scenarios) == {"iso-capacity", "iso-area"}
    assert spec.accuracy_drop_pp == 1.0
    assert len(spec.grid.points()) >= 4


def test_bad_values_name_the_field(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("grid: {voltages_v: [1.0, -0.5]}\n")
    with pytest.raises(ValidationError, match="voltages_v"):
        load_spec(p)
    with pytest.raises(ValidationError, match="both relaxed"):
        load_spec(overrides={"recipes": [{"name": "x", "relaxed": ["weight"], "sram": ["weight"]}]})
    with pytest.raises(ValidationError, match="duplicate"):
        load_spec(overrides={"recipes": [{"name": "x", "relaxed": ["weight"]}, {"name": "x", "relaxed": ["error"]}]})
    with pytest.raises(ValidationError, match="accuracy_drop_pp"):
        load_spec(overrides={"accuracy_drop_pp": -1})


def test_expand_builds_het_placements(small_study_file):
    spec = load_spec(small_study_file)
    pts = expand(spec)
    per_net = [p for p in pts if p.network == "alexnet-cifar" and p.ecc == "none"]
    assert [p.family for p in per_net] == ["sram", "mram", "mram", "het", "het"]
    coded = [p for p in pts if p.network == "alexnet-cifar" and p.ecc == "secded"]
    assert [p.family for p in coded] == ["mram", "mram", "het", "het"]
    for p in coded:
        assert all(pl == "sram" or pl.endswith("+secded") for pl in p.placement().values())
    het = per_net[3]
    place = het.placement()
    assert place["weight"] == "sram"
    assert place["activation"] == place["error"] == f"sttmram@{het.voltage_v}V,{het.pulse_ns}ns"
    assert place["weight_gradient"] == place["optimizer_state"] == "sttmram@1.25V,10.0ns"
    # every partition is sized from its SRAM baseline under the scenario, never from an MRAM one
    iso_area = next(p for p in per_net if p.label == "mram/iso-area").config.scratchpad
    for dt in (DataType.ACTIVATION, DataType.ERROR, DataType.WEIGHT_GRADIENT):
        assert het.config.scratchpad.partition(dt).capacity_kib == iso_area.partition(dt).capacity_kib
    sram = per_net[0].config.scratchpad
    assert het.config.scratchpad.partition(DataType.WEIGHT) == sram.partition(DataType.WEIGHT)


def test_grid_point_equal_to_nominal_is_not_a_second_point():
    spec = load_spec(overrides={"networks": [{"name": "alexnet", "proxy": {"workload": "alexnet-mini"}}],
                                "grid": {"voltages_v": [1.25], "pulses_ns": [10.0]},
                                "recipes": [{"name": "all", "relaxed": [d.value for d in DataType]}]})
    assert [p.label for p in expand(spec)] == ["sram", "mram/iso-capacity", "mram/iso-area",
                                               "mram+secded/iso-capacity", "mram+secded/iso-area"]


def test_points_share_tasks_where_results_must_be_equal(small_study_file):
    spec = load_spec(small_study_file)
    points, tasks = plan(spec)
    assert len({t["key"] for t in tasks}) == len(tasks)
    for net in ("alexnet-cifar", "resnet18-cifar"):
        by = {p.label: p for p in points if p.network == net}
        # same write points -> same rates -> the same training runs at iso-capacity and iso-area
        assert by["mram/iso-capacity"].acc_keys == by["mram/iso-area"].acc_keys
        assert by["mram/iso-capacity"].sim_key != by["mram/iso-area"].sim_key
        assert by["sram"].acc_keys != by["mram/iso-area"].acc_keys


def test_shipped_examples_validate():
    from archsim.config import load_config
    from archsim.datatypes import DataType

    root = __import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "examples"
    cfg = load_config(root / "heterogeneous.yaml")
    techs = {dt: cfg.scratchpad.partition(dt).technology for dt in DataType}
    assert techs[DataType.WEIGHT] == "sttmram" and techs[DataType.WEIGHT_GRADIENT] == "sram"
    assert len(expand(load_spec(root / "study-small.yaml"))) > 4
