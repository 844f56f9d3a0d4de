"""A bank group of a scratchpad partition as a SimPy resource.

The partition's ``n_banks`` banks are word-interleaved, so a burst of ``n`` word accesses is striped over all banks
and occupies one port of each for ``ceil(n / n_banks)`` access times. Banks are not pipelined: an access holds its
port for the full access latency, so throughput never exceeds ``ports / latency`` per bank. Every burst is one
request, so the number of SimPy events grows with bursts (tile steps), never with words.
"""
from __future__ import annotations

import math

import simpy


class BankGroup:
    def __init__(self, env: simpy.Environment, name: str, n_banks: int, ports: int, read_cycles: int,
                 write_cycles: int):
        if n_banks < 1 or ports < 1 or read_cycles < 1 or write_cycles < 1:
            raise ValueError(f"bank group {name}: n_banks, ports and latencies must be >= 1")
        self.env = env
        self.name = name
        self.n_banks = n_banks
        self.ports = ports
        self.read_cycles = read_cycles
        self.write_cycles = write_cycles
        self.port = simpy.Resource(env, capacity=ports)
        self.in_service = 0
        self.max_in_service = 0
        self.busy_cycles = 0.0
        self.wait_cycles = 0.0
        self.words = {"read": 0.0, "write": 0.0}

    def duration(self, kind: str, n_words: float) -> int:
        occ = self.read_cycles if kind == "read" else self.write_cycles
        return math.ceil(n_words / self.n_banks) * occ

    def access(self, kind: str, n_words: float):
        """Process generator: serve a burst of ``n_words`` reads or writes; returns (start, end) times."""
        if n_words <= 0:
            return (self.env.now, self.env.now)
        arrive = self.env.now
        with self.port.request() as req:
            yield req
            start = self.env.now
            yield from self.serve(kind, n_words)
        self.wait_cycles += start - arrive
        return (start, self.env.now)

    def serve(self, kind: str, n_words: float):
        """Process generator: serve a burst on a port the caller already holds, keeping the statistics."""
        self.in_service += 1
        self.max_in_service = max(self.max_in_service, self.in_service)
        dur = self.duration(kind, n_words)
        yield self.env.timeout(dur)
        self.in_service -= 1
        self.busy_cycles += dur
        self.words[kind] += n_words
