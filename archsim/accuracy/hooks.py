"""Hook points: where in a training step each data type is written to and read from the scratchpad.

=================  =====================================================  ==========================================
data type          written (write errors)                                 read (read errors, transient)
=================  =====================================================  ==========================================
activation         when autograd saves a layer's input for backward       each time backward unpacks it
                   (``torch.autograd.graph.saved_tensors_hooks``, pack)   (unpack)
weight             after every optimizer step (old word = value before)    every forward read by conv/linear/bn
error              when a layer's output gradient is produced (pre-hook   right after, as the next layer back reads
                   on the autograd node of every node's output)           it
weight_gradient    after backward, before the optimizer step               when the optimizer reads it
optimizer_state    by the optimizer step (old word = value before)         when the optimizer step reads it
=================  =====================================================  ==========================================

Parameters that autograd saves (a conv saves its weight, or the copy of it that carries read errors) are not
activations and are skipped by the activation hook; so are integer tensors (max-pool indices) and tensors of fewer
than two dimensions (BN statistics). A tensor saved by several ops (a ReLU output that the next conv saves too) is
stored once. In the optimizer step, all tensors of one data type (every weight, every gradient, every state
buffer) are one concatenated range of bits: one draw per data type and step (:class:`_Ranges`), and, in formats
without a per-tensor context, one numpy call on the :class:`~archsim.accuracy.flat.FlatBlock` that holds them.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import asdict, dataclass

import numpy as np
import torch

from archsim.datatypes import ALL_DATATYPES, DataType

from .flat import FlatBlock
from .formats import Codec, codec
from .inject import (FEW, NO_BITS, BitStream, directional_fail, directional_keep_runs, flip_bits_, group_bits,
                     private_copy, split_ranges, words_at, words_view, xor_bits32_)
from .policy import DataTypeErrors, ErrorPolicy
from .uniforms import UniformSource

_ACT, _WGT, _ERR = DataType.ACTIVATION, DataType.WEIGHT, DataType.ERROR
_WG, _OPT = DataType.WEIGHT_GRADIENT, DataType.OPTIMIZER_STATE


@dataclass
class FlipStats:
    """Counters of one data type (bits and words)."""

    words_written: int = 0
    words_read: int = 0
    write_flips: int = 0
    read_flips: int = 0
    write_flips_0to1: int = 0
    write_flips_1to0: int = 0

    @property
    def flips(self) -> int:
        return self.write_flips + self.read_flips

    def as_dict(self) -> dict:
        return {**asdict(self), "flips": self.flips}


def _seed(seed: int, i: int) -> int:
    return (int(seed) * 1_000_003 + 7_919 * (i + 1)) % (1 << 62)


def _same(x):
    return x


#: expected positions per step from which the weight gradients are copied into their FlatBlock: below, one call
#: per gradient that a position falls in is cheaper than copying all 62 of the mini model's (~150 us a step)
FLAT_GRADS_MIN = 16


def _block_words(c: Codec, b: FlatBlock, mem: np.ndarray) -> np.ndarray:
    """The stored (``c``-encoded) words at buffer indices ``mem`` of block ``b``; a block only holds formats without
    a per-tensor context, so any of its views gives the context."""
    return c.encode_bits(b.words[mem], c.context(b.views[0]))


def _flip_block_(c: Codec, b: FlatBlock, pos: np.ndarray, mem: np.ndarray | None = None) -> None:
    """Flip the stored bits at sorted concatenated positions ``pos`` of block ``b`` (``mem``: the buffer index of
    each position's word, where the caller has it)."""
    if c.bits == 32:
        xor_bits32_(b.words, pos, b.locate(pos >> 5) if mem is None else mem)
        return
    word, mask = group_bits(pos, c.bits)
    at = b.locate(word)
    b.words[at] = c.decode_bits(_block_words(c, b, at) ^ mask, c.context(b.views[0]))


def _bind_grads(params: list, views: list) -> None:
    for p, v in zip(params, views):
        p.grad = v


def _bind_state(state: dict, keys: list, views: list) -> None:
    for (p, k), v in zip(keys, views):
        state[p][k] = v


class _Ranges:
    """Several tensors of one data type as one concatenated range of stored bits (the optimizer step's weights,
    gradients or state buffers): one draw from the data type's :class:`BitStream` covers all of them, and only the
    tensors in which a position falls are visited. The stream is one Bernoulli process, so every bit still fails
    independently at its rate; what goes is the Python work for every tensor that holds no failing bit."""

    #: (numels, bits) -> (words, first bit of each tensor); one entry per model and format
    _layouts: dict[tuple, tuple[int, np.ndarray]] = {}

    def __init__(self, tensors: list[torch.Tensor], bits: int, block: FlatBlock | None = None):
        self.tensors = tensors
        self.block = block  # the tensors are this block's views: flips go to its words in one call
        self.numels = tuple(t.numel() for t in tensors)
        hit = self._layouts.get((self.numels, bits))
        if hit is None:
            starts = np.cumsum((0,) + self.numels[:-1], dtype=np.int64) * bits if tensors else NO_BITS
            hit = self._layouts[(self.numels, bits)] = (sum(self.numels), starts)
        self.words, self.starts = hit
        self.bits = self.words * bits

    def split(self, pos: np.ndarray):
        """``(tensor index, slice of pos, positions local to that tensor)`` per tensor that ``pos`` touches."""
        for i, lo, hi in split_ranges(pos, self.starts):
            yield i, slice(lo, hi), pos[lo:hi] - self.starts[i]


class Injector:
    """Binds an :class:`ErrorPolicy` to a model and an optimizer for training, with one seeded CPU generator per
    data type (switching one data type on or off does not change the masks of another).

    Every hook starts with the cheapest test that can end it: a data type without reads or writes has no stream
    (``None``), and a tensor whose bits hold no failing position costs one subtraction in its stream. Only an
    *event* -- a tensor in which some bit fails -- encodes words (numpy, see :mod:`archsim.accuracy.inject`) and,
    for a fresh write or a read, copies the tensor.
    """

    def __init__(self, policy: ErrorPolicy, seed: int = 0):
        self.policy = policy
        self.seed = seed
        self.models: dict[DataType, DataTypeErrors] = {dt: policy.get(dt) for dt in ALL_DATATYPES}
        self.codecs: dict[DataType, Codec] = {dt: codec(m.format, m.int8_scale) for dt, m in self.models.items()}
        self.gens = {dt: torch.Generator().manual_seed(_seed(seed, i)) for i, dt in enumerate(ALL_DATATYPES)}
        # every uniform of a data type comes from its generator in stream order, drawn in blocks
        self.src = {dt: UniformSource(g) for dt, g in self.gens.items()}
        self.stats: dict[DataType, FlipStats] = {dt: FlipStats() for dt in ALL_DATATYPES}
        # one Bernoulli stream per data type and access kind, over all the bits that data type reads / writes;
        # None where that access has no errors
        self._rs = {dt: BitStream(m.read_ber, self.src[dt]) if m.reads else None for dt, m in self.models.items()}
        self._ws = {dt: BitStream(m.write_ber if m.write_model == "symmetric"
                                  else max(m.write_ber_0to1, m.write_ber_1to0), self.src[dt]) if m.writes else None
                    for dt, m in self.models.items()}
        self._sym = {dt: m.write_model == "symmetric" for dt, m in self.models.items()}
        self._emulate = {dt: m.emulate_storage and m.format != "fp32" for dt, m in self.models.items()}
        self._draw = {dt: src.take for dt, src in self.src.items()}
        # data types with errors, in a format without a per-tensor context (all but int8 with a max-abs scale),
        # keep their optimizer-step tensors in one FlatBlock each (see step)
        self._flat = {dt: not self.codecs[dt].has_context and (m.reads or m.writes) for dt, m in self.models.items()}
        self._blocks: dict[DataType, FlatBlock] = {}
        self._previous = policy.fresh_old_contents == "previous"
        self._on = {dt: m.active for dt, m in self.models.items()}
        # (data type, buffer key) -> (layout, candidate positions of the buffer's next write, their stored words)
        self._prev: dict[tuple, tuple[object, np.ndarray, np.ndarray]] = {}
        self._model = None
        self._param_ptrs: set[int] = set()
        self._not_act: set[int] = set()
        self._saved: dict[int, tuple[torch.Tensor, object]] = {}
        self._pack_count = 0
        self._keys_sig: tuple | None = None
        self._keys: list = []
        self._fresh: list = []

    # -- wiring ----------------------------------------------------------------------------------------------
    def attach(self, model) -> "Injector":
        self._model = model
        model.injector = self
        self._param_ptrs = {p.data_ptr() for p in model.parameters()}
        return self

    def detach(self) -> None:
        if self._model is not None:
            self._model.injector = None
        self._model = None

    def active(self, dt: DataType) -> bool:
        return self._on[dt]

    @property
    def reads_weights(self) -> bool:
        return self._rs[_WGT] is not None

    def summary(self) -> dict:
        return {dt.value: self.stats[dt].as_dict() for dt in ALL_DATATYPES}

    # -- one tensor ------------------------------------------------------------------------------------------
    def _flip(self, dt: DataType, x: torch.Tensor, pos: np.ndarray, inplace: bool) -> torch.Tensor:
        """``x`` with the stored bits at flat positions ``pos`` flipped: ``x`` itself (contiguous) or a copy."""
        c = self.codecs[dt]
        if inplace:
            return flip_bits_(x, pos, c, c.context(x))
        y, u = private_copy(x)
        return flip_bits_(y, pos, c, c.context(x), u)

    def read(self, dt: DataType, x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        """``x`` as read back: each bit flipped with the read rate (``x`` itself when no bit flips)."""
        rs = self._rs[dt]
        if rs is None:
            return x
        n = x.numel()
        st = self.stats[dt]
        st.words_read += n
        pos = rs.positions(n * self.codecs[dt].bits)
        if not pos.size:
            return x
        st.read_flips += pos.size
        return self._flip(dt, x, pos, inplace)

    def _old_words(self, dt: DataType, key, layout, n_bits: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidate positions of a fresh write of ``n_bits`` bits under ``key``, and the words they overwrite."""
        prev = self._prev.get((dt, key))
        if prev is not None and prev[0] == layout:
            return prev[1], prev[2]
        cand = self._ws[dt].positions(n_bits)
        if not cand.size:
            return cand, NO_BITS
        c = self.codecs[dt]
        if self.policy.fresh_old_contents == "random":
            old = torch.randint(0, 1 << c.bits, (cand.size,), generator=self.src[dt].generator(),
                                dtype=torch.int64).numpy()
        else:  # "zeros", and the first write of a "previous" buffer (buffers start cleared)
            old = np.zeros(cand.size, dtype=np.int64)
        return cand, old

    def write(self, dt: DataType, key, new: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        """What storage holds after a fresh write of ``new`` under ``key`` (a copy unless ``inplace``)."""
        if self._emulate[dt]:
            new = self.codecs[dt].round_trip(new)
        ws = self._ws[dt]
        if ws is None:
            return new
        n = new.numel()
        bits = n * self.codecs[dt].bits
        self.stats[dt].words_written += n
        if self._sym[dt]:
            pos = ws.positions(bits)
            if not pos.size:
                return new
            self.stats[dt].write_flips += pos.size
            return self._flip(dt, new if inplace else new.detach(), pos, inplace)
        cand, old = self._old_words(dt, key, n, bits)
        y, u = self._resolve(dt, cand, old, new, inplace) if cand.size else (new, None)
        if self._previous:  # draw the next write's candidates now, keep the words they will overwrite
            nxt = ws.positions(bits)
            if nxt.size:
                c = self.codecs[dt]
                self._prev[(dt, key)] = (n, nxt, words_at(y, nxt >> c.shift, c, c.context(y), u))
            else:
                self._prev[(dt, key)] = (n, NO_BITS, NO_BITS)
        return y

    def _resolve(self, dt: DataType, cand: np.ndarray, old_words: np.ndarray, new: torch.Tensor,
                 inplace: bool) -> tuple[torch.Tensor, np.ndarray | None]:
        """``new`` after a directional write over ``old_words`` at candidate positions ``cand``, and the words view
        of the result (:func:`~archsim.accuracy.inject.words_view`; None where there is none)."""
        c, m, st = self.codecs[dt], self.models[dt], self.stats[dt]
        ctx = c.context(new)
        u = words_view(new)
        fail, n01, n10 = directional_fail(new, cand, old_words, c, ctx, m.write_ber_0to1, m.write_ber_1to0,
                                          self._draw[dt], u)
        if not fail.size:
            return new, u
        st.write_flips += n01 + n10
        st.write_flips_0to1 += n01
        st.write_flips_1to0 += n10
        if inplace:
            return flip_bits_(new, fail, c, ctx, u), u
        y, u = private_copy(new)
        return flip_bits_(y, fail, c, ctx, u), u

    # -- several tensors at once (the optimizer step) ---------------------------------------------------------
    def _round_trip_(self, dt: DataType, tensors: list[torch.Tensor]) -> None:
        if self._emulate[dt]:
            with torch.no_grad():
                for t in tensors:
                    t.copy_(self.codecs[dt].round_trip(t))

    def _read_all_(self, dt: DataType, r: _Ranges) -> None:
        """Read errors of every tensor of ``r``, in place."""
        rs = self._rs[dt]
        if rs is None:
            return
        self.stats[dt].words_read += r.words
        pos = rs.positions(r.bits)
        self.stats[dt].read_flips += pos.size
        self._flip_range_(dt, r, pos)

    def _flip_range_(self, dt: DataType, r: _Ranges, pos: np.ndarray) -> None:
        """Flip the bits at concatenated positions ``pos`` of ``r``'s tensors, in place."""
        if r.block is None:
            for i, _, local in r.split(pos):
                self._flip(dt, r.tensors[i], local, inplace=True)
        elif pos.size:
            _flip_block_(self.codecs[dt], r.block, pos)

    def _resolve_range_(self, dt: DataType, r: _Ranges, cand: np.ndarray, old: np.ndarray) -> None:
        """A directional write over ``old`` at concatenated candidates ``cand`` of ``r``'s (written) tensors: what
        :meth:`_resolve` does per tensor, in one call where the tensors are a block's views."""
        if r.block is None:
            for i, sl, local in r.split(cand):
                self._resolve(dt, local, old[sl], r.tensors[i], inplace=True)
            return
        if not cand.size:
            return
        b, c, m, st = r.block, self.codecs[dt], self.models[dt], self.stats[dt]
        mem, first = b.segments(cand >> c.shift)
        keep, n01, n10 = directional_keep_runs(_block_words(c, b, mem), cand & (c.bits - 1), old, m.write_ber_0to1,
                                               m.write_ber_1to0, self._draw[dt], first,
                                               FEW if c.name in ("fp32", "bf16") else 0)
        if n01 + n10:
            st.write_flips += n01 + n10
            st.write_flips_0to1 += n01
            st.write_flips_1to0 += n10
            _flip_block_(c, b, cand[keep], mem[keep])

    def _write_all_(self, dt: DataType, key, r: _Ranges) -> None:
        """A fresh write of every tensor of ``r`` (in place), as one buffer ``key`` (its old contents: see
        :meth:`write`)."""
        self._round_trip_(dt, r.tensors)
        ws = self._ws[dt]
        if ws is None:
            return
        self.stats[dt].words_written += r.words
        if self._sym[dt]:
            self._flip_all_(dt, r)
            return
        cand, old = self._old_words(dt, key, r.numels, r.bits)
        self._resolve_range_(dt, r, cand, old)
        if self._previous:
            nxt = ws.positions(r.bits)
            self._prev[(dt, key)] = (r.numels, nxt, self._words_all(dt, r, nxt))

    def _flip_all_(self, dt: DataType, r: _Ranges) -> None:
        """Symmetric write errors of every tensor of ``r``, in place."""
        pos = self._ws[dt].positions(r.bits)
        self.stats[dt].write_flips += pos.size
        self._flip_range_(dt, r, pos)

    def _words_all(self, dt: DataType, r: _Ranges, pos: np.ndarray) -> np.ndarray:
        """Stored words at concatenated positions ``pos`` of ``r``'s tensors (one per position)."""
        if not pos.size:
            return NO_BITS
        c = self.codecs[dt]
        if r.block is not None:
            return _block_words(c, r.block, r.block.locate(pos >> c.shift))
        out = np.empty(pos.size, dtype=np.int64)
        for i, sl, local in r.split(pos):
            t = r.tensors[i]
            out[sl] = words_at(t, local >> c.shift, c, c.context(t))
        return out

    def _before_update(self, dt: DataType, r: _Ranges) -> tuple[np.ndarray, np.ndarray] | None:
        """Directional candidates (concatenated positions) of the coming in-place update of ``r``'s tensors, and
        the words they hold now (None where the update has no directional errors)."""
        if self._ws[dt] is None or self._sym[dt]:
            return None
        cand = self._ws[dt].positions(r.bits)
        return cand, self._words_all(dt, r, cand)

    def _after_update(self, dt: DataType, r: _Ranges, pre) -> None:
        """Write errors of an in-place update of ``r``'s tensors (``pre``: from :meth:`_before_update`)."""
        self._round_trip_(dt, r.tensors)
        if self._ws[dt] is None:
            return
        self.stats[dt].words_written += r.words
        if self._sym[dt]:
            self._flip_all_(dt, r)
            return
        cand, old = pre
        with torch.no_grad():
            self._resolve_range_(dt, r, cand, old)

    # -- activations -----------------------------------------------------------------------------------------
    def _pack(self, t: torch.Tensor):
        if not t.is_floating_point() or t.dim() < 2 or t.data_ptr() in self._not_act:
            return t
        hit = self._saved.get(id(t))
        if hit is not None and hit[0] is t:
            return hit[1]
        stored = self.write(_ACT, self._pack_count, t.detach() if t.is_contiguous() else t.detach().contiguous())
        self._pack_count += 1
        packed = (stored,) if self._rs[_ACT] is not None else stored  # a tuple marks a stored activation to unpack
        self._saved[id(t)] = (t, packed)
        return packed

    def _unpack(self, packed):
        return self.read(_ACT, packed[0]) if type(packed) is tuple else packed

    @contextlib.contextmanager
    def forward(self):
        """Context for a training forward pass: stores saved activations through the error model."""
        self._saved.clear()
        self._pack_count = 0
        if not self._on[_ACT]:
            yield
            return
        self._not_act = set(self._param_ptrs)  # parameters, and below the weight copies that carry read errors
        unpack = self._unpack if self._rs[_ACT] is not None else _same
        with torch.autograd.graph.saved_tensors_hooks(self._pack, unpack):
            yield
        self._saved.clear()  # the stored copies stay alive in the graph; the map was only for de-duplication

    # -- weights (reads), errors -----------------------------------------------------------------------------
    def read_weight(self, name: str, w: torch.Tensor) -> torch.Tensor:
        rs = self._rs[_WGT]
        if rs is None or self._model is None or not self._model.training:
            return w
        c, st = self.codecs[_WGT], self.stats[_WGT]
        st.words_read += w.numel()
        pos = rs.positions(w.numel() * c.bits)
        if not pos.size:
            return w
        st.read_flips += pos.size
        y = w.clone()  # differentiable copy: gradients reach the stored weight, the compute sees the read errors
        flip_bits_(y, pos, c, c.context(w))
        if self._on[_ACT]:  # autograd saves it for backward; it is a weight, not an activation (reset per forward)
            self._not_act.add(y.data_ptr())
        return y

    def watch_error(self, name: str, y: torch.Tensor) -> None:
        """Route the error (gradient) of node output ``y`` through storage. The hook sits on ``y``'s autograd node
        as a pre-hook on output ``y.output_nr`` -- what ``y.register_hook`` does too, at a fifth of its cost."""
        if self._on[_ERR]:
            if y.grad_fn is None:
                y.register_hook(functools.partial(self._error, name))
            else:
                y.grad_fn.register_prehook(functools.partial(self._error_of, name, y.output_nr))

    def _error_of(self, name: str, k: int, grads: tuple):
        g = grads[k]
        if g is None:
            return None
        y = self._error(name, g)
        return None if y is None else grads[:k] + (y,) + grads[k + 1:]

    def _error(self, name: str, g: torch.Tensor) -> torch.Tensor | None:
        x = g if g.is_contiguous() else g.contiguous()
        y = self.write(_ERR, name, x)
        y = self.read(_ERR, y, inplace=y is not x)  # a private copy takes the read errors in place
        return None if y is g else y

    # -- the optimizer step: weight gradients, optimizer state, weights ---------------------------------------
    def _state_keys(self, optimizer: torch.optim.Optimizer, params: list) -> tuple[list, list]:
        """(parameter, key) of every floating, non-scalar optimizer-state buffer in a fixed order, and the
        parameters without state yet. Optimizers only ever add state, so both are recomputed only when the
        optimizer, its parameters or the number of parameters with state change."""
        sig = (id(optimizer), tuple(map(id, params)), len(optimizer.state))
        if self._keys_sig != sig:
            self._keys_sig = sig
            state = optimizer.state
            self._keys = [(p, k) for p in params for k, buf in sorted(state.get(p, {}).items())
                          if torch.is_tensor(buf) and buf.is_floating_point() and buf.dim() > 0]
            self._fresh = [p for p in params if not state.get(p)]
        return self._keys, self._fresh

    def _block(self, dt: DataType, tensors: list[torch.Tensor], bind) -> FlatBlock | None:
        """The :class:`FlatBlock` whose views ``tensors`` are, made (or refilled) and bound with ``bind(views)``
        where they are not (None where the data type has no errors in a format without a per-tensor context, or
        the tensors cannot live in one)."""
        if not self._flat[dt] or not tensors:
            return None
        b = self._blocks.get(dt)
        if b is not None and b.holds(tensors):
            return b
        if not FlatBlock.fits(tensors):
            return None
        if b is not None and b.same_layout(tensors):
            b.load(tensors)
        else:
            b = self._blocks[dt] = FlatBlock(tensors)
        bind(b.views)
        return b

    def _expected_positions(self, dt: DataType, n_bits: int) -> float:
        """Expected failing (or candidate) positions per pass over ``n_bits`` bits of ``dt``, reads and writes."""
        return sum(s.p for s in (self._rs[dt], self._ws[dt]) if s is not None) * n_bits

    def _bind_weights(self, params: list, views: list) -> None:
        for p, v in zip(params, views):
            p.data = v
        self._param_ptrs = {p.data_ptr() for p in (self._model.parameters() if self._model is not None else ())}
        self._param_ptrs.update(v.data_ptr() for v in views)

    def step(self, optimizer: torch.optim.Optimizer, names: dict[int, str] | None = None) -> None:
        """``optimizer.step()`` with the weight gradients, optimizer state and weights going through storage.

        Each data type's tensors are handled as one concatenated range of bits (:class:`_Ranges`): per data type
        one draw, and work only in the tensors that a failing bit falls in. The tensors of a data type with errors
        in a format without a per-tensor context are moved into one :class:`FlatBlock` per data type (weights and
        state once; gradients copied in each step that expects ``FLAT_GRADS_MIN`` positions): then a data type's
        flips are one numpy call on the block, whichever tensors they fall in."""
        params = [p for grp in optimizer.param_groups for p in grp["params"] if p.grad is not None]
        if self._on[_WG]:
            for p in params:  # gradients do not require grad: no autograd bookkeeping here
                if not p.grad.is_contiguous():
                    p.grad = p.grad.contiguous()
            grads = [p.grad for p in params]
            g = _Ranges(grads, self.codecs[_WG].bits)
            # gradients are new tensors in every step: copying them into the block pays only for enough flips
            if self._expected_positions(_WG, g.bits) >= FLAT_GRADS_MIN:
                gb = self._block(_WG, grads, functools.partial(_bind_grads, params))
                if gb is not None:
                    g = _Ranges(gb.views, self.codecs[_WG].bits, gb)
            self._write_all_(_WG, "grad", g)
            self._read_all_(_WG, g)
        if self._on[_OPT]:
            state = optimizer.state
            keys, fresh = self._state_keys(optimizer, params)
            bufs = [state[p][k] for p, k in keys]
            sb = self._block(_OPT, bufs, functools.partial(_bind_state, state, keys))
            s = _Ranges(sb.views if sb else bufs, self.codecs[_OPT].bits, sb)
            pre_s = self._before_update(_OPT, s)
            self._read_all_(_OPT, s)  # optimizer buffers do not require grad
        if self._on[_WGT]:
            # updated in place under no_grad, like the optimizer
            w = _Ranges(params, self.codecs[_WGT].bits,
                        self._block(_WGT, params, functools.partial(self._bind_weights, params)))
            pre_w = self._before_update(_WGT, w)
        optimizer.step()
        if self._on[_WGT]:
            self._after_update(_WGT, w, pre_w)
        if self._on[_OPT]:
            s.tensors = [state[p][k] for p, k in keys]
            self._after_update(_OPT, s, pre_s)
            names = names or {}
            for p in fresh:  # state created by this step (first step): written over a cleared buffer
                for k, buf in sorted(state.get(p, {}).items()):
                    if torch.is_tensor(buf) and buf.is_floating_point() and buf.dim() > 0:
                        with torch.no_grad():
                            buf.copy_(self.write(_OPT, f"{names.get(id(p), 'p')}.{k}.init", buf))
