"""The compiled core's worker thread (Stream.write_later / flip_later, and the capture that Stream.write leaves to it
with ``hold``): the same bits as the same calls made in order on one thread, whatever runs meanwhile; safe to drop a
ticket unwaited, and usable in a forked child."""
import gc
import os
import pickle
import weakref

import pytest
import torch
from hypothesis import given, settings, strategies as st

from archsim.accuracy.inject import FMT_CODE, Slot, Stream, write_stream


def _u32(x: torch.Tensor) -> list[int]:
    return x.view(torch.int32).tolist()


def _data(n: int, seed: int) -> torch.Tensor:
    """Words of a trained network's kind: small numbers, some zeros, some that repeat from write to write."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=g) * 0.1
    x[torch.rand(n, generator=g) < 0.2] = 0.0
    return x


def _stream(kind: str, fmt: str, seed: int) -> Stream:
    if kind == "flip":
        return Stream(seed, 3e-3, FMT_CODE[fmt])
    from archsim.accuracy.formats import codec
    p01, p10 = {"dense": (2e-2, 4e-3), "sparse": (2e-3, 1e-4), "sparse_hi": (7e-3, 2e-4)}[kind]
    s = write_stream(seed, p01, p10, codec(fmt))
    assert s.dense == (kind == "dense")
    return s


def _calls(kind: str, sizes: list[int], seed: int, later: list[int]):
    """Run writes (or flips) in order on one stream, each call made here (``later[i]`` 0), queued on the worker (1)
    or, for writes, made here with ``hold`` (2: the capture for the buffer's next write left to the worker). Call i
    writes a new tensor of ``sizes[i % len(sizes)]`` words into buffer ``i % len(sizes)``, so a buffer's slot carries
    the old contents of its last write into its next (a slot holds them for a write of the same size); every third
    call writes in place, as the harness writes errors. Returns the stored words and flip counts."""
    s = _stream(kind, "bf16" if seed % 2 else "fp32", seed)
    slots = [Slot() for _ in range(4)]
    calls = []
    for i, lt in enumerate(later):
        n = sizes[i % len(sizes)]
        x = _data(n, seed * 100 + i)
        y = x if i % 3 == 2 else torch.empty_like(x)
        if kind == "flip":
            k = (s.flip_later(x.data_ptr(), y.data_ptr(), n, None, (x, y)) if lt == 1
                 else s.flip(x.data_ptr(), y.data_ptr(), n, None))
        else:
            slot = slots[i % len(sizes)]
            k = (s.write_later(slot, x.data_ptr(), y.data_ptr(), n, None, 0, True, (x, y)) if lt == 1
                 else s.write(slot, x.data_ptr(), y.data_ptr(), n, None, 0, True, (x, y)) if lt == 2
                 else s.write(slot, x.data_ptr(), y.data_ptr(), n, None, 0, True))
        calls.append((x, y, k))
    out = []
    for x, y, k in calls:
        k = k if isinstance(k, int) else k.wait()
        out.append((k, _u32(y if k else x)))  # where no bit failed, storage holds x (y is unwritten)
    return out


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["flip", "sparse", "sparse_hi", "dense"]),
       sizes=st.lists(st.integers(1, 40_000), min_size=1, max_size=4),
       later=st.lists(st.integers(0, 2), min_size=1, max_size=12), seed=st.integers(0, 1000))
def test_later_calls_give_the_bits_of_the_same_calls_in_order(kind, sizes, later, seed):
    """Any mix of calls queued on the worker, calls made here, and writes made here that leave their capture to the
    worker, on one stream: the stored words and flip counts equal those of every call made here in order (a call
    here waits for the stream's queued jobs)."""
    assert _calls(kind, sizes, seed, later) == _calls(kind, sizes, seed, [0] * len(later))


class _Held:
    """An object to hand a write as ``hold`` (weakly referable, to see when the stream lets go of it)."""


def test_write_holds_what_its_left_capture_reads_until_the_next_call():
    """A sparse write with keep and ``hold`` keeps ``hold`` until the worker has made its capture and a later call
    (``wait``, or any other) lets go of it; a dense stream's write, or one without keep, captures at once and keeps
    nothing."""
    from archsim.accuracy.formats import codec
    n = 50_000
    x = _data(n, 3)
    for dense, keep, kept in ((False, True, True), (True, True, False), (False, False, False)):
        s = write_stream(11, 2e-2 if dense else 3e-3, 1e-4, codec("bf16"))
        assert s.dense == dense
        for let_go in ("wait", "write"):
            h = _Held()
            ref = weakref.ref(h)
            y = torch.empty(n)
            s.write(Slot(), x.data_ptr(), y.data_ptr(), n, None, 0, keep, h)
            del h
            gc.collect()
            assert (ref() is not None) == kept
            if let_go == "wait":
                s.wait()
            else:
                s.write(Slot(), x.data_ptr(), y.data_ptr(), n, None, 0, False)
            assert ref() is None


def test_ticket_counts_and_two_streams_side_by_side():
    """Jobs of two streams queued together, and a call on a third stream here meanwhile: each gives what it gives
    alone; a ticket's n01 / n10 are its write's."""
    from archsim.accuracy.formats import codec
    n = 200_000
    x, old = _data(n, 1), _data(n, 2)
    ref = []
    for seed in (5, 6):
        s, slot, y = write_stream(seed, 3e-2, 1e-2, codec("fp32")), Slot(), torch.empty(n)
        s.capture(slot, old.data_ptr(), n)
        k = s.write(slot, x.data_ptr(), y.data_ptr(), n, None, 0, False)
        ref.append((k, s.n01, s.n10, _u32(y)))
    streams = [write_stream(seed, 3e-2, 1e-2, codec("fp32")) for seed in (5, 6)]
    slots, ys = [Slot(), Slot()], [torch.empty(n), torch.empty(n)]
    for s, slot in zip(streams, slots):
        s.capture(slot, old.data_ptr(), n)
    tickets = [s.write_later(slot, x.data_ptr(), y.data_ptr(), n, None, 0, False, (x, y))
               for s, slot, y in zip(streams, slots, ys)]
    here = Stream(9, 1e-2, 0)
    z = torch.empty(n)
    assert here.flip(x.data_ptr(), z.data_ptr(), n) > 0
    got = [(t.wait(), t.n01, t.n10, _u32(y)) for t, y in zip(tickets, ys)]
    assert got == ref
    assert all(t.done for t in tickets)


def test_dropped_ticket_waits_for_its_job():
    """A ticket dropped unwaited keeps what its job works on alive until the job is done; the stream goes on."""
    n = 1 << 20
    s = Stream(3, 1e-2, 0)
    ref = Stream(3, 1e-2, 0)
    x = _data(n, 4)
    y, r = torch.empty(n), torch.empty(n)
    s.flip_later(x.data_ptr(), y.data_ptr(), n, None, (x, y))  # dropped at once
    ref.flip(x.data_ptr(), r.data_ptr(), n)
    z, rz = torch.empty(n), torch.empty(n)
    assert s.flip(x.data_ptr(), z.data_ptr(), n) == ref.flip(x.data_ptr(), rz.data_ptr(), n)
    assert torch.equal(y.view(torch.int32), r.view(torch.int32)) and torch.equal(z.view(torch.int32),
                                                                                  rz.view(torch.int32))


def test_later_needs_every_destination():
    s = Stream(1, 0.5, 0)
    x = torch.ones(8)
    with pytest.raises(ValueError, match="destination"):
        s.flip_later(x.data_ptr(), None, 8)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_starts_its_own_worker():
    """After a fork (the parent's worker thread started), the child's jobs run on a worker of its own."""
    n = 100_000
    x = _data(n, 7)
    parent = Stream(11, 1e-2, 0)
    y = torch.empty(n)
    parent.flip_later(x.data_ptr(), y.data_ptr(), n, None, (x, y)).wait()  # the worker runs in the parent
    ref = Stream(12, 1e-2, 0)
    want = torch.empty(n)
    k_ref = ref.flip(x.data_ptr(), want.data_ptr(), n)
    ahead = Stream(13, 0.3, 0)  # its refill runs (or is queued) as the fork happens
    ahead.prefetch(1 << 16)
    ahead.flip(x.data_ptr(), y.data_ptr(), n)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no pytest machinery, only the pipe
        try:
            s = Stream(12, 1e-2, 0)
            z = torch.empty(n)
            k = s.flip_later(x.data_ptr(), z.data_ptr(), n, None, (x, z)).wait()
            # the parent's refill never runs here: the child draws for itself instead of waiting for it
            u = torch.empty(n)
            k2 = sum(ahead.flip(x.data_ptr(), u.data_ptr(), n) for _ in range(3))
            os.write(w, pickle.dumps((k, _u32(z), k2)))
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        k, words, k2 = pickle.loads(f.read())
    os.waitpid(pid, 0)
    assert k == k_ref and words == _u32(want) and k2 > 0



def _flips(s: Stream, sizes: list[int], seed: int, ask: list[bool], later: list[bool], lo: int = 0,
           hi: int | None = None) -> list:
    """Flips of tensors ``lo:hi`` of ``sizes`` in order on ``s`` (tensor i's data from ``seed`` and i): each asked
    first without a destination (the hooks' protocol) or not, each queued on the worker (``later``) or not. Returns
    each call's flip count and stored words."""
    out, pend = [], []

    def drain():
        for x_, y_, t in pend:
            k_ = t.wait()
            out.append((k_, _u32(y_ if k_ else x_)))
        pend.clear()

    for i in range(lo, len(sizes) if hi is None else hi):
        n = sizes[i]
        x = _data(n, seed * 1000 + i)
        y = torch.empty_like(x)
        if later[i]:
            pend.append((x, y, s.flip_later(x.data_ptr(), y.data_ptr(), n, None, (x, y))))
            continue
        drain()
        k = s.flip(x.data_ptr(), None, n) if ask[i] else -1
        if k < 0:
            k = s.flip(x.data_ptr(), y.data_ptr(), n)
        out.append((k, _u32(y if k else x)))
    drain()
    return out


@settings(max_examples=30, deadline=None)
@given(p=st.sampled_from([2e-4, 3e-3, 2e-2, 0.3]), fmt=st.sampled_from(["fp32", "bf16", "int8"]),
       sizes=st.lists(st.integers(0, 70_000), min_size=1, max_size=10), seed=st.integers(0, 500),
       pattern=st.integers(0, 1 << 20), start=st.integers(0, 3))
def test_positions_drawn_ahead_are_the_same_positions(p, fmt, sizes, seed, pattern, start):
    """A stream whose worker draws its failing positions ahead (prefetch from its ``start``-th call on, into a ring
    of 1024 that long calls run dry, so that they draw for themselves) flips exactly the bits of one that draws
    them as it goes, whether calls ask first or are queued on the worker."""
    code = FMT_CODE[fmt]
    ask = [bool(pattern >> i & 1) for i in range(len(sizes))]
    later = [bool(pattern >> (10 + i) & 1) for i in range(len(sizes))]
    ref = _flips(Stream(seed, p, code), sizes, seed, ask, [False] * len(sizes))
    s = Stream(seed, p, code)
    got = _flips(s, sizes, seed, ask, later, 0, min(start, len(sizes)))
    s.prefetch(1024)
    got += _flips(s, sizes, seed, ask, later, min(start, len(sizes)))
    assert got == ref


def _dense_writes(s: Stream, sizes: list[int], seed: int, later: list[int], start: int | None, fmt: str) -> list:
    """Dense writes in order on ``s`` into four buffers (a slot each, carried from write to write), each made here,
    in place (``later[i]`` 2), or queued on the worker (1); the stream draws its Bernoulli words ahead from call
    ``start`` on (``prefetch(1024)``: a ring of 1024 groups of four words, which long writes run dry, so that they
    draw for themselves). Returns each call's counts and stored words."""
    scale = 0.05 if fmt == "int8" else None
    slots, out, pend = [Slot() for _ in range(4)], [], []
    for i, lt in enumerate(later):
        if i == start:
            s.prefetch(1024)
        n = sizes[i % len(sizes)]
        x = _data(n, seed * 100 + i)
        y = x if lt == 2 else torch.empty_like(x)
        slot = slots[i % 4]
        if lt == 1:
            t = s.write_later(slot, x.data_ptr(), y.data_ptr(), n, scale, 0, True, (x, y))
            out.append((t.wait(), t.n01, t.n10, _u32(y)))
        else:
            k = s.write(slot, x.data_ptr(), y.data_ptr(), n, scale, 0, True)
            out.append((k, s.n01, s.n10, _u32(y)))
    return out


@settings(max_examples=40, deadline=None)
@given(rates=st.sampled_from([(2e-2, 4e-3), (8e-2, 1e-6), (0.3, 0.05), (1.0, 0.02), (3e-3, 0.2)]),
       fmt=st.sampled_from(["fp32", "bf16", "fp16", "int8"]),
       sizes=st.lists(st.integers(1, 60_000), min_size=1, max_size=4),
       later=st.lists(st.integers(0, 2), min_size=1, max_size=10), seed=st.integers(0, 1000),
       start=st.integers(0, 3), isa=st.sampled_from(range(4)))
def test_bernoulli_words_drawn_ahead_are_the_same_words(rates, fmt, sizes, later, seed, start, isa):
    """A dense stream whose worker draws its bit-parallel directions' Bernoulli words ahead (from any call on, on any
    build of the dense pass, with writes queued on the worker, made here and in place between) stores the words and
    counts the failures of one that draws them as it goes."""
    from archsim.accuracy import _bitflip
    from archsim.accuracy.formats import codec
    isas = _bitflip.isas()
    prev = _bitflip.isa()
    _bitflip.isa(isas[isa % len(isas)])
    try:
        def stream():
            c = codec(fmt, int8_scale=0.05)
            s = Stream(seed, max(rates), FMT_CODE[fmt], rates[0], rates[1], True)
            assert s.dense and any(s.bit_parallel) and s.bit_parallel == (rates[0] >= 1 / 64, rates[1] >= 1 / 64)
            return s, c
        ref = _dense_writes(stream()[0], sizes, seed, [0 if lt == 1 else lt for lt in later], None, fmt)
        got = _dense_writes(stream()[0], sizes, seed, later, min(start, len(later) - 1), fmt)
    finally:
        _bitflip.isa(prev)
    assert got == ref


def test_dense_stream_without_a_bit_parallel_direction_draws_nothing_ahead():
    from archsim.accuracy.formats import codec
    s = write_stream(1, 1e-2, 1e-3, codec("fp32"))  # dense, both directions by gaps
    assert s.dense and s.bit_parallel == (False, False)
    with pytest.raises(ValueError, match="bit-parallel"):
        s.prefetch(1 << 12)
    s = write_stream(1, 2e-2, 1e-3, codec("fp32"))
    s.prefetch(1 << 12)
    s.prefetch(1 << 12)  # again: nothing changes
    x = torch.ones(16)
    s.capture(Slot(), x.data_ptr(), 16)  # every call stays allowed
    assert len(s.positions(100)) % 8 == 0 and len(s.uniforms(3)) == 24


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_draws_its_bernoulli_words_itself():
    """A refill of a dense stream's ring under way as the process forks never runs in the child: the child's writes
    draw for themselves instead of waiting for it (words of the same law; which ones depends on where the fork
    caught the refill, as with the positions' ring), and the parent's stream goes on giving its own bits."""
    from archsim.accuracy.formats import codec
    n = 300_000
    x = _data(n, 9)

    def make():
        return write_stream(21, 8e-2, 1e-6, codec("bf16"))

    def writes(s, k):
        out = []
        for _ in range(k):
            y = torch.empty(n)
            out.append((s.write(Slot(), x.data_ptr(), y.data_ptr(), n, None, 1, False), _u32(y)))
        return out

    want = writes(make(), 4)
    ahead = make()
    ahead.prefetch(1024)  # a refill queued at once, running or still queued as the fork happens
    first = writes(ahead, 1)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(w, pickle.dumps([k for k, _ in writes(ahead, 3)]))
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        child = pickle.loads(f.read())
    os.waitpid(pid, 0)
    assert first + writes(ahead, 3) == want
    assert all(abs(k - want[0][0]) < 0.05 * want[0][0] for k in child)  # ~1e5 failures a write, spread ~0.3 %


def test_prefetching_stream_refuses_what_would_draw_beside_it():
    s = Stream(1, 1e-2, 0)
    s.prefetch(1 << 12)
    s.prefetch(1 << 12)  # again: nothing changes
    x = torch.ones(16)
    for call in (lambda: s.write(Slot(), x.data_ptr(), x.data_ptr(), 16), lambda: s.capture(Slot(), x.data_ptr(), 16),
                 lambda: s.positions(100), lambda: s.uniforms(3)):
        with pytest.raises(RuntimeError, match="ahead"):
            call()
    with pytest.raises(ValueError, match="power of two"):
        Stream(1, 1e-2, 0).prefetch(1000)
    from archsim.accuracy.formats import codec
    with pytest.raises(ValueError, match="every-bit"):
        write_stream(1, 3e-3, 1e-3, codec("fp32")).prefetch(1 << 12)  # sparse


def test_a_stream_in_use_on_another_thread_refuses_a_second_call():
    """A long call releases the GIL while it works; another Python thread that calls the same stream meanwhile gets
    a RuntimeError instead of racing on its state, and the long calls give what they give alone. (The calls tried
    here, ``positions(0)`` and ``wait()``, draw nothing where they are let through between two long calls.)"""
    import threading
    import time
    n = 1 << 22  # 4 M words: some milliseconds a call, without the GIL
    x, y = _data(n, 8), torch.empty(n)
    s, ref = _stream("sparse_hi", "fp32", 4), _stream("sparse_hi", "fp32", 4)
    slot, ref_slot = Slot(), Slot()
    got, errors = [], []

    def long_calls():  # at least 4, then on until the other thread has been refused (or 200: then the test fails)
        while len(got) < 4 or (not errors and len(got) < 200):
            got.append(s.write(slot, x.data_ptr(), y.data_ptr(), n, None, 0, True))

    t = threading.Thread(target=long_calls)
    t.start()
    end = time.monotonic() + 30
    while t.is_alive() and time.monotonic() < end:
        for call in (lambda: s.positions(0), s.wait):
            try:
                call()
            except RuntimeError as e:
                errors.append(str(e))
    t.join()
    assert errors and all("two threads" in e for e in errors)
    z = torch.empty(n)
    want = [ref.write(ref_slot, x.data_ptr(), z.data_ptr(), n, None, 0, True) for _ in got]
    assert got == want and torch.equal(y.view(torch.int32), z.view(torch.int32))
