"""Config files are strict: no type coercion, no duplicate keys, one-line errors that name the file, the position,
the field path and the allowed range (exit status 2, never a traceback)."""
import pathlib

import pytest
from pydantic import ValidationError

from archsim.cli import main
from archsim.config import load_config, read_mapping
from archsim.study import load_spec

ROOT = pathlib.Path(__file__).resolve().parents[1]
SIM = ["sim", "--workload", "resnet18-mini", "--quiet", "--no-layers"]


def _sim_error(path, capsys) -> str:
    assert main([*SIM, "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def _write(tmp_path, name, text):
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


# ------------------------------------------------------------------------------------------- 1. strict types
@pytest.mark.parametrize("name, text, loc, shown", [
    ("c.yaml", "array: {rows: true}\n", "array.rows", "True"),
    ("c.toml", "[array]\nrows = true\n", "array.rows", "True"),
    ("c.yaml", "array: {rows: '128'}\n", "array.rows", "'128'"),
    ("c.yaml", "array: {rows: 128.0}\n", "array.rows", "128.0"),
    ("c.yaml", "array: {frequency_ghz: true}\n", "array.frequency_ghz", "True"),
    ("c.yaml", "array: {frequency_ghz: '1.5'}\n", "array.frequency_ghz", "'1.5'"),
    ("c.yaml", "training: {momentum: 'yes'}\n", "training.momentum", "'yes'"),
    ("c.yaml", "training: {momentum: 1}\n", "training.momentum", "1"),
    ("c.yaml", "training: {momentum: 'no'}\n", "training.momentum", "'no'"),
    ("c.toml", "[training]\nmomentum = 0\n", "training.momentum", "0"),
    ("c.yaml", "scratchpad: {partitions: {weight: {capacity_kib: '4096'}}}\n",
     "scratchpad.partitions.weight.capacity_kib", "'4096'"),
    ("c.yaml", "scratchpad: {partitions: {weight: {technology: sttmram, options: {write_pulse_ns: '7'}}}}\n",
     "scratchpad.partitions.weight.options.write_pulse_ns", "'7'"),
    ("c.yaml", "scratchpad: {partitions: {weight: {technology: sttmram, options: {mtj: {damping: true}}}}}\n",
     "scratchpad.partitions.weight.options.mtj.damping", "True"),
    ("c.yaml", "dram: {channels: 8.5}\n", "dram.channels", "8.5"),
])
def test_wrong_types_are_rejected_not_coerced(tmp_path, capsys, name, text, loc, shown):
    err = _sim_error(_write(tmp_path, name, text), capsys)
    assert f"{loc}: " in err and f"(got {shown})" in err, err


def test_bool_rows_rejected_by_load_config(tmp_path):
    with pytest.raises(ValidationError, match="array.rows|rows"):
        load_config(_write(tmp_path, "c.yaml", "array: {rows: true}\n"))


@pytest.mark.parametrize("name, text", [
    ("c.yaml", "array: {rows: 32, cols: 16, frequency_ghz: 1, dataflow: ws}\ntraining: {momentum: false, batch: 4}\n"),
    ("c.toml", "[array]\nrows = 32\nfrequency_ghz = 2\n[training]\nmomentum = false\n"),
    ("c.yaml", "compute: {mac_format: fp16, energy_scale: 1, mac_energy_pj: 0}\ndram: {preset: ddr4-2400, "
               "latency_ns: 50}\n"),
    # YAML 1.1 reads 1e5 / 1e-9 as strings; the loader resolves them as floats (as YAML 1.2 and TOML do)
    ("c.yaml", "scratchpad:\n  partitions:\n    weight: {technology: sttmram, options: {write_pulse_ns: 1e1, "
               "retention_failure_prob: 1e-9, write_voltage_v: 1}}\n"),
])
def test_valid_inputs_still_load(tmp_path, name, text):
    cfg = load_config(_write(tmp_path, name, text))
    assert isinstance(cfg.array.frequency_ghz, float)


def test_integer_where_float_expected_gives_float(tmp_path):
    cfg = load_config(_write(tmp_path, "c.yaml", "array: {frequency_ghz: 1}\nscratchpad: {stream_fraction: 0.5}\n"))
    assert cfg.array.frequency_ghz == 1.0 and type(cfg.array.frequency_ghz) is float


def test_shipped_examples_and_defaults_load():
    cfg = load_config(ROOT / "docs/examples/heterogeneous.yaml")
    assert cfg.scratchpad.partitions["weight"].technology == "sttmram"
    spec = load_spec(ROOT / "docs/examples/study-small.yaml")
    assert spec.recipes[1].sram[0].value == "activation"
    load_config()
    load_spec()


def test_rows_true_no_longer_simulates_a_1_row_array(tmp_path, capsys):
    # the fuzzed case: rows: true used to run as rows=1 (6.45M cycles instead of 128k)
    err = _sim_error(_write(tmp_path, "c.yaml", "array:\n  rows: true\n"), capsys)
    assert "array.rows" in err


# ------------------------------------------------------------------------------------------ 2. duplicate keys
def test_yaml_duplicate_top_level_key(tmp_path, capsys):
    p = _write(tmp_path, "dup.yaml", "array: {rows: 4}\ntraining: {batch: 2}\narray: {rows: 8}\n")
    err = _sim_error(p, capsys)
    assert "duplicate key 'array'" in err and "line 3" in err and "line 1" in err and str(p) in err


def test_yaml_duplicate_nested_key(tmp_path):
    p = _write(tmp_path, "dup.yaml", "array:\n  rows: 4\n  cols: 4\n  rows: 8\n")
    with pytest.raises(ValueError, match=r"line 4, column 3: duplicate key 'rows' \(first given at line 2"):
        read_mapping(p)


def test_yaml_merge_key_override_is_not_a_duplicate(tmp_path):
    p = _write(tmp_path, "m.yaml", "base: &b {rows: 4, cols: 4}\narray:\n  <<: *b\n  rows: 8\n")
    assert read_mapping(p)["array"] == {"rows": 8, "cols": 4}


def test_toml_duplicate_key_rejected(tmp_path, capsys):
    err = _sim_error(_write(tmp_path, "dup.toml", "[array]\nrows = 4\nrows = 8\n"), capsys)
    assert "dup.toml" in err and "line 3" in err


# ------------------------------------------------------------------------------ 3-5. unreadable / unparsable
def test_binary_file_names_the_path(tmp_path, capsys):
    p = _write(tmp_path, "bin.yaml", b"\xff\xfe\x00\x01garbage")
    err = _sim_error(p, capsys)
    assert str(p) in err and "UTF-8" in err and "0xff" in err


def test_yaml_parse_error_has_line_and_column(tmp_path, capsys):
    p = _write(tmp_path, "malformed.yaml", "training: {batch: 2}\narray: {rows: 4\n")
    err = _sim_error(p, capsys)
    assert str(p) in err and "line 3, column 1" in err and "expected ',' or '}'" in err
    assert "flow mapping started at line 2, column 8" in err
    p = _write(tmp_path, "m2.yaml", "array:\n  rows: 4: 5\n")
    with pytest.raises(ValueError, match="line 2, column 10: mapping values are not allowed here"):
        read_mapping(p)


def test_directory_is_not_reported_as_missing(tmp_path, capsys):
    d = tmp_path / "conf.yaml"
    d.mkdir()
    err = _sim_error(d, capsys)
    assert "is a directory" in err and "not found" not in err
    assert "not found" in _sim_error(tmp_path / "nope.yaml", capsys)


# ------------------------------------------------------------------------------ 6. MRAM operating points
def _mram(tmp_path, **opts):
    body = ", ".join(f"{k}: {v}" for k, v in opts.items())
    return _write(tmp_path, "m.yaml", f"scratchpad:\n  partitions:\n    weight: {{technology: sttmram, "
                                      f"options: {{{body}}}}}\n")


def test_mram_short_pulse_names_the_field_and_range(tmp_path, capsys):
    err = _sim_error(_mram(tmp_path, write_pulse_ns=0.01), capsys)
    assert "scratchpad.partitions.weight.options.write_pulse_ns" in err
    assert "0.0458" in err and "allowed" in err and "(got 0.01)" in err


def test_mram_never_switching_voltage_names_the_field_and_range(tmp_path, capsys):
    err = _sim_error(_mram(tmp_path, write_voltage_v=0.3), capsys)
    assert "scratchpad.partitions.weight.options.write_voltage_v" in err
    assert "never switches" in err and "allowed" in err and "(got 0.3)" in err
    # the lower bound it reports does switch, just below it does not
    bound = float(err.split("allowed: ")[1].split(" ")[0])
    load_config(_mram(tmp_path, write_voltage_v=bound))
    with pytest.raises(ValidationError, match="never switches"):
        load_config(_mram(tmp_path, write_voltage_v=round(bound - 0.01, 3)))


def test_mram_voltage_below_device_range(tmp_path):
    with pytest.raises(ValidationError, match=r"(?s)options\.write_voltage_v.*allowed: 0\.05 to 3 V"):
        load_config(_mram(tmp_path, write_voltage_v=0.04, read_voltage_v=0.02))


def test_mram_option_range_errors_are_located(tmp_path, capsys):
    err = _sim_error(_mram(tmp_path, write_voltage_v=99), capsys)
    assert "scratchpad.partitions.weight.options.write_voltage_v" in err and "3" in err and "(got 99)" in err
    err = _sim_error(_mram(tmp_path, bogus=1), capsys)
    assert "scratchpad.partitions.weight.options.bogus" in err


def test_study_grid_out_of_range_names_the_grid_option(tmp_path, capsys):
    assert main(["study", "--voltages", "99", "--no-accuracy", "--quiet", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert "grid.voltages_v" in err and "99" in err and "[0.05, 3]" in err and len(err.splitlines()) == 1
    assert main(["study", "--pulses", "0.01", "--no-accuracy", "--quiet", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert "grid.pulses_ns" in err and "0.01" in err and "0.0458" in err
    with pytest.raises(ValidationError, match="grid.voltages_v|voltages_v"):
        load_spec(overrides={"grid": {"voltages_v": [1.0, True]}})


@pytest.mark.parametrize("scenario", ["iso-area", "iso-capacity"])
@pytest.mark.parametrize("opts, field, text", [
    ({"write_voltage_v": 0.3}, "write_voltage_v", "never switches"),
    ({"write_pulse_ns": 0.01}, "write_pulse_ns", "0.0458"),
    ({"write_voltage_v": 99}, "write_voltage_v", "less than or equal to 3"),
])
def test_memory_scenario_options_errors_are_located(scenario, opts, field, text):
    from archsim.config.scenarios import apply_memory

    with pytest.raises(ValidationError) as info:
        apply_memory(load_config(), "mram", scenario, options=opts)
    locs = [".".join(map(str, e["loc"])) for e in info.value.errors()]
    assert f"scratchpad.partitions.activation.options.{field}" in locs
    assert text in str(info.value)


def test_python_callers_tuples_and_numpy_scalars():
    """Strict about what a file says, not about how Python hands it over: tuples and numpy scalars are taken as the
    lists and numbers a YAML file would give (a numpy bool is still no integer)."""
    import numpy as np
    from pydantic import ValidationError

    from archsim.config import load_config
    from archsim.config.scenarios import SCENARIOS
    from archsim.study.spec import StudySpec

    assert load_config(None, {"array": {"rows": np.int64(64)}}).array.rows == 64
    spec = StudySpec(scenarios=SCENARIOS, grid={"voltages_v": (1.1, np.float64(1.0)), "pulses_ns": [10]})
    assert spec.scenarios == list(SCENARIOS) and spec.grid.voltages_v == [1.1, 1.0]
    with pytest.raises(ValidationError, match="array.rows"):
        load_config(None, {"array": {"rows": np.bool_(True)}})


def test_plugin_options_validated_lax_unless_strict():
    """A technology that does not ask for strict options (a plugin's default) takes what its Options model takes
    in pydantic's lax mode, e.g. a tuple from a YAML list."""
    from archsim.config import load_config
    from archsim.memory import MemoryTechnology, TechnologyOptions
    from archsim.datatypes import DataType
    from archsim.memory.base import _TECHNOLOGIES
    from archsim.memory.sttmram import STTMRAM

    class LaxOptions(TechnologyOptions):
        corner: tuple[float, float] = (1.0, 1.0)

    class Lax(MemoryTechnology):
        name = "laxtest"
        Options = LaxOptions

        def characterize(self, geometry, options):  # pragma: no cover - not simulated here
            raise NotImplementedError

    try:
        cfg = load_config(None, {"scratchpad": {"partitions": {"weight": {"technology": "laxtest",
                                                                           "options": {"corner": [0.9, 1.1]}}}}})
        part = cfg.scratchpad.partition(DataType.WEIGHT)
        assert part.technology == "laxtest" and part.options == {"corner": [0.9, 1.1]}
    finally:
        _TECHNOLOGIES.pop("laxtest", None)
    assert not Lax.strict_options and STTMRAM.strict_options


def test_study_grid_pulses_checked_against_the_nominal_mtj():
    """The shortest valid pulse is the nominal MTJ's: a 15 nm cell precesses faster than the 25 nm default."""
    from archsim.study.spec import StudySpec

    small = {"mtj": {"diameter_nm": 15.0}}
    assert StudySpec(nominal=small, grid={"voltages_v": [1.1], "pulses_ns": [0.03]}).grid.pulses_ns == [0.03]
    with pytest.raises(ValidationError, match=r"grid.pulses_ns: \[0.03\] ns shorter .* 0.0458"):
        StudySpec(grid={"voltages_v": [1.1], "pulses_ns": [0.03]})
