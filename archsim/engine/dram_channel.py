"""DRAM channels as a SimPy resource: a transfer is interleaved over all channels, each part holding one channel
for ``bytes / bandwidth`` cycles and arriving ``latency`` cycles after its data leaves the channel."""
from __future__ import annotations

import simpy


class DRAMChannels:
    def __init__(self, env: simpy.Environment, channels: int, bytes_per_cycle_per_channel: float,
                 latency_cycles: float):
        self.env = env
        self.channels = channels
        self.bpc = bytes_per_cycle_per_channel
        self.latency = latency_cycles
        self.res = simpy.Resource(env, capacity=channels)
        self.bytes = {"read": 0.0, "write": 0.0}
        self.busy_cycles = 0.0

    def _part(self, nbytes: float):
        with self.res.request() as req:
            yield req
            dur = nbytes / self.bpc
            yield self.env.timeout(dur)
            self.busy_cycles += dur
        yield self.env.timeout(self.latency)

    def transfer(self, kind: str, nbytes: float):
        """Process generator: move ``nbytes`` (read from or write to DRAM) over all channels in parallel."""
        if nbytes <= 0:
            return
        self.bytes[kind] += nbytes
        parts = [self.env.process(self._part(nbytes / self.channels)) for _ in range(self.channels)]
        yield self.env.all_of(parts)
