"""Error-correcting codes on a bank: SECDED (single-error-correct, double-error-detect) Hsiao codes.

STT-MRAM macros ship with ECC because their raw write error rates are far above what software tolerates
(e.g. Everspin's 1 Gb STT-MRAM and the embedded STT-MRAMs of Samsung, TSMC and Intel all use per-word ECC). A code
word holds ``k`` data bits and ``r`` check bits. Hamming's bound gives the smallest ``r_h`` with
``2**r_h >= k + r_h + 1``; one more overall parity bit makes it SECDED. That is (13,8), (22,16), (39,32), (72,64)
and (137,128) (Hsiao, "A class of optimal minimum odd-weight-column SEC-DED codes", IBM J. R&D 14(4), 1970).

Effect on the bank (``apply_secded``): the array stores ``n/k`` times the bits and reads/writes ``n/k`` times as
many per access. So it is characterised at the physical geometry (capacity and word width scaled by ``n/k``), and
adds the encoder's energy and delay to writes and the decoder's to reads:

* gate counts of a Hsiao (n, k) code with weight-3 data columns (the minimum odd weight that corrects):
  - encoder: ``3k - r`` XOR2 (each of the ``3k`` ones of the data part of H is one input of a parity tree);
  - decoder: ``3k`` XOR2 for the syndrome, ``k (r - 1)`` AND2 to decode it, and ``k`` XOR2 to correct;
  - ``(72,64)``: encoder 184, decoder 704 gates;
* energy per gate: Horowitz (ISSCC 2014, 45 nm) gives 0.1 pJ for a 32-bit add. A ripple adder of 32 full adders
  is ~160 two-input gates, so ~0.63 fJ per gate evaluation at 45 nm. Scaled by 0.39 to 22 nm, the same factor
  archsim.compute uses, that is 0.24 fJ. A (72,64) decode costs ~0.17 pJ, next to ~3.7 pJ for reading 64 bits of
  a 64 KiB STT-MRAM bank;
* delay: logic depth (ceil(log2 of the parity-tree width) XOR levels, ceil(log2 r) AND levels, one correcting XOR)
  times an FO4 delay of 0.5 ns per um of drawn length (Ho, Mai & Horowitz, "The future of wires", Proc. IEEE
  2001), i.e. 11 ps at 22 nm. The area and leakage of the codec logic are neglected: a few hundred gates next to
  a bank of 10^5-10^6 cells.

Effect on errors (``residual_rates``): a code word with one wrong bit is corrected, and one with two or more keeps
its wrong bits. Miscorrection of three or more errors is neglected at O(p^3). A detected but uncorrectable word is
used as read, because a training accelerator has no recovery path (assumption). So a data bit stays wrong only if
it fails and at least one of the other ``n - 1`` bits of its word fails too:

* reads: ``p_r' = p_r (1 - (1 - p_r)^(n-1))``;
* directional writes: ``p_01' = p_01 (1 - (1 - q)^(n-1))`` and likewise ``p_10'``. Here
  ``q = f/2 (p_01 + p_10)`` is the mean failure probability of another bit of the word. A write switches a fraction
  ``f`` of the bits (``changed_bit_fraction``, 0.5 for uncorrelated data), half of them in each direction, check
  bits alike.

The other bits are treated as independent and average, so the clustering of errors into words is kept only on
average. At rates where most words hold several errors, the residual tends to the raw rate: ECC no longer helps.
"""
from __future__ import annotations

import math
from dataclasses import replace

from .base import BankCharacteristics

SCHEMES = ("none", "secded")
#: two-input gate evaluation at 22 nm, pJ: 0.1 pJ / 160 gates (Horowitz ISSCC 2014, 32-bit add, 45 nm) x 0.39
GATE_ENERGY_PJ = 0.1 / 160 * 0.39
#: FO4 inverter delay at 22 nm, ns: 0.5 ns/um x 0.022 um (Ho, Mai & Horowitz, Proc. IEEE 89(4), 2001)
FO4_NS = 0.5 * 0.022


def secded_check_bits(k: int) -> int:
    """Check bits of a SECDED code over ``k`` data bits: Hamming's r plus one overall parity bit."""
    if k < 1:
        raise ValueError(f"ECC data bits must be >= 1, got {k}")
    r = 1
    while (1 << r) < k + r + 1:
        r += 1
    return r + 1


def codeword_bits(k: int) -> int:
    return k + secded_check_bits(k)


def codec_gates(k: int) -> tuple[int, int]:
    """(encoder, decoder) two-input gate counts of a Hsiao SECDED code with weight-3 data columns."""
    r = secded_check_bits(k)
    return 3 * k - r, 3 * k + k * (r - 1) + k


def codec_delay_ns(k: int) -> tuple[float, float]:
    """(encode, decode) logic delay: XOR tree over a check bit's inputs (+ decode AND tree + correcting XOR)."""
    r = secded_check_bits(k)
    tree = math.ceil(math.log2(max(2, math.ceil(3 * k / r) + 1)))
    return tree * FO4_NS, (tree + math.ceil(math.log2(r)) + 1) * FO4_NS


def _residual(p: float, others: float, n: int) -> float:
    """A bit failing with ``p`` stays wrong when one of the other ``n - 1`` bits (each failing with ``others``)
    fails too."""
    if p <= 0.0:
        return 0.0
    return p * -math.expm1((n - 1) * math.log1p(-min(others, 1.0 - 1e-16)))


def residual_rates(read_ber: float, p01: float, p10: float, k: int, changed_fraction: float = 0.5
                   ) -> tuple[float, float, float]:
    """Per-data-bit (read, write 0->1, write 1->0) error rates after SECDED over ``k`` data bits."""
    n = codeword_bits(k)
    q = 0.5 * changed_fraction * (p01 + p10)
    return _residual(read_ber, read_ber, n), _residual(p01, q, n), _residual(p10, q, n)


def physical_word_bits(word_bits: int, k: int) -> int:
    if word_bits % k:
        raise ValueError(f"word_bits={word_bits} is not a whole number of {k}-bit ECC data words")
    return word_bits // k * codeword_bits(k)


def physical_capacity_bytes(capacity_bytes: int, k: int) -> int:
    words = math.ceil(capacity_bytes * 8 / k)
    return math.ceil(words * codeword_bits(k) / 8)


def apply_secded(physical: BankCharacteristics, data_capacity_bytes: int, data_word_bits: int, k: int,
                 changed_fraction: float = 0.5) -> BankCharacteristics:
    """The data view of a bank characterised at its physical (ECC-widened) geometry: same array energy, area,
    leakage; codec energy and delay added per access; residual error rates."""
    words = data_word_bits // k
    enc_g, dec_g = codec_gates(k)
    enc_ns, dec_ns = codec_delay_ns(k)
    rd, w01, w10 = residual_rates(physical.read_ber, physical.write_ber_0to1, physical.write_ber_1to0, k,
                                  changed_fraction)
    return replace(physical, capacity_bytes=data_capacity_bytes, word_bits=data_word_bits,
                   read_latency_ns=physical.read_latency_ns + dec_ns,
                   write_latency_ns=physical.write_latency_ns + enc_ns,
                   read_energy_pj=physical.read_energy_pj + words * dec_g * GATE_ENERGY_PJ,
                   write_energy_pj=physical.write_energy_pj + words * enc_g * GATE_ENERGY_PJ,
                   read_ber=rd, write_ber_0to1=w01, write_ber_1to0=w10,
                   source=f"{physical.source}; SECDED ({codeword_bits(k)},{k}) per {k} data bits")
