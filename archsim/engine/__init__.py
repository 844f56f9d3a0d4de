"""The SimPy engine: bank groups, write buffers, DRAM channels, DMA and compute processes."""
