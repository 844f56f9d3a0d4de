"""Several float32 tensors as views of one buffer: the optimizer step's weights, gradients or state as one block.

The optimizer step stores every weight, every gradient and every state buffer once per step. :class:`FlatBlock`
copies one data type's tensors into a single contiguous float32 buffer and hands back views of it, which the
injector binds in place of the originals (``param.data``, ``param.grad``, ``optimizer.state[p][k]``), as flat
parameter buffers in data-parallel training do. Then a whole data type's bit flips are a single numpy operation on
the buffer's uint32 words (:attr:`FlatBlock.words`), whichever tensors they fall in, instead of one call per tensor.

Each tensor starts on a 64-byte boundary (``ALIGN`` words, the CPU allocator's own alignment), so the kernels see
the same alignment as with separate tensors. Positions are numbered over the tensors' words laid end to end (the
layout of :class:`archsim.accuracy.hooks._Ranges`); :meth:`FlatBlock.locate` maps them to words of the buffer.
"""
from __future__ import annotations

import numpy as np
import torch

#: float32 words per 64 bytes: every member tensor starts at a multiple of this offset
ALIGN = 16


class FlatBlock:
    """One contiguous float32 buffer holding copies of ``tensors`` (same order), and views of it."""

    def __init__(self, tensors: list[torch.Tensor]):
        numels = np.array([t.numel() for t in tensors], dtype=np.int64)
        padded = -(-numels // ALIGN) * ALIGN
        offsets = np.concatenate(([0], np.cumsum(padded)[:-1])) if len(tensors) else numels
        self.buffer = torch.empty(int(padded.sum()), dtype=torch.float32)
        self.views = [self.buffer[o:o + n].view(t.shape) for o, n, t in zip(offsets.tolist(), numels.tolist(),
                                                                          tensors)]
        with torch.no_grad():
            for v, t in zip(self.views, tensors):
                v.copy_(t)
        #: the buffer's words as uint32, writable: flips through it bypass autograd like ``.data``
        self.words = self.buffer.numpy().view(np.uint32)
        self.shapes = tuple(tuple(t.shape) for t in tensors)
        self._ptrs = tuple(v.data_ptr() for v in self.views)
        #: first concatenated word of each tensor, and the offset from there to its place in the buffer
        self.starts = np.concatenate(([0], np.cumsum(numels)[:-1])) if len(tensors) else numels
        self.shift = offsets - self.starts

    @staticmethod
    def fits(tensors: list[torch.Tensor]) -> bool:
        """Whether ``tensors`` can live in a block (contiguous CPU float32)."""
        return all(t.dtype is torch.float32 and t.is_cpu and t.is_contiguous() for t in tensors)

    def holds(self, tensors: list[torch.Tensor]) -> bool:
        """Whether ``tensors`` are this block's views (same order): nothing was rebound or reallocated since."""
        return len(tensors) == len(self._ptrs) and all(
            t.data_ptr() == p for t, p in zip(tensors, self._ptrs))

    def same_layout(self, tensors: list[torch.Tensor]) -> bool:
        return len(tensors) == len(self.shapes) and all(tuple(t.shape) == s for t, s in zip(tensors, self.shapes))

    def load(self, tensors: list[torch.Tensor]) -> None:
        """Copy ``tensors`` (same layout) into the views that do not hold them already."""
        with torch.no_grad():
            for v, t, p in zip(self.views, tensors, self._ptrs):
                if t.data_ptr() != p:
                    v.copy_(t)

    def locate(self, word: np.ndarray) -> np.ndarray:
        """The buffer index of each of the sorted concatenated word indices ``word``."""
        return self.segments(word)[0]

    def segments(self, word: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For sorted concatenated word indices: (buffer index of each, where each tensor's run of them begins).

        One binary search per tensor into ``word`` (not one per word into the tensors' starts), then one pass."""
        cuts = word.searchsorted(self.starts)
        counts = np.diff(np.append(cuts, word.size))
        return word + np.repeat(self.shift, counts), cuts[counts > 0]
