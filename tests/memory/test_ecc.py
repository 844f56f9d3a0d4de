"""SECDED ECC on banks: code sizes, residual error rates (against a Monte-Carlo of code words), bank costs, and
iso-area with ECC."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from archsim.config import SimConfig, load_config
from archsim.config.scenarios import apply_memory
from archsim.datatypes import DataType
from archsim.memory.ecc import codec_gates, codeword_bits, residual_rates, secded_check_bits
from archsim.memory.rates import bank_characteristics


@pytest.mark.parametrize("k,n", [(8, 13), (16, 22), (32, 39), (64, 72), (128, 137)])
def test_code_sizes_are_hsiaos(k, n):
    assert codeword_bits(k) == n
    assert codec_gates(64) == (184, 704)


_rate = st.floats(0.0, 0.5)


@given(_rate, _rate, _rate, st.sampled_from([8, 16, 32, 64, 128]))
def test_residual_never_exceeds_raw_and_zero_stays_zero(pr, p01, p10, k):
    r, w01, w10 = residual_rates(pr, p01, p10, k)
    assert 0.0 <= r <= pr and 0.0 <= w01 <= p01 and 0.0 <= w10 <= p10
    assert (pr > 0.0 or r == 0.0) and (p01 > 0.0 or w01 == 0.0) and (p10 > 0.0 or w10 == 0.0)
    if pr > 1e-100:  # (below that the product underflows to 0)
        assert r > 0.0


@given(st.floats(1e-9, 0.2), st.floats(1.0, 3.0))
def test_residual_is_monotone_in_the_raw_rate(p, f):
    lo = residual_rates(p, p, p, 64)
    hi = residual_rates(min(0.5, p * f), min(0.5, p * f), min(0.5, p * f), 64)
    assert all(b >= a for a, b in zip(lo, hi))


@pytest.mark.parametrize("p", [3e-3, 1e-2, 3e-2])
def test_read_residual_matches_monte_carlo_of_code_words(p):
    """Independent bit failures over (72,64) words; a word with one failure is corrected, others keep theirs."""
    rng = np.random.default_rng(0)
    k, n, words = 64, 72, 400_000
    fails = rng.random((words, n)) < p
    per_word = fails.sum(1)
    wrong_data = fails[:, :k] & (per_word >= 2)[:, None]
    mc = wrong_data.mean()
    model = residual_rates(p, 0.0, 0.0, k)[0]
    se = np.sqrt(mc / (words * k)) * 3 + 1e-12
    assert abs(mc - model) < max(5 * se, 0.02 * model)


def _part(tech, ecc, **opts):
    cfg = load_config(overrides={"scratchpad": {"partitions": {"weight": {"technology": tech, "ecc": ecc,
                                                                          "options": opts}}}})
    return cfg.scratchpad.partition(DataType.WEIGHT)


@pytest.mark.parametrize("tech", ["sram", "sttmram"])
def test_ecc_costs_check_bit_cells_and_codec(tech):
    raw, ecc = bank_characteristics(_part(tech, "none")), bank_characteristics(_part(tech, "secded"))
    assert ecc.capacity_bytes == raw.capacity_bytes and ecc.word_bits == raw.word_bits  # data view
    assert 1.0 < ecc.area_mm2 / raw.area_mm2 < 72 / 64 * 1.05
    assert ecc.read_energy_pj > raw.read_energy_pj and ecc.write_energy_pj > raw.write_energy_pj
    assert ecc.read_latency_ns > raw.read_latency_ns


def test_ecc_turns_nominal_mram_errors_into_rare_double_errors():
    raw = bank_characteristics(_part("sttmram", "none"))
    ecc = bank_characteristics(_part("sttmram", "secded"))
    assert raw.write_ber_0to1 > 1e-7 and ecc.write_ber_0to1 < raw.write_ber_0to1 * 1e-3
    assert ecc.read_ber < raw.read_ber * 1e-3
    relaxed = bank_characteristics(_part("sttmram", "secded", write_voltage_v=1.0, write_pulse_ns=5.0))
    raw_relaxed = bank_characteristics(_part("sttmram", "none", write_voltage_v=1.0, write_pulse_ns=5.0))
    assert relaxed.write_ber_0to1 > 0.5 * raw_relaxed.write_ber_0to1  # many errors per word: ECC cannot help


def test_iso_area_counts_the_check_bits():
    base = SimConfig()
    for ecc in ("none", "secded"):
        m = apply_memory(base, "mram", "iso-area", ecc=ecc)
        for dt in DataType:
            s_part, m_part = base.scratchpad.partition(dt), m.scratchpad.partition(dt)
            a_s = bank_characteristics(s_part).area_mm2 * s_part.n_banks
            a_m = bank_characteristics(m_part).area_mm2 * m_part.n_banks
            assert abs(a_m - a_s) <= 0.5 * bank_characteristics(m_part).area_mm2 + 1e-12
    plain = apply_memory(base, "mram", "iso-area").scratchpad.partition(DataType.WEIGHT)
    coded = apply_memory(base, "mram", "iso-area", ecc="secded").scratchpad.partition(DataType.WEIGHT)
    assert coded.capacity_kib < plain.capacity_kib and coded.ecc == "secded"


def test_ecc_word_mismatch_names_the_field():
    with pytest.raises(Exception, match="ecc_data_bits"):
        load_config(overrides={"scratchpad": {"partitions": {"weight": {"ecc": "secded", "ecc_data_bits": 48}}}})
