"""Hook points: where in a training step each data type is written to and read from the scratchpad.

=================  =====================================================  ==========================================
data type          written (write errors)                                 read (read errors, transient)
=================  =====================================================  ==========================================
activation         when autograd saves a layer's input for backward       each time backward unpacks it
                   (``torch.autograd.graph.saved_tensors_hooks``, pack)   (unpack)
weight             after every optimizer step (old word = value before)    every forward read by conv/linear/bn
error              when a layer's output gradient is produced (a hook    right after, as the next layer back reads
                   on every node's output, as ``register_hook``'s)        it
weight_gradient    after backward, before the optimizer step               when the optimizer reads it
optimizer_state    by the optimizer step (old word = value before)         when the optimizer step reads it
=================  =====================================================  ==========================================

Parameters that autograd saves (a conv saves its weight, or the copy of it that carries read errors) are not
activations and are skipped by the activation hook; so are integer tensors (max-pool indices) and tensors of fewer
than two dimensions (BN statistics). A tensor saved by several ops (a ReLU output that the next conv saves too) is
stored once, and read once per op that saved it; the last of those reads is done in place where nothing else holds
the stored tensor or its memory and the backward pass frees the graph (no ``retain_graph``). An error that nothing
but its hook holds is written and read in place, others in a copy. In the
optimizer step, all tensors of one data type (every weight, every gradient, every state buffer) are one run of
stored bits (:class:`_Segments`): one call of the compiled core per data type and access.

Work that nothing needs at once runs on the compiled core's worker thread (``_bitflip_worker.h``; see
:class:`Injector`): the same calls in the same order on each stream, so the same bits.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
from dataclasses import asdict, dataclass

import torch

from archsim.cpus import usable_cpus
from archsim.datatypes import ALL_DATATYPES, DataType

from .formats import Codec, codec
from .inject import (KEEP_RESTORED, OLD_MODE, Slot, as_words, every_bit_stream, scale_of, stream_seed, through_core,
                     write_stream)
from .policy import DataTypeErrors, ErrorPolicy

_ACT, _WGT, _ERR = DataType.ACTIVATION, DataType.WEIGHT, DataType.ERROR
_WG, _OPT = DataType.WEIGHT_GRADIENT, DataType.OPTIMIZER_STATE
#: the access kinds, as keys of the per-stream seeds
_READ, _WRITE = 0, 1
_F32 = torch.float32
#: expected directional candidates in a tensor from which a fresh write makes its copy before the core resolves it:
#: below, most writes fail nowhere and need no copy; above, asking the core first (no destination, answer -1: call
#: again with one) would resolve the candidates twice for the copy that is nearly always needed
COPY_FIRST = 1.0
#: expected directional candidates (or failing bits, symmetric) per stored word from which a port's activation
#: writes, and the optimizer step's, run on the core's worker thread (``Stream.write_later``): below, nearly every
#: write finds no failing bit in one comparison, cheaper than handing it over
ASYNC_CANDIDATES = 0.01
#: expected directional candidates in an error from which its write in place leaves the capture of its buffer's next
#: old contents to the core's worker thread (``Stream.write`` with ``hold``): below, the capture (about 4 ns a
#: candidate) is cheaper than handing it over and having the next write wait for it
DEFER_CANDIDATES = 4096
#: every-bit rate from which a stream's failing positions are drawn ahead by the worker thread (``Stream.prefetch``),
#: and the ring they are drawn into (positions; for the errors' dense writes, groups of four Bernoulli words): below,
#: a step draws a few thousand positions at most
PREFETCH_RATE = 1e-4
PREFETCH_RING = 1 << 16


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


def _same(x):
    return x


def _last_read(x: torch.Tensor) -> bool:
    """Whether the stored activation ``x``, at the last unpack of the saves that share it, may take its read errors
    in place: nothing but its pack holds the tensor (one reference) or its memory (two: the tensor and the storage
    object asked for here; the forward pass's own tensor, a view of it, or a caller's input would add one), and
    this backward pass frees the graph as it goes (no ``retain_graph``, which would unpack it again; outside a
    backward pass, as when code reads a node's saved tensor, torch answers that the graph is kept)."""
    return (x._use_count() == 1 and torch._C._storage_Use_Count(x.untyped_storage()._cdata) == 2
            and not torch._C._autograd._get_current_graph_task_keep_graph())


def _sole(g: torch.Tensor) -> bool:
    """Whether the gradient ``g`` that autograd hands a hook is held by nothing else: its tensor only by the engine's
    call and the hook's argument (two references), its memory by no other tensor (two: the tensor and the storage
    object asked for here). Then the hook may change it in place, as autograd itself does, by the same test, when it
    sums two gradients (``InputBuffer``). A gradient that goes to several places (an addition hands the same one to
    both inputs) or shares its memory (a view, as a flatten's) fails it and is copied."""
    return g._use_count() == 2 and torch._C._storage_Use_Count(g.untyped_storage()._cdata) == 2


class _Segments:
    """Several float32 tensors of one data type (the optimizer step's weights, gradients or state buffers) as one
    run of stored bits for the core: their data pointers, sizes and int8 scales. One call covers them all, so each
    bit still fails independently at its rate and no Python runs per tensor that holds no failing bit. Tensors that
    are not contiguous CPU float32 are worked on through a contiguous copy that :meth:`done` writes back."""

    def __init__(self, tensors: list[torch.Tensor], c: Codec):
        self.tensors = tensors
        plain = all(t.dtype is _F32 and t.is_contiguous() and t.is_cpu for t in tensors)
        self.mem = tensors if plain else [as_words(t) for t in tensors]
        self.copies = not plain
        self.ptrs = [m.data_ptr() for m in self.mem]
        self.ns = [m.numel() for m in self.mem]
        self.words = sum(self.ns)
        self.scales = [scale_of(c, m) for m in self.mem] if c.name == "int8" else None

    def identity(self) -> tuple:
        """What tells that the tensors hold what they held: the same memory, sizes and version counters (torch
        counts every in-place change of a tensor through it, the optimizer's included; the core's writes go past the
        counters, but those are the writes whose result a slot keeps). A change through memory that torch does not
        see (a NumPy view of a parameter, a raw pointer) is not counted: such code should ``detach`` and ``attach``
        the injector, or the next step keeps the old words of before it."""
        return tuple(self.ptrs), tuple(self.ns), tuple(t._version for t in self.tensors)

    def done(self) -> None:
        """Write the copies back to the tensors that were not contiguous float32."""
        if self.copies:
            with torch.no_grad():
                for t, m in zip(self.tensors, self.mem):
                    if m.data_ptr() != t.data_ptr():
                        t.copy_(m)


class _Pending:
    """A stored activation whose write the worker thread runs (a ``Ticket`` of the core): the written tensor and
    the copy the core writes into."""

    __slots__ = ("ticket", "new", "copy")

    def __init__(self, ticket, new: torch.Tensor, copy: torch.Tensor):
        self.ticket, self.new, self.copy = ticket, new, copy

    def result(self) -> torch.Tensor:
        """What storage holds: the copy where some bit failed, else ``new`` itself, as :meth:`_Port.write`
        returns."""
        y = self.copy if self.ticket.wait() else self.new
        self.new = self.copy = None
        return y


class _Port:
    """The storage of one data type: its write and read streams (None where that access has no errors), format,
    counters and buffers, and the write and the read of one tensor (:meth:`Injector.write`, :meth:`Injector.read`).
    Those two run several hundred times a training step (every saved activation and every error), so each
    per-data-type choice is made here once, and the common tensor -- contiguous CPU float32 words without an int8
    scale -- goes to the core directly, as :func:`through_core` would pass it (the others go through that)."""

    __slots__ = ("ws", "rs", "codec", "stats", "slots", "kept", "sym", "emulate", "old", "keep", "cand", "dense",
                 "int8", "plain", "tickets", "queues_writes", "defers", "defer")

    def __init__(self, ws, rs, c: Codec, m: DataTypeErrors, old: int, keep: bool):
        self.ws, self.rs, self.codec, self.stats = ws, rs, c, FlipStats()
        self.slots: dict = {}  # buffer key -> what the buffer held before its next write (directional errors)
        # buffer key -> the identity (_Segments.identity) of the tensors whose in-place update's write left in the
        # slot what capture() would keep of them (KEEP_RESTORED)
        self.kept: dict = {}
        self.sym = m.write_model == "symmetric"
        self.emulate = m.emulate_storage and m.format != "fp32"
        self.old, self.keep = old, keep
        # expected directional candidates per stored word (the write stream's rate times the word's bits)
        self.cand = ws.p * c.bits if ws is not None else 0.0
        # whether its writes are worth handing to the worker thread where a core is spare (ASYNC_CANDIDATES)
        self.queues_writes = ws is not None and self.cand >= ASYNC_CANDIDATES
        self.dense = ws is not None and ws.dense
        self.int8 = c.name == "int8"  # words with a per-tensor scale
        self.plain = not (self.int8 or self.emulate)  # float32 words go to the core as they are
        self.tickets: list = []  # writes given to the worker thread whose flips are not yet counted
        # whether a write in place (store_) may leave the capture of the buffer's old contents for its next write
        # to the worker thread (a sparse directional stream that keeps them, with candidates worth it); ``defer``:
        # whether it does now, where a core is spare (Injector.forward)
        self.defers = self.queues_writes and not self.sym and not self.dense and bool(keep)
        self.defer = False

    def settle(self) -> None:
        """Wait for the writes given to the worker thread, and count their flips; let go of the tensor whose
        capture it ran last."""
        if self.defer:
            self.ws.wait()
        if self.tickets:
            for t in self.tickets:
                self.count_write(t.wait(), t)
            self.tickets.clear()

    def later(self, key, new: torch.Tensor) -> "_Pending | torch.Tensor":
        """A fresh write of ``new`` (as :meth:`write`) run by the worker: what storage holds comes from
        :meth:`_Pending.result`. Words that are not contiguous CPU float32, or int8 words (a scale to compute),
        are written here and now."""
        if self.int8 or new.dtype is not _F32 or not new.is_contiguous() or not new.is_cpu:
            return self.write(key, new)
        if self.emulate:  # (the rounding keeps contiguous CPU float32 words so)
            new = self.codec.round_trip(new)
        n = new.numel()
        self.stats.words_written += n
        c = torch.empty_like(new)
        hold = (new, c)
        t = (self.ws.flip_later(new.data_ptr(), c.data_ptr(), n, None, hold) if self.sym else
             self.ws.write_later(self.slot(key), new.data_ptr(), c.data_ptr(), n, None, self.old, self.keep, hold))
        self.tickets.append(t)
        return _Pending(t, new, c)

    def update_keep(self, seg: _Segments) -> int | bool:
        """The ``keep`` for the write of an in-place update of ``seg``: ``KEEP_RESTORED`` (the slot then holds what
        the next update's capture would keep) for a dense directional stream, whose capture copies every word, over
        tensors the core writes directly and with no int8 scale (the next capture's scale comes from the values
        then); else False."""
        return (KEEP_RESTORED if self.ws is not None and not self.sym and self.dense and not self.int8
                and not seg.copies else False)

    def slot(self, key) -> Slot:
        s = self.slots.get(key)
        if s is None:
            s = self.slots[key] = Slot()
        return s

    def count_write(self, k: int, by=None) -> None:
        """Count the ``k`` flipped bits of a write; a directional one's failed switches by direction come from
        ``by`` (the worker's ``Ticket`` of it), else from the write stream after its last call."""
        st = self.stats
        st.write_flips += k
        if k and not self.sym:
            by = self.ws if by is None else by
            st.write_flips_0to1 += by.n01
            st.write_flips_1to0 += by.n10

    def read(self, x: torch.Tensor, inplace: bool = False, mine=None) -> torch.Tensor:
        """``x`` as read back: in place if ``inplace``, or if some bit fails and ``mine(x)`` says that nothing else
        will see its memory (on the plain float32 path asked only when some bit fails; other tensors go through
        :func:`through_core`, which is told beforehand); else in a copy where some bit fails, and ``x`` itself where
        none."""
        rs = self.rs
        if rs is None:
            return x
        n = x.numel()
        self.stats.words_read += n
        if self.int8 or x.dtype is not _F32 or not x.is_contiguous() or not x.is_cpu:
            x, k = through_core(x, self.codec, rs.flip, inplace=inplace or (mine is not None and mine(x)))
        else:  # through_core's path for plain float32 words, spelled out: it runs hundreds of times a step
            p = x.data_ptr()
            k = rs.flip(p, p if inplace else None, n, None)
            if k < 0:  # some bit fails: in place where x is the reader's alone, else into a copy
                if mine is not None and mine(x):
                    k = rs.flip(p, p, n, None)
                else:
                    y = torch.empty_like(x)
                    k = rs.flip(p, y.data_ptr(), n, None)
                    x = y
        if k:
            self.stats.read_flips += k
        return x

    def store_(self, key, x: torch.Tensor) -> None:
        """:meth:`write` and then :meth:`read` of ``x`` in place, for contiguous CPU float32 words of a plain port:
        the same calls of the core, with none of the checks (an error, twice a layer a backward pass).

        With ``defer``, the write leaves the capture of what the buffer's next write overwrites to the worker
        thread, which reads ``x`` while the next layer back computes (the stream's next call waits for it); a read
        error that would change ``x`` before then waits for it first. The same bits as without."""
        ws, rs, st = self.ws, self.rs, self.stats
        n, p = x.numel(), x.data_ptr()
        defer = self.defer and n * self.cand >= DEFER_CANDIDATES
        if ws is not None:
            st.words_written += n
            self.count_write(ws.flip(p, p, n, None) if self.sym
                             else ws.write(self.slot(key), p, p, n, None, self.old, self.keep, x) if defer
                             else ws.write(self.slot(key), p, p, n, None, self.old, self.keep))
        if rs is not None:
            st.words_read += n
            if defer:
                k = rs.flip(p, None, n, None)  # -1: some bit fails, nothing drawn yet
                if k < 0:
                    ws.wait()
                    k = rs.flip(p, p, n, None)
                st.read_flips += k
            else:
                st.read_flips += rs.flip(p, p, n, None)

    def write(self, key, new: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        if self.emulate:
            new = self.codec.round_trip(new)
        ws = self.ws
        if ws is None:
            return new
        n = new.numel()
        self.stats.words_written += n
        if self.sym:
            y, k = through_core(new, self.codec, ws.flip, inplace=inplace)
            self.count_write(k)
            return y
        copy_first = self.dense or n * self.cand >= COPY_FIRST
        if self.int8 or inplace or new.dtype is not _F32 or not new.is_contiguous() or not new.is_cpu:
            y, k = through_core(new, self.codec, ws.write, self.slot(key), tail=(self.old, self.keep),
                                inplace=inplace, copy_first=copy_first)
        else:  # through_core for a fresh directional write of plain float32 words, spelled out (as in read)
            p, y, k = new.data_ptr(), new, -1
            if not copy_first:
                k = ws.write(self.slot(key), p, None, n, None, self.old, self.keep)
            if k < 0:  # a copy first (dense, or candidates expected), or some bit failed
                c = torch.empty_like(new)
                k = ws.write(self.slot(key), p, c.data_ptr(), n, None, self.old, self.keep)
                if k:
                    y = c
        self.count_write(k)
        return y


class Injector:
    """Binds an :class:`ErrorPolicy` to a model and an optimizer for training, with one seeded stream per data type
    and access kind (switching one data type on or off does not change the errors of another).

    Every hook starts with the cheapest test that can end it: a data type without reads or writes has no stream
    (``None``), and a tensor whose bits hold no failing position costs one call of the core that compares it with
    the stream's next failing bit. Only an *event* -- a tensor in which some bit fails -- copies the tensor (for a
    fresh write or a read; the value the forward pass used must stay as it was) and flips the failing bits.

    With ``thread``, and a core that neither this thread nor torch's own threads use (:meth:`_spare_core`, asked at
    each forward pass and optimizer step), the work that nothing needs at once runs on the compiled core's worker
    thread (``Stream.write_later``) where a port expects failing bits (``ASYNC_CANDIDATES``): a stored activation's
    write, until backward unpacks it; in the optimizer step, the gradients' write and read while this thread keeps
    the state's and the weights' old contents, and the weights' write while this thread writes the state. Every-bit
    streams from ``PREFETCH_RATE`` have their positions drawn ahead by it, and the errors' dense write stream its
    bit-parallel directions' Bernoulli words. The bits are the same either way (each stream's calls keep their
    order, and what is drawn ahead is drawn in order).
    """

    def __init__(self, policy: ErrorPolicy, seed: int = 0, thread: bool = True):
        self.policy = policy
        self.seed = seed
        # the core's worker thread for work that nothing needs at once, where this process may use a second core
        # (and, step by step, where torch's own threads leave it one: _spare_core)
        self._cpus = usable_cpus()
        self.thread = thread and self._cpus >= 2
        self._prefetch: list = []  # every-bit streams whose positions the worker is to draw ahead (once it may)
        self.models: dict[DataType, DataTypeErrors] = {dt: policy.get(dt) for dt in ALL_DATATYPES}
        self.codecs: dict[DataType, Codec] = {dt: codec(m.format, m.int8_scale) for dt, m in self.models.items()}
        # one Bernoulli stream per data type and access kind, over all the bits that data type reads / writes
        # (None where that access has no errors), kept by the data type's port
        old, keep = OLD_MODE[policy.fresh_old_contents], policy.fresh_old_contents == "previous"
        self._ports: dict[DataType, _Port] = {}
        for i, (dt, m) in enumerate(self.models.items()):
            c = self.codecs[dt]
            rs = every_bit_stream(stream_seed(seed, i, _READ), m.read_ber, c) if m.reads else None
            ws = None
            if m.writes:
                ws = (every_bit_stream(stream_seed(seed, i, _WRITE), m.write_ber, c) if m.write_model == "symmetric"
                      else write_stream(stream_seed(seed, i, _WRITE), m.write_ber_0to1, m.write_ber_1to0, c))
            self._ports[dt] = _Port(ws, rs, c, m, old, keep)
            if self.thread:  # every-bit streams: the worker draws their positions ahead, the calls apply them
                self._prefetch += [s for s in (rs, ws if m.write_model == "symmetric" else None)
                                   if s is not None and s.p >= PREFETCH_RATE]
                # the errors' dense writes stay on the training thread (the layer below reads them at once): the
                # worker draws their bit-parallel Bernoulli words ahead, the writes take them
                if dt is _ERR and ws is not None and any(ws.bit_parallel):  # (every-bit streams: none)
                    self._prefetch.append(ws)
        self._stats: dict[DataType, FlipStats] = {dt: port.stats for dt, port in self._ports.items()}
        self._on = {dt: m.active for dt, m in self.models.items()}
        self._model = None
        self._param_ptrs: set[int] = set()
        self._not_act: set[int] = set()
        self._saved: dict[int, tuple[torch.Tensor, object]] = {}
        self._keys_sig: tuple | None = None
        self._keys: list = []
        self._fresh: list = []

    # -- wiring ----------------------------------------------------------------------------------------------
    def attach(self, model) -> "Injector":
        if any(not p.is_cpu for p in model.parameters()):
            raise ValueError("the accuracy harness injects into CPU tensors: keep the model on the CPU")
        self._model = model
        model.injector = self
        self._param_ptrs = {p.data_ptr() for p in model.parameters()}
        self._forget_kept()  # another model's tensors may come to lie where the last one's were
        return self

    def detach(self) -> None:
        if self._model is not None:
            self._model.injector = None
        self._model = None
        self._forget_kept()

    def _forget_kept(self) -> None:
        for port in self._ports.values():
            port.kept.clear()

    def active(self, dt: DataType) -> bool:
        return self._on[dt]

    @property
    def reads_weights(self) -> bool:
        return self._ports[_WGT].rs is not None

    def sync(self) -> None:
        """Wait for the writes given to the worker thread (their flips are then counted)."""
        for port in self._ports.values():
            port.settle()

    @property
    def stats(self) -> dict[DataType, FlipStats]:
        """The counters of each data type, with every write given to the worker done."""
        self.sync()
        return self._stats

    def summary(self) -> dict:
        stats = self.stats
        return {dt.value: stats[dt].as_dict() for dt in ALL_DATATYPES}

    # -- one tensor ------------------------------------------------------------------------------------------
    def read(self, dt: DataType, x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        """``x`` as read back: each bit flipped with the read rate (``x`` itself when no bit flips)."""
        return self._ports[dt].read(x, inplace)

    def write(self, dt: DataType, key, new: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        """What storage holds after a fresh write of ``new`` under ``key`` (a copy unless ``inplace``; ``new``
        itself where no bit fails). With directional errors the old contents are the buffer's previous write
        (``fresh_old_contents="previous"``, cleared before the first), zeros, or random bits."""
        return self._ports[dt].write(key, new, inplace)

    # -- several tensors at once (the optimizer step) ---------------------------------------------------------
    def _round_trip_(self, dt: DataType, tensors: list[torch.Tensor]) -> None:
        if self._ports[dt].emulate:
            with torch.no_grad():
                for t in tensors:
                    t.copy_(self.codecs[dt].round_trip(t))

    def _read_all_(self, dt: DataType, seg: _Segments) -> None:
        """Read errors of every tensor of ``seg``, in place (the optimizer uses what it reads)."""
        port = self._ports[dt]
        if port.rs is None:
            return
        port.stats.words_read += seg.words
        port.stats.read_flips += port.rs.flip(seg.ptrs, seg.ptrs, seg.ns, seg.scales)
        seg.done()

    def _write_all_(self, dt: DataType, key, seg: _Segments, old: int | None = None, keep: bool | None = None
                    ) -> None:
        """A write of every tensor of ``seg`` (in place) as one buffer ``key``: fresh (old contents as in
        :meth:`write`), or with ``old=0, keep=False`` an in-place update over what :meth:`_before_update` kept."""
        self._round_trip_(dt, seg.tensors)
        port = self._ports[dt]
        if port.ws is None:
            return
        port.count_write(self._seg_write(port, key, seg, old, keep, later=False))
        seg.done()

    @staticmethod
    def _seg_write(port: _Port, key, seg: _Segments, old: int | None, keep: bool | None, later: bool):
        """The core's write of every tensor of ``seg`` in place through ``port``'s write stream, as one buffer
        ``key`` (old contents as :meth:`_write_all_` says): its answer, or with ``later`` its worker ``Ticket``."""
        ws = port.ws
        port.stats.words_written += seg.words
        args = (seg.ptrs, seg.ptrs, seg.ns, seg.scales)
        if port.sym:
            return ws.flip_later(*args, seg.mem) if later else ws.flip(*args)
        keep = port.keep if keep is None else keep
        if keep == KEEP_RESTORED:  # for _before_update's test (the tensors are as the write finds them)
            port.kept[key] = seg.identity()
        args = (port.slot(key), *args, port.old if old is None else old, keep)
        return ws.write_later(*args, seg.mem) if later else ws.write(*args)

    def _later_all_(self, dt: DataType, key, seg: _Segments, spare: bool, write: bool = True, read: bool = False,
                    old: int | None = None, keep: bool | None = None) -> list | None:
        """:meth:`_write_all_` (if ``write``) and then :meth:`_read_all_` (if ``read``) of ``seg``, run by the
        worker thread while this one goes on; :meth:`_finish_` waits for them. The same calls in the same order on
        each stream as the methods they stand for: the same bits. Without a ``spare`` core, or where the port expects
        few failing bits (below ``ASYNC_CANDIDATES`` a word, the core's one comparison), those methods, here."""
        port = self._ports[dt]
        if not spare or not ((write and port.queues_writes) or
                             (read and port.rs is not None and port.rs.p * port.codec.bits >= ASYNC_CANDIDATES)):
            if write:
                self._write_all_(dt, key, seg, old, keep)
            if read:
                self._read_all_(dt, seg)
            return None
        jobs = []
        if write:
            self._round_trip_(dt, seg.tensors)
            if port.ws is not None:
                jobs.append((True, self._seg_write(port, key, seg, old, keep, later=True)))
        if read and port.rs is not None:
            port.stats.words_read += seg.words
            jobs.append((False, port.rs.flip_later(seg.ptrs, seg.ptrs, seg.ns, seg.scales, seg.mem)))
        return jobs

    def _finish_(self, dt: DataType, seg: _Segments, jobs: list | None) -> None:
        """Wait for the jobs of :meth:`_later_all_`, count their flips, and write back the copies."""
        if jobs is None:
            return
        port = self._ports[dt]
        for is_write, t in jobs:
            k = t.wait()
            if is_write:
                port.count_write(k, t)
            else:
                port.stats.read_flips += k
        seg.done()

    def _before_update(self, dt: DataType, key, seg: _Segments) -> None:
        """Keep what ``seg``'s tensors hold before an in-place update: the old contents of its directional write.
        A dense stream's slot already holds them where the last update's write kept them (:meth:`_Port.update_keep`)
        and nothing has changed the tensors since: the capture, a pass over every word, is skipped (same bits)."""
        port = self._ports[dt]
        if port.ws is not None and not port.sym:
            if port.kept.pop(key, None) == seg.identity():
                return
            port.ws.capture(port.slot(key), seg.ptrs, seg.ns, seg.scales)

    def _after_update(self, dt: DataType, key, seg: _Segments) -> None:
        """Write errors of an in-place update of ``seg``'s tensors, over what :meth:`_before_update` kept."""
        self._write_all_(dt, key, seg, old=0, keep=self._ports[dt].update_keep(seg))

    # -- activations -----------------------------------------------------------------------------------------
    def _hooks(self, spare: bool = False):
        """The pack and unpack hooks of one forward pass. Pack stores a saved floating tensor of two or more
        dimensions that is not a parameter (nor a weight copy) as buffer number k of this pass, once however many
        ops save it; unpack reads a stored one back. Closures over what they use: they run for every saved tensor."""
        port, not_act, saved = self._ports[_ACT], self._not_act, self._saved
        write, read, reads = port.write, port.read, port.rs is not None
        later = port.later if spare and port.queues_writes else None
        keys = itertools.count()

        def pack(t: torch.Tensor):
            if not t.is_floating_point() or t.dim() < 2 or t.data_ptr() in not_act:
                return t
            hit = saved.get(id(t))
            if hit is not None and hit[0] is t:
                if reads:
                    hit[1][1] += 1
                return hit[1]
            x = t.detach()
            x = x if x.is_contiguous() else x.contiguous()
            if later is not None:  # written by the worker while the forward pass goes on
                packed = [later(next(keys), x), 1]
            else:
                stored = write(next(keys), x)
                packed = [stored, 1] if reads else stored  # a list marks a stored activation to unpack: [it, saves]
            saved[id(t)] = (t, packed)
            return packed

        def unpack(packed):
            if type(packed) is not list:
                return packed
            x = packed[0]
            if type(x) is _Pending:
                x = packed[0] = x.result()
            packed[1] -= 1  # the saves not yet unpacked: the last may read in place
            return read(x, False, _last_read if packed[1] == 0 else None) if reads else x

        return pack, unpack if reads or later is not None else _same

    def _spare_core(self) -> bool:
        """Whether the worker thread may take work now: asked for, and a core that torch's own threads leave
        free (with as many torch threads as cores, its busy-waiting threads and the worker would take turns on
        them: a step up to 3.5x as long, measured). The first time it may, the prefetching streams start."""
        if not self.thread or torch.get_num_threads() >= self._cpus:
            return False
        if self._prefetch:
            for s in self._prefetch:
                s.prefetch(PREFETCH_RING)
            self._prefetch = []
        return True

    @contextlib.contextmanager
    def forward(self):
        """Context for a training forward pass: stores saved activations through the error model."""
        self._saved.clear()
        spare = self._spare_core()
        err = self._ports[_ERR]
        err.defer = spare and err.defers and self._on[_ERR]
        if not self._on[_ACT]:
            yield
            return
        self._not_act = set(self._param_ptrs)  # parameters, and below the weight copies that carry read errors
        with torch.autograd.graph.saved_tensors_hooks(*self._hooks(spare)):
            yield
        self._saved.clear()  # the stored copies stay alive in the graph; the map was only for de-duplication

    # -- weights (reads), errors -----------------------------------------------------------------------------
    def read_weight(self, name: str, w: torch.Tensor) -> torch.Tensor:
        rs, st = self._ports[_WGT].rs, self._ports[_WGT].stats
        if rs is None or self._model is None or not self._model.training:
            return w
        n = w.numel()
        st.words_read += n
        if w.dtype is not torch.float32 or not w.is_contiguous():
            return w  # the harness's models hold contiguous float32 parameters; others are read without errors
        scale = scale_of(self.codecs[_WGT], w)
        if rs.flip(w.data_ptr(), None, n, scale) == 0:
            return w
        y = w.clone()  # differentiable copy: gradients reach the stored weight, the compute sees the read errors
        p = y.data_ptr()
        st.read_flips += rs.flip(p, p, n, scale)
        if self._on[_ACT]:  # autograd saves it for backward; it is a weight, not an activation (reset per forward)
            self._not_act.add(p)
        return y

    def watch_error(self, name: str, y: torch.Tensor) -> None:
        """Route the error (gradient) of node output ``y`` through storage: a hook on ``y``, as
        ``y.register_hook`` installs it (a dict of hooks on the tensor, which its autograd node calls with the
        gradient of that output) without the removable handle, which costs three times the rest and which nothing
        here would use (the graph, and the hook with it, is dropped after backward)."""
        if not self._on[_ERR]:
            return
        hook = functools.partial(self._error, name)
        if y.grad_fn is None or y._backward_hooks is not None:
            y.register_hook(hook)
        else:
            y._backward_hooks = {0: hook}
            y.grad_fn._register_hook_dict(y)

    def _error(self, name: str, g: torch.Tensor) -> torch.Tensor | None:
        x = g if g.is_contiguous() else g.contiguous()
        port = self._ports[_ERR]
        own = x is not g or _sole(g)  # then the errors go into x itself: no copy
        if own and port.plain and x.dtype is _F32 and x.is_cpu:
            port.store_(name, x)
            return None if x is g else x
        y = port.write(name, x, own)
        y = port.read(y, own or y is not x)  # a private copy takes the read errors in place
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

    def step(self, optimizer: torch.optim.Optimizer, names: dict[int, str] | None = None) -> None:
        """``optimizer.step()`` with the weight gradients, optimizer state and weights going through storage.

        Each data type's tensors are one run of stored bits (:class:`_Segments`): one call of the core per data
        type and access, whichever tensors its failing bits fall in. Gradients are written fresh (over the last
        step's, or as ``fresh_old_contents`` says) and read by the optimizer; the state is read, and the state and
        the weights are rewritten in place by the update, over what they held before it."""
        self.sync()  # the stored activations' writes: counted, and their tickets let go
        params = [p for grp in optimizer.param_groups for p in grp["params"] if p.grad is not None]
        spare = self._spare_core()
        if self._on[_WG]:  # the gradients' write and read run on the worker thread while this one goes on
            for p in params:  # gradients do not require grad: no autograd bookkeeping here
                if not p.grad.is_contiguous():
                    p.grad = p.grad.contiguous()
            g = _Segments([p.grad for p in params], self.codecs[_WG])
            g_jobs = self._later_all_(_WG, "grad", g, spare, read=True)
        if self._on[_OPT]:
            state = optimizer.state
            keys, fresh = self._state_keys(optimizer, params)
            s = _Segments([state[p][k] for p, k in keys], self.codecs[_OPT])
            self._before_update(_OPT, "state", s)
            self._read_all_(_OPT, s)  # optimizer buffers do not require grad
        if self._on[_WGT]:
            w = _Segments(params, self.codecs[_WGT])  # updated in place under no_grad, like the optimizer
            self._before_update(_WGT, "weights", w)
        if self._on[_WG]:
            self._finish_(_WG, g, g_jobs)
        optimizer.step()
        if self._on[_WGT]:  # the weights' write on the worker thread, the state's here
            w_jobs = self._later_all_(_WGT, "weights", w, spare, old=0, keep=self._ports[_WGT].update_keep(w))
        if self._on[_OPT]:
            after = [state[p][k] for p, k in keys]
            if any(a is not b for a, b in zip(after, s.tensors)):  # an optimizer that replaced its buffers
                s = _Segments(after, self.codecs[_OPT])
            self._after_update(_OPT, "state", s)
            names = names or {}
            for p in fresh:  # state created by this step (first step): written over a cleared buffer
                for k, buf in sorted(state.get(p, {}).items()):
                    if torch.is_tensor(buf) and buf.is_floating_point() and buf.dim() > 0:
                        with torch.no_grad():
                            buf.copy_(self.write(_OPT, f"{names.get(id(p), 'p')}.{k}.init", buf))
        if self._on[_WGT]:
            self._finish_(_WGT, w, w_jobs)
