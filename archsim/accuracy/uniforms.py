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

:meth:`take_positions` gives the failing positions of a Bernoulli stream with geometric gaps
``floor(log U / log(1 - p))`` of the same uniforms: the gaps and their running sum are made once per block and
stream, so that a refill of a :class:`~archsim.accuracy.inject.BitStream` is one numpy operation (each numpy call costs ~1 us on its own and ~3 us
between the convolutions of a training step, where its code and data have left the caches).
"""
from __future__ import annotations

import numpy as np
import torch

#: uniforms drawn per block: ~20 us of drawing and logarithms, against ~3 us of call overhead per ``torch.rand``
BLOCK = 4096
#: the smallest uniform whose logarithm is taken (``torch.rand`` may return an exact 0)
TINY_U = 1e-300


class _Block:
    """One block of uniforms, their logarithms and, per geometric stream (``log(1 - p)``), the running sums of its
    gaps ``floor(log u / log(1 - p)) + 1`` (made on first use)."""

    __slots__ = ("u", "log", "_cum")

    def __init__(self, u: np.ndarray):
        self.u = u
        self.log = np.log(np.maximum(u, TINY_U))
        self._cum: dict[float, np.ndarray] = {}

    def cum(self, log_q: float) -> np.ndarray:
        c = self._cum.get(log_q)
        if c is None:
            g = (self.log / log_q).astype(np.int64)  # >= 0, so the integer conversion is the floor
            g += 1
            c = self._cum[log_q] = np.cumsum(g, out=g)
        return c


_NONE = _Block(np.empty(0))


class UniformSource:
    """Float64 uniforms of ``gen`` in stream order, drawn ``BLOCK`` at a time (see the module docstring)."""

    def __init__(self, gen: torch.Generator, block: int = BLOCK):
        self.gen = gen
        self.block = int(block)
        self._b = _NONE
        self._i = 0
        self._state: torch.Tensor | None = None  # the generator's state before the buffered block was drawn

    def _draw(self, k: int) -> np.ndarray:
        return torch.rand(k, generator=self.gen, dtype=torch.float64).numpy()

    def _slices(self, k: int) -> list[tuple[_Block | None, np.ndarray, int, int]]:
        """(block or None, uniforms, lo, hi) pieces that make up the next ``k`` uniforms of the stream."""
        out = []
        left = self._b.u.size - self._i
        if left and k:
            n = min(k, left)
            out.append((self._b, self._b.u, self._i, self._i + n))
            self._i += n
            k -= n
        if k >= self.block:  # a long run: straight from the generator, the buffer stays empty
            self._b, self._i, self._state = _NONE, 0, None
            out.append((None, self._draw(k), 0, k))
        elif k:
            self._state = self.gen.get_state()
            self._b = _Block(self._draw(self.block))
            self._i = k
            out.append((self._b, self._b.u, 0, k))
        return out

    def take(self, k: int) -> np.ndarray:
        """The next ``k`` uniforms in [0, 1) (a read-only view where they come from one block)."""
        parts = [u[lo:hi] for _, u, lo, hi in self._slices(int(k))]
        return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0)

    def take_positions(self, log_q: float, k: int, last: int) -> np.ndarray:
        """The next ``k`` failing positions after ``last`` of a Bernoulli process with ``log_q = log(1 - p)`` that
        draws its gaps ``floor(log U / log(1 - p))`` from the next ``k`` uniforms (int64, increasing).

        Within a block this is one subtraction from the block's running sum of gaps for this ``log_q``, made once
        per block and stream -- the same integers as summing the ``k`` gaps afresh."""
        parts = []
        for b, u, lo, hi in self._slices(int(k)):
            if b is None:
                g = (np.log(np.maximum(u[lo:hi], TINY_U)) / log_q).astype(np.int64)
                g += 1
                pos = np.cumsum(g, out=g)
                pos += last
            else:
                c = b.cum(log_q)
                pos = c[lo:hi] + (last - (int(c[lo - 1]) if lo else 0))
            parts.append(pos)
            last = int(pos[-1])
        return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def generator(self) -> torch.Generator:
        """The generator, positioned at the first uniform not yet handed out (for draws of other kinds)."""
        if self._state is not None:
            used = self._i
            self.gen.set_state(self._state)
            if used:
                self._draw(used)
            self._b, self._i, self._state = _NONE, 0, None
        return self.gen


def source_of(gen: torch.Generator | UniformSource) -> UniformSource:
    """``gen`` itself if it is a :class:`UniformSource`, else a new source drawing from it."""
    return gen if isinstance(gen, UniformSource) else UniformSource(gen)
