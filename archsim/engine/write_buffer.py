"""A write buffer in front of a bank group: absorbs bursts of writes so a slow-write bank (STT-MRAM) stalls its
producer only when the buffer is full.

Writes enter in FIFO order as chunks ``(n_words, payload)``; a drain process writes the oldest chunk to the banks,
holding a bank port (so drains contend with reads and DMA fills of the same partition). Within a chunk's drain, words
leave the buffer at the bank's write rate, so a producer waiting for room is released at the moment enough words
have drained -- exact for the fluid drain, with one event per chunk instead of one per word.

A write is *accepted* (the producer may go on) once the words in the buffer, including it, fit the capacity:
``total_in - drained <= capacity``. With capacity 0 the producer waits until its own write is in the banks.
"""
from __future__ import annotations

from typing import Callable

import simpy

from .bank import BankGroup


class WriteBuffer:
    def __init__(self, env: simpy.Environment, banks: BankGroup, capacity_words: float,
                 sink: Callable[[object], None] | None = None):
        if capacity_words < 0:
            raise ValueError("write buffer capacity must be >= 0")
        self.env = env
        self.banks = banks
        self.capacity = capacity_words
        self.sink = sink
        self.queue = simpy.Store(env)
        self.total_in = 0.0
        self.drained = 0.0
        self.max_occupancy = 0.0
        self.full_wait_cycles = 0.0
        self._pending: list[tuple[float, simpy.Event, float]] = []
        self._cur = None  # (start_time, drained_before, n_words, duration) of the chunk being drained
        env.process(self._drain())

    @property
    def occupancy(self) -> float:
        return self.total_in - self._drained_now()

    def _drained_now(self) -> float:
        if self._cur is None:
            return self.drained
        start, d0, n, dur = self._cur
        frac = 1.0 if dur <= 0 else min(1.0, max(0.0, (self.env.now - start) / dur))
        return d0 + frac * n

    def write(self, n_words: float, payload: object = None) -> simpy.Event:
        """Queue a write; the returned event fires when the producer may continue (the write is accepted)."""
        ev = self.env.event()
        self.total_in += n_words
        self.max_occupancy = max(self.max_occupancy, min(self.total_in - self._drained_now(), self.capacity))
        threshold = self.total_in - self.capacity
        self.queue.put((n_words, payload))
        if threshold <= self._drained_now() + 1e-9:
            ev.succeed(self.env.now)
        elif self._cur is not None and threshold <= self._cur[1] + self._cur[2] + 1e-9:
            self._schedule(threshold, ev, self.env.now)
        else:
            self._pending.append((threshold, ev, self.env.now))
        return ev

    def _schedule(self, threshold: float, ev: simpy.Event, asked: float) -> None:
        start, d0, n, dur = self._cur
        at = start + (threshold - d0) / n * dur if n > 0 else start
        delay = max(0.0, at - self.env.now)

        def fire(_e, ev=ev, asked=asked):
            self.full_wait_cycles += self.env.now - asked
            ev.succeed(self.env.now)

        self.env.timeout(delay).callbacks.append(fire)

    def _drain(self):
        while True:
            n, payload = yield self.queue.get()
            with self.banks.port.request() as req:
                yield req
                dur = self.banks.duration("write", n)
                self._cur = (self.env.now, self.drained, n, dur)
                keep = []
                for threshold, ev, asked in self._pending:
                    if threshold <= self.drained + n + 1e-9:
                        self._schedule(threshold, ev, asked)
                    else:
                        keep.append((threshold, ev, asked))
                self._pending = keep
                yield from self.banks.serve("write", n)
            self.drained += n
            self._cur = None
            if self.sink is not None:
                self.sink(payload)
