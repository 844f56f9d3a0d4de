"""Rates from the memory configuration (through the bank models), explicit overrides, CLI option parsing."""
import pytest
from pydantic import ValidationError

from archsim.accuracy.cliargs import build_policy, parse_inject
from archsim.accuracy.policy import DataTypeErrors, ErrorPolicy
from archsim.config import load_config
from archsim.datatypes import DataType
from archsim.memory.rates import datatype_error_rates

EXPLICIT = {"technology": "explicit", "options": {"read_latency_ns": 1, "write_latency_ns": 5, "read_energy_pj": 1,
                                                  "write_energy_pj": 2, "leakage_mw": 0.1, "area_mm2": 0.1,
                                                  "read_ber": 1e-7, "write_ber_0to1": 2e-5,
                                                  "write_ber_1to0": 5e-6}}


def test_rates_from_config_explicit_technology():
    cfg = load_config(overrides={"scratchpad": {"partitions": {"weight": {**EXPLICIT, "format": "fp16"}}}})
    pol = ErrorPolicy.from_config(cfg)
    w = pol.get(DataType.WEIGHT)
    assert (w.read_ber, w.write_ber_0to1, w.write_ber_1to0, w.format) == (1e-7, 2e-5, 5e-6, "fp16")
    assert w.write_ber == pytest.approx(1.25e-5)
    assert not pol.get(DataType.ACTIVATION).writes  # SRAM partitions: no write errors at nominal conditions


def test_rates_from_sttmram_bank_model():
    cfg = load_config(overrides={"scratchpad": {"partitions": {"weight": {"technology": "sttmram"}}}})
    pol = ErrorPolicy.from_config(cfg)
    r = datatype_error_rates(cfg)[DataType.WEIGHT]
    w = pol.get(DataType.WEIGHT)
    assert (w.write_ber_0to1, w.write_ber_1to0, w.read_ber) == (r.write_ber_0to1, r.write_ber_1to0, r.read_ber)


def test_explicit_override_and_datatype_selection(tmp_path):
    f = tmp_path / "c.yaml"
    import yaml
    f.write_text(yaml.safe_dump({"scratchpad": {"partitions": {"weight": EXPLICIT, "activation": EXPLICIT}}}))
    pol = build_policy(str(f), injects=["weight:0to1=1e-3", "err:read=1e-6"], formats=["weight=int8"],
                       datatypes=["weight", "error"])
    w = pol.get(DataType.WEIGHT)
    assert (w.write_ber_0to1, w.write_ber_1to0, w.format) == (1e-3, 5e-6, "int8")
    assert pol.get(DataType.ERROR).read_ber == 1e-6
    assert not pol.get(DataType.ACTIVATION).active  # switched off by datatypes


def test_bad_values_name_the_field():
    with pytest.raises(ValidationError, match="read_ber"):
        DataTypeErrors(read_ber=2.0)
    with pytest.raises(ValidationError, match="extra"):
        DataTypeErrors(rate=1e-3)
    with pytest.raises(ValueError, match="outside the allowed range"):
        parse_inject("weight=1.5")
    with pytest.raises(ValueError, match="unknown data type"):
        parse_inject("bias=1e-3")
    with pytest.raises(ValueError, match="unknown kind"):
        parse_inject("weight:sideways=1e-3")
