"""Hook points: where in a training step each data type is written to and read from the scratchpad.

=================  =====================================================  ==========================================
data type          written (write errors)                                 read (read errors, transient)
=================  =====================================================  ==========================================
activation         when autograd saves a layer's input for backward       each time backward unpacks it
                   (``torch.autograd.graph.saved_tensors_hooks``, pack)   (unpack)
weight             after every optimizer step (old word = value before)    every forward read by conv/linear/bn
error              when a layer's output gradient is produced (tensor     right after, as the next layer back reads
                   hook on every node's output)                           it
weight_gradient    after backward, before the optimizer step               when the optimizer reads it
optimizer_state    by the optimizer step (old word = value before)         when the optimizer step reads it
=================  =====================================================  ==========================================

Parameters that autograd saves (a conv saves its weight) are not activations and are skipped by the activation
hook; so are integer tensors (max-pool indices) and tensors of fewer than two dimensions (BN statistics).
A tensor saved by several ops (a ReLU output that the next conv saves too) is stored once.
"""
from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass

import torch

from archsim.datatypes import ALL_DATATYPES, DataType

from .formats import Codec, codec
from .inject import (_EMPTY, BitStream, Candidates, DirectionalOutcome, apply_flips_, flip_positions,
                     resolve_directional)
from .policy import DataTypeErrors, ErrorPolicy


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


class Injector:
    """Binds an :class:`ErrorPolicy` to a model and an optimizer for training, with one seeded CPU generator per
    data type (switching one data type on or off does not change the masks of another)."""

    def __init__(self, policy: ErrorPolicy, seed: int = 0):
        self.policy = policy
        self.seed = seed
        self.models: dict[DataType, DataTypeErrors] = {dt: policy.get(dt) for dt in ALL_DATATYPES}
        self.codecs: dict[DataType, Codec] = {dt: codec(m.format, m.int8_scale) for dt, m in self.models.items()}
        self.gens = {dt: torch.Generator().manual_seed(_seed(seed, i)) for i, dt in enumerate(ALL_DATATYPES)}
        self.stats: dict[DataType, FlipStats] = {dt: FlipStats() for dt in ALL_DATATYPES}
        # one Bernoulli stream per data type and access kind, over all the bits that data type reads / writes
        self.read_streams = {dt: BitStream(m.read_ber if m.reads else 0.0, self.gens[dt])
                             for dt, m in self.models.items()}
        self.write_streams = {dt: BitStream(0.0 if not m.writes else m.write_ber if m.write_model == "symmetric"
                                            else max(m.write_ber_0to1, m.write_ber_1to0), self.gens[dt])
                              for dt, m in self.models.items()}
        self._prev: dict[tuple[DataType, str], tuple[int, Candidates, torch.Tensor]] = {}
        self._model = None
        self._param_ids: set[int] = set()
        self._param_ptrs: set[int] = set()
        self._saved: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._pack_count = 0

    # -- wiring ----------------------------------------------------------------------------------------------
    def attach(self, model) -> "Injector":
        self._model = model
        model.injector = self
        self._param_ids = {id(p) for p in model.parameters()}
        self._param_ptrs = {p.data_ptr() for p in model.parameters()}
        return self

    def detach(self) -> None:
        if self._model is not None:
            self._model.injector = None
        self._model = None

    def active(self, dt: DataType) -> bool:
        return self.models[dt].active

    @property
    def reads_weights(self) -> bool:
        return self.models[DataType.WEIGHT].reads

    def summary(self) -> dict:
        return {dt.value: self.stats[dt].as_dict() for dt in ALL_DATATYPES}

    # -- generic write / read --------------------------------------------------------------------------------
    def _store(self, dt: DataType, x: torch.Tensor) -> torch.Tensor:
        m = self.models[dt]
        if m.emulate_storage and m.format != "fp32":
            return self.codecs[dt].round_trip(x)
        return x

    def read(self, dt: DataType, x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        """``x`` as read back: each bit flipped with the read rate (``x`` itself when no bit flips)."""
        m = self.models[dt]
        if not m.reads:
            return x
        c = self.codecs[dt]
        self.stats[dt].words_read += x.numel()
        pos = self.read_streams[dt].take(x.numel() * c.bits)
        if pos.numel() == 0:
            return x
        y, fs = flip_positions(x if inplace else x.detach(), pos, c, inplace=inplace)
        self.stats[dt].read_flips += fs.n_bits
        return y

    def _old_words(self, dt: DataType, key: str, n: int) -> tuple[Candidates, torch.Tensor]:
        m, c, g = self.models[dt], self.codecs[dt], self.gens[dt]
        prev = self._prev.get((dt, key))
        if prev is not None and prev[0] == n:
            return prev[1], prev[2]
        cand = self._candidates(dt, n)
        if not len(cand):
            return cand, _EMPTY
        if self.policy.fresh_old_contents == "random":
            old = torch.randint(0, 1 << c.bits, (len(cand),), generator=g, dtype=torch.int64)
        else:  # "zeros", and the first write of a "previous" buffer (buffers start cleared)
            old = torch.zeros(len(cand), dtype=torch.int64)
        return cand, old

    def _candidates(self, dt: DataType, n_words: int) -> Candidates:
        m, c = self.models[dt], self.codecs[dt]
        return Candidates.at(self.write_streams[dt].take(n_words * c.bits), c.bits, m.write_ber_0to1,
                             m.write_ber_1to0)

    def write(self, dt: DataType, key: str, new: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        """What storage holds after a fresh write of ``new`` under ``key`` (a copy unless ``inplace``)."""
        m = self.models[dt]
        new = self._store(dt, new)
        if not m.writes:
            return new
        c, g, st = self.codecs[dt], self.gens[dt], self.stats[dt]
        st.words_written += new.numel()
        if m.write_model == "symmetric":
            y, fs = flip_positions(new if inplace else new.detach(), self.write_streams[dt].take(new.numel() * c.bits),
                                   c, inplace=inplace)
            st.write_flips += fs.n_bits
            return y
        cand, old = self._old_words(dt, key, new.numel())
        y = self._resolve(dt, cand, old, new, inplace)
        if self.policy.fresh_old_contents == "previous":  # draw the next write's candidates now, keep their words
            nxt = self._candidates(dt, y.numel())
            words = c.encode(y.detach().reshape(-1)[nxt.word], c.context(y)) if len(nxt) else _EMPTY
            self._prev[(dt, key)] = (y.numel(), nxt, words)
        return y

    def _resolve(self, dt: DataType, cand: Candidates, old_words: torch.Tensor, new: torch.Tensor,
                 inplace: bool) -> torch.Tensor:
        if len(cand) == 0:
            return new
        c, st = self.codecs[dt], self.stats[dt]
        ctx = c.context(new)
        out: DirectionalOutcome = resolve_directional(cand, old_words, c.encode(new.detach().reshape(-1)[cand.word],
                                                                                 ctx), self.gens[dt])
        st.write_flips += out.flips_0to1 + out.flips_1to0
        st.write_flips_0to1 += out.flips_0to1
        st.write_flips_1to0 += out.flips_1to0
        if out.flips.n_words == 0:
            return new
        y = new if inplace else new.detach().clone(memory_format=torch.contiguous_format)
        return apply_flips_(y, out.flips, c, ctx)

    def _before_inplace_write(self, dt: DataType, t: torch.Tensor) -> tuple[Candidates, torch.Tensor] | None:
        """Candidates of the coming in-place update of ``t`` and their current (old) words."""
        m, c = self.models[dt], self.codecs[dt]
        if not m.writes:
            return None
        if m.write_model == "symmetric":
            return Candidates(_EMPTY, _EMPTY, 0.0, 0.0)
        cand = self._candidates(dt, t.numel())
        old = c.encode(t.detach().reshape(-1)[cand.word], c.context(t)) if len(cand) else _EMPTY
        return cand, old

    def _after_inplace_write(self, dt: DataType, t: torch.Tensor, pre) -> None:
        m = self.models[dt]
        if m.emulate_storage and m.format != "fp32":
            with torch.no_grad():
                t.copy_(self.codecs[dt].round_trip(t))
        if pre is None:
            return
        self.stats[dt].words_written += t.numel()
        if m.write_model == "symmetric":
            c = self.codecs[dt]
            pos = self.write_streams[dt].take(t.numel() * c.bits)
            if pos.numel():
                with torch.no_grad():
                    _, fs = flip_positions(t, pos, c, inplace=True)
                self.stats[dt].write_flips += fs.n_bits
        elif len(pre[0]):
            with torch.no_grad():
                self._resolve(dt, pre[0], pre[1], t, inplace=True)

    # -- activations -----------------------------------------------------------------------------------------
    def _is_activation(self, t: torch.Tensor) -> bool:
        if not t.is_floating_point() or t.dim() < 2:
            return False
        if id(t) in self._param_ids or (t.data_ptr() in self._param_ptrs):
            return False
        return True

    def _pack(self, t: torch.Tensor):
        if not self._is_activation(t):
            return t
        hit = self._saved.get(id(t))
        if hit is not None and hit[0] is t:
            return hit[1]
        stored = self.write(DataType.ACTIVATION, f"act{self._pack_count}",
                            t.detach().contiguous() if not t.is_contiguous() else t.detach())
        self._pack_count += 1
        self._saved[id(t)] = (t, stored)
        return stored

    def _unpack(self, t: torch.Tensor) -> torch.Tensor:
        if not self._is_activation(t):
            return t
        return self.read(DataType.ACTIVATION, t)

    @contextlib.contextmanager
    def forward(self):
        """Context for a training forward pass: stores saved activations through the error model."""
        self._saved.clear()
        self._pack_count = 0
        if not self.active(DataType.ACTIVATION):
            yield
            return
        with torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack):
            yield
        self._saved.clear()  # the stored copies stay alive in the graph; the map was only for de-duplication

    # -- weights (reads), errors -----------------------------------------------------------------------------
    def read_weight(self, name: str, w: torch.Tensor) -> torch.Tensor:
        m = self.models[DataType.WEIGHT]
        if not m.reads or self._model is None or not self._model.training:
            return w
        c = self.codecs[DataType.WEIGHT]
        self.stats[DataType.WEIGHT].words_read += w.numel()
        pos = self.read_streams[DataType.WEIGHT].take(w.numel() * c.bits)
        if pos.numel() == 0:
            return w
        y = w.clone()  # differentiable copy: gradients reach the stored weight, the compute sees the read errors
        with torch.no_grad():
            _, fs = flip_positions(y, pos, c, inplace=True)
        self.stats[DataType.WEIGHT].read_flips += fs.n_bits
        return y

    def watch_error(self, name: str, y: torch.Tensor) -> None:
        if self.active(DataType.ERROR):
            y.register_hook(lambda g, _n=name: self._error(_n, g))

    def _error(self, name: str, g: torch.Tensor) -> torch.Tensor | None:
        g2 = self.write(DataType.ERROR, name, g.contiguous())
        g2 = self.read(DataType.ERROR, g2)
        return None if g2 is g else g2

    # -- the optimizer step: weight gradients, optimizer state, weights ---------------------------------------
    def step(self, optimizer: torch.optim.Optimizer, names: dict[int, str] | None = None) -> None:
        """``optimizer.step()`` with the weight gradients, optimizer state and weights going through storage."""
        names = names or {}
        params = [p for grp in optimizer.param_groups for p in grp["params"] if p.grad is not None]
        wg, st, wt = DataType.WEIGHT_GRADIENT, DataType.OPTIMIZER_STATE, DataType.WEIGHT
        if self.active(wg):
            for i, p in enumerate(params):  # gradients do not require grad: no autograd bookkeeping here
                g = p.grad if p.grad.is_contiguous() else p.grad.contiguous()
                g = self.write(wg, names.get(id(p), f"p{i}"), g, inplace=True)
                p.grad = self.read(wg, g, inplace=True)
        pre_state = []
        if self.active(st):
            for p in params:
                for k, buf in sorted(optimizer.state.get(p, {}).items()):
                    if torch.is_tensor(buf) and buf.is_floating_point() and buf.dim() > 0:
                        pre = self._before_inplace_write(st, buf)
                        self.read(st, buf, inplace=True)  # optimizer buffers do not require grad
                        pre_state.append((p, k, pre))
        pre_w = [(p, self._before_inplace_write(wt, p)) for p in params] if self.active(wt) else []
        had_state = {id(p) for p in params if optimizer.state.get(p)}
        optimizer.step()
        for p, pre in pre_w:
            self._after_inplace_write(wt, p.data, pre)
        if self.active(st):
            for p, k, pre in pre_state:
                self._after_inplace_write(st, optimizer.state[p][k], pre)
            for p in params:  # state created by this step (first step): written over a cleared buffer
                if id(p) in had_state:
                    continue
                for k, buf in sorted(optimizer.state.get(p, {}).items()):
                    if torch.is_tensor(buf) and buf.is_floating_point() and buf.dim() > 0:
                        with torch.no_grad():
                            buf.copy_(self.write(st, f"{names.get(id(p), 'p')}.{k}.init", buf))
