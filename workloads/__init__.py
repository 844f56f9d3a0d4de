"""Network definitions shared by the simulator and the accuracy harness."""
