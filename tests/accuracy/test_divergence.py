"""A run whose training loss turns non-finite stops early and records the diverged model for every epoch."""
import math

from archsim.accuracy.data import load_digits
from archsim.accuracy.policy import ErrorPolicy
from archsim.accuracy.train import TrainSettings, network_for, train
from archsim.datatypes import DataType


def test_diverged_run_stops_and_matches_running_on():
    data = load_digits()
    net = network_for("resnet18-mini", data)
    pol = ErrorPolicy.uniform([DataType.ACTIVATION], 1e-2, "write", "symmetric", formats={DataType.ACTIVATION: "bf16"})
    base = dict(epochs=3, train_samples=96, batch_size=32)
    stopped = train(net, data, TrainSettings(**base), pol, seed=0)
    full = train(net, data, TrainSettings(**base, stop_on_divergence=False), pol, seed=0)
    assert stopped.diverged_step is not None and full.diverged_step is None
    assert len(stopped.epochs) == len(full.epochs) == 3
    assert not math.isfinite(full.epochs[-1].train_loss)
    assert stopped.final_accuracy == full.final_accuracy  # a NaN model stays a NaN model
    clean = train(net, data, TrainSettings(**base), None, seed=0)
    assert clean.diverged_step is None and clean.final_accuracy > stopped.final_accuracy
