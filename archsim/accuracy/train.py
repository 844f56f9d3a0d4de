"""Training loop of the accuracy harness: the same network and seed trained clean and with errors injected."""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from archsim.workload.graph import GraphError, Network

from .data import Dataset
from .hooks import Injector
from .initialization import Init, initialize_
from .models import GraphModule, build_model
from .policy import ErrorPolicy


class TrainSettings(BaseModel):
    """Hyper-parameters. SGD with momentum as the simulator's training config assumes (one state tensor per
    weight); defaults are archsim's choices for the small embedded benchmark."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(5, ge=1, le=10_000)
    batch_size: int = Field(32, ge=1, le=65_536)
    lr: float = Field(0.02, gt=0.0, le=10.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0, le=1.0)
    threads: int = Field(1, ge=1, le=1024, description="torch intra-op threads (1: same numbers on every machine)")
    injection_thread: bool = Field(
        True, description="run the injection work that nothing needs at once (stored activations' writes, the "
        "optimizer step's gradient and weight writes, the captures that errors' writes leave) on a second thread, "
        "where the process may use two or more cores: the same bits either way, the step sooner "
        "(docs/performance.md)")
    train_samples: int | None = Field(None, ge=1, description="use only the first N training samples")
    eval_batch_size: int = Field(512, ge=1, le=65_536)
    schedule: Literal["cosine", "constant"] = Field(
        "cosine", description="learning rate per step: cosine decay to 0 (Loshchilov & Hutter, ICLR 2017) or fixed")
    stop_on_divergence: bool = Field(
        True, description="stop training at the first non-finite training loss: every gradient is then NaN, so the "
        "weights are too, and the remaining epochs record the diverged model's evaluation (accuracy 0)")
    init: Init = Field("pytorch", description="weight initialiser: the layers' defaults or Kaiming (He et al. 2015); "
                       "see archsim.accuracy.initialization")


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    test_loss: float
    test_accuracy: float
    flips: dict[str, int] = field(default_factory=dict)


@dataclass
class RunResult:
    """One training run: per-epoch history, final test accuracy and loss, flip counters per data type."""

    seed: int
    injected: bool
    epochs: list[EpochRecord]
    stats: dict
    wall_s: float
    diverged_step: int | None = None  # the step whose training loss was non-finite (with stop_on_divergence)

    @property
    def final_accuracy(self) -> float:
        return self.epochs[-1].test_accuracy

    @property
    def final_loss(self) -> float:
        return self.epochs[-1].test_loss

    def as_dict(self) -> dict:
        return {"seed": self.seed, "injected": self.injected, "final_accuracy": self.final_accuracy,
                "final_test_loss": _num(self.final_loss), "wall_s": self.wall_s, "diverged_step": self.diverged_step,
                "epochs": [{**asdict(e), "train_loss": _num(e.train_loss), "test_loss": _num(e.test_loss)}
                           for e in self.epochs],
                "flips": self.stats}


def _num(x: float):
    return x if math.isfinite(x) else str(x)


def network_for(workload: str, data: Dataset, **overrides) -> Network:
    """The registered network adapted to the data set (input channels, size and classes)."""
    from archsim.workload import registry

    kw = {"input_size": data.input_size, "in_channels": data.in_channels, "num_classes": data.num_classes,
          **overrides}
    try:
        return registry.get(workload, **kw)
    except GraphError as exc:
        raise ValueError(f"workload {workload!r} cannot take {data.input_size}x{data.input_size} inputs ({exc}); "
                         "try a larger --image-size") from None


def data_for(workload: str, data: Dataset, image_size: int | None = None) -> Dataset:
    """``data`` as the workload trains on it: resized to ``image_size`` where one is given; else unchanged where the
    network builds at the data's own image size, and otherwise resized to the size the workload is registered at
    (``vgg16-mini``'s five 2x2 pools need its 32 x 32, the embedded digits are 8 x 8). Without ``image_size``,
    raises :func:`network_for`'s error where neither size works or the workload names no size of its own (the
    ImageNet networks: their 224 x 224 is for the simulator, not a CPU harness)."""
    from archsim.workload import registry

    if image_size is not None:
        return data.resized(image_size)
    try:
        network_for(workload, data)
        return data
    except ValueError:
        own = registry.variant(workload).get("input_size")
        if not own or own <= data.input_size:
            raise
    return data.resized(own)


@contextlib.contextmanager
def _threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def evaluate(model: GraphModule, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on ``x, y`` in eval mode; non-finite logits count as wrong."""
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(x[i:i + batch])
            yy = y[i:i + batch]
            loss_sum += float(torch.nn.functional.cross_entropy(out, yy, reduction="sum"))
            ok = torch.isfinite(out).all(1) & (out.argmax(1) == yy)
            correct += int(ok.sum())
    n = max(1, len(x))
    return loss_sum / n, correct / n


def epoch_steps(net: Network, n: int, batch_size: int) -> int:
    """Training steps per epoch over ``n`` samples. Batch norm in training needs more than one value per channel
    for its statistics: where a batch-norm layer sees 1 x 1 feature maps, a batch of one sample cannot train, so a
    last batch of one joins the batch before it, and a batch size or data set of one is an error."""
    steps = math.ceil(n / batch_size)
    if any(l.kind == "bn" and l.out_shape[1] * l.out_shape[2] == 1 for l in net.layers()):
        if min(n, batch_size) < 2:
            raise ValueError(f"{net.name} has batch norm over 1 x 1 feature maps, which needs at least 2 samples "
                             f"per training batch: batch size {batch_size}, {n} training sample(s); allowed: 2 or "
                             "more of each (or a larger --image-size)")
        if n % batch_size == 1:
            steps -= 1
    return steps


StepCallback = Callable[[int, int], None]
EpochCallback = Callable[[EpochRecord], None]


def train(net: Network, data: Dataset, settings: TrainSettings, policy: ErrorPolicy | None = None, seed: int = 0,
          on_step: StepCallback | None = None, on_epoch: EpochCallback | None = None) -> RunResult:
    """Train ``net`` on ``data`` from ``seed``; with an active ``policy``, every stored tensor goes through it.

    The seed fixes the initial weights, the batch order, dropout and (through separate generators) the error
    masks, so the clean and the injected run of one seed differ only by the injected errors."""
    t0 = time.perf_counter()
    injector = (Injector(policy, seed, thread=settings.injection_thread) if policy is not None and policy.active
                else None)
    xtr, ytr = data.x_train, data.y_train
    if settings.train_samples:
        xtr, ytr = xtr[:settings.train_samples], ytr[:settings.train_samples]
    n = len(xtr)
    steps_per_epoch = epoch_steps(net, n, settings.batch_size)
    total = steps_per_epoch * settings.epochs
    history: list[EpochRecord] = []
    with _threads(settings.threads), torch.random.fork_rng(devices=[]):
        model = initialize_(build_model(net, seed), settings.init, seed)
        torch.manual_seed(seed + 1)  # dropout
        opt = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum,
                              weight_decay=settings.weight_decay)
        names = {id(p): n_ for n_, p in model.named_parameters()}
        if injector is not None:
            injector.attach(model)
        order_gen = torch.Generator().manual_seed(seed)
        done, diverged_at = 0, 0
        for epoch in range(1, settings.epochs + 1):
            model.train()
            perm = torch.randperm(n, generator=order_gen)
            loss_sum, seen = 0.0, 0
            for s in range(steps_per_epoch):
                last = s == steps_per_epoch - 1
                idx = perm[s * settings.batch_size:None if last else (s + 1) * settings.batch_size]
                xb, yb = xtr[idx], ytr[idx]
                if settings.schedule == "cosine":
                    for grp in opt.param_groups:
                        grp["lr"] = settings.lr * 0.5 * (1.0 + math.cos(math.pi * done / total))
                opt.zero_grad(set_to_none=True)
                if injector is not None:
                    with injector.forward():
                        out = model(xb)
                else:
                    out = model(xb)
                loss = torch.nn.functional.cross_entropy(out, yb)
                loss.backward()
                if injector is not None:
                    injector.step(opt, names)
                else:
                    opt.step()
                step_loss = float(loss.detach())
                loss_sum += step_loss * len(idx)
                seen += len(idx)
                done += 1
                if on_step:
                    on_step(done, total)
                if settings.stop_on_divergence and not math.isfinite(step_loss):
                    diverged_at = diverged_at or done
                    break
            test_loss, acc = evaluate(model, data.x_test, data.y_test, settings.eval_batch_size)
            rec = EpochRecord(epoch, loss_sum / max(1, seen), test_loss, acc,
                              {k: v["flips"] for k, v in injector.summary().items()} if injector else {})
            history.append(rec)
            if on_epoch:
                on_epoch(rec)
            if diverged_at:  # the diverged model does not change any more: its evaluation stands for every epoch
                for e in range(epoch + 1, settings.epochs + 1):
                    history.append(EpochRecord(e, math.nan, test_loss, acc, rec.flips))
                    if on_epoch:
                        on_epoch(history[-1])
                if on_step:
                    on_step(total, total)
                break
        if injector is not None:
            injector.detach()
    stats = injector.summary() if injector else {}
    return RunResult(seed, injector is not None, history, stats, time.perf_counter() - t0, diverged_at or None)


@dataclass
class Comparison:
    clean: RunResult
    injected: RunResult
    policy: ErrorPolicy

    def as_dict(self) -> dict:
        return {"policy": self.policy.describe(), "clean": self.clean.as_dict(), "injected": self.injected.as_dict(),
                "accuracy_drop": self.clean.final_accuracy - self.injected.final_accuracy}


def compare(net: Network, data: Dataset, settings: TrainSettings, policy: ErrorPolicy, seed: int = 0,
            on_step: StepCallback | None = None, on_epoch: Callable[[str, EpochRecord], None] | None = None
            ) -> Comparison:
    """Clean and injected training of the same network from the same seed."""
    total_steps = epoch_steps(net, min(len(data.x_train), settings.train_samples or 10**12),
                              settings.batch_size) * settings.epochs

    def step_cb(offset):
        return (lambda d, t: on_step(offset + d, 2 * total_steps)) if on_step else None

    def ep_cb(which):
        return (lambda r: on_epoch(which, r)) if on_epoch else None

    clean = train(net, data, settings, None, seed, step_cb(0), ep_cb("clean"))
    inj = train(net, data, settings, policy, seed, step_cb(total_steps), ep_cb("injected"))
    return Comparison(clean, inj, policy)
