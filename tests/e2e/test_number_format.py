"""The terminal's number format keeps significant digits at every magnitude (a 2.299 J step never prints as 2J)."""
from archsim.report.tables import _si


def test_si_prefixes_and_digits():
    assert _si(2.2989, "J", 4) == "2.299J"
    assert _si(0.3493, "J", 4) == "349.3mJ"
    assert _si(9.069e-4, "J", 4) == "906.9uJ"
    assert _si(1.7e11) == "170.00G" and _si(4610) == "4.61k"
    assert _si(277) == "277" and _si(0) == "0"
    assert _si(0.25) == "0.25"  # a count or ratio without a unit keeps no prefix
