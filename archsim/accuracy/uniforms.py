"""Buffered uniform random numbers of one ``torch.Generator``, handed out in stream order.

The injector draws many short runs of float64 uniforms (a refill of a :class:`~archsim.accuracy.inject.BitStream`,
the thinning draw of a directional write): each ``torch.rand`` call costs a few microseconds however short. A
:class:`UniformSource` draws a block of ``BLOCK`` uniforms at once and hands out slices of it, so that

    ``source.take(k)``  ==  ``torch.rand(k, generator=gen, dtype=torch.float64).numpy()``

at every point of the stream, element for element: the CPU generator fills a float64 tensor serially, one Mersenne
Twister draw per element after another, so ``rand(a)`` followed by ``rand(b)`` equals ``rand(a + b)``
(tests/accuracy/test_uniforms.py checks it). Seeded results therefore do not depend on the block size. Code that
draws anything else from the generator (``torch.randint``, a float32 ``torch.rand``) asks for :meth:`generator`
first, which rewinds the generator to the first uniform not yet handed out.

:meth:`take_log` gives ``log(max(u, 1e-300))`` of the same uniforms, computed once per block: the logarithm of
the geometric gaps ``floor(log U / log(1 - p))`` of every Bernoulli stream that draws from this source.
"""
from __future__ import annotations

import numpy as np
import torch

#: uniforms drawn per block: ~20 us of drawing and logarithms, against ~3 us of call overhead per ``torch.rand``
BLOCK = 4096
#: the smallest uniform whose logarithm is taken (``torch.rand`` may return an exact 0)
TINY_U = 1e-300


class UniformSource:
    """Float64 uniforms of ``gen`` in stream order, drawn ``BLOCK`` at a time (see the module docstring)."""

    def __init__(self, gen: torch.Generator, block: int = BLOCK):
        self.gen = gen
        self.block = int(block)
        self._u = np.empty(0)
        self._log = np.empty(0)
        self._i = 0
        self._state: torch.Tensor | None = None  # the generator's state before the buffered block was drawn

    def _draw(self, k: int) -> np.ndarray:
        return torch.rand(k, generator=self.gen, dtype=torch.float64).numpy()

    def _slices(self, k: int) -> list[tuple[np.ndarray, np.ndarray | None, int, int]]:
        """(uniforms, their logs or None, lo, hi) pieces that make up the next ``k`` uniforms of the stream."""
        out = []
        left = self._u.size - self._i
        if left:
            n = min(k, left)
            out.append((self._u, self._log, self._i, self._i + n))
            self._i += n
            k -= n
        if k >= self.block:  # a long run: straight from the generator, the buffer stays empty
            self._u, self._log, self._i, self._state = np.empty(0), np.empty(0), 0, None
            out.append((self._draw(k), None, 0, k))
        elif k:
            self._state = self.gen.get_state()
            self._u = self._draw(self.block)
            self._log = np.log(np.maximum(self._u, TINY_U))
            self._i = k
            out.append((self._u, self._log, 0, k))
        return out

    def take(self, k: int) -> np.ndarray:
        """The next ``k`` uniforms in [0, 1) (a read-only view where they come from one block)."""
        parts = [u[lo:hi] for u, _, lo, hi in self._slices(int(k))]
        return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0)

    def take_log(self, k: int) -> np.ndarray:
        """``log(max(u, 1e-300))`` of the next ``k`` uniforms."""
        parts = [lg[lo:hi] if lg is not None else np.log(np.maximum(u[lo:hi], TINY_U))
                 for u, lg, lo, hi in self._slices(int(k))]
        return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0)

    def generator(self) -> torch.Generator:
        """The generator, positioned at the first uniform not yet handed out (for draws of other kinds)."""
        if self._state is not None:
            used = self._i
            self.gen.set_state(self._state)
            if used:
                self._draw(used)
            self._u, self._log, self._i, self._state = np.empty(0), np.empty(0), 0, None
        return self.gen


def source_of(gen: torch.Generator | UniformSource) -> UniformSource:
    """``gen`` itself if it is a :class:`UniformSource`, else a new source drawing from it."""
    return gen if isinstance(gen, UniformSource) else UniformSource(gen)
