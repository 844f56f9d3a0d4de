"""Hook points: rate 0 is bit-identical to clean training; one data type's errors leave the others untouched."""
import pytest
import torch

from archsim.accuracy.hooks import Injector
from archsim.accuracy.models import build_model
from archsim.accuracy.policy import DataTypeErrors, ErrorPolicy
from archsim.accuracy.train import TrainSettings, train
from archsim.cpus import usable_cpus
from archsim.datatypes import ALL_DATATYPES, DataType

from .conftest import tiny_net


def _batches(digits, n=3, bs=32):
    return [(digits.x_train[i * bs:(i + 1) * bs], digits.y_train[i * bs:(i + 1) * bs]) for i in range(n)]


def _run(net, batches, injector=None, seed=0):
    """A few SGD steps; returns the model and the logits and gradients of the first step."""
    torch.manual_seed(123)
    model = build_model(net, seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    names = {id(p): n for n, p in model.named_parameters()}
    if injector is not None:
        injector.attach(model)
    first = None
    for xb, yb in batches:
        model.train()
        opt.zero_grad()
        if injector is not None:
            with injector.forward():
                out = model(xb)
        else:
            out = model(xb)
        loss = torch.nn.functional.cross_entropy(out, yb)
        loss.backward()
        if first is None:
            first = (out.detach().clone(), {n: p.grad.clone() for n, p in model.named_parameters()})
        if injector is not None:
            injector.step(opt, names)
        else:
            opt.step()
    return model, first


def _spied_and_refused(monkeypatch, hooks, name: str, pol, seed: int, digits):
    """Train ``tiny_net`` twice under ``pol``: with the predicate ``hooks.<name>`` spied on (its answers listed), and
    with it answering False everywhere. Returns the answers and, per run, the injector and ``_run``'s result."""
    real, seen = getattr(hooks, name), []

    def spy(x):
        seen.append(real(x))
        return seen[-1]

    runs = []
    for pred in (spy, lambda x: False):
        monkeypatch.setattr(hooks, name, pred)
        inj = Injector(pol, seed=seed)
        runs.append((inj, _run(tiny_net(), _batches(digits), inj)))
    return seen, runs[0], runs[1]


def _same_params(a, b) -> bool:
    return all(torch.equal(p.view(-1).view(torch.int32), q.view(-1).view(torch.int32))
               for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("write_model", ["directional", "symmetric"])
def test_machinery_with_no_flips_is_bit_identical(digits, write_model):
    """Every hook runs (rates > 0) but no bit flips (rates ~1e-15): the results equal training without it."""
    net = tiny_net()
    batches = _batches(digits)
    clean, _ = _run(net, batches)
    tiny = {dt: DataTypeErrors(read_ber=1e-15, write_ber_0to1=1e-15, write_ber_1to0=1e-15, write_model=write_model)
            for dt in ALL_DATATYPES}
    inj = Injector(ErrorPolicy(datatypes=tiny), seed=0)
    with_hooks, _ = _run(net, batches, inj)
    assert inj.stats[DataType.ACTIVATION].words_written > 0 and inj.stats[DataType.ERROR].words_written > 0
    assert inj.stats[DataType.WEIGHT].words_read > 0 and inj.stats[DataType.OPTIMIZER_STATE].words_written > 0
    assert sum(s.flips for s in inj.stats.values()) == 0
    assert _same_params(clean, with_hooks)


def test_rate_zero_train_is_bit_identical(digits):
    net = tiny_net()
    s = TrainSettings(epochs=1, train_samples=96)
    zero = ErrorPolicy.uniform(ALL_DATATYPES, 0.0)
    a = train(net, digits, s, None, seed=3)
    b = train(net, digits, s, zero, seed=3)
    assert [e.test_loss for e in a.epochs] == [e.test_loss for e in b.epochs]
    assert a.final_accuracy == b.final_accuracy


@pytest.mark.parametrize("dt", list(ALL_DATATYPES))
@pytest.mark.parametrize("kind", ["write", "read"])
def test_one_datatype_leaves_the_others_untouched(digits, dt, kind):
    net = tiny_net()
    batches = _batches(digits, n=2)
    _, (clean_out, clean_grads) = _run(net, batches)
    inj = Injector(ErrorPolicy.uniform([dt], 0.02, kind=kind), seed=1)
    model, (out, grads) = _run(net, batches, inj)
    for other in ALL_DATATYPES:
        s = inj.stats[other]
        if other != dt:
            assert (s.words_written, s.words_read, s.flips) == (0, 0, 0), other
    hit = inj.stats[dt]
    if kind == "write" and dt is not DataType.WEIGHT or kind == "read":
        assert hit.flips > 0
    # what the first step's forward computes depends only on weights (read errors) -- not on saved activations,
    # errors, gradients or optimizer state
    if dt is not DataType.WEIGHT or kind == "write":
        assert torch.equal(out, clean_out)
    # the first step's weight gradients are clean unless activations or errors were corrupted (or weights read)
    if dt in (DataType.WEIGHT_GRADIENT, DataType.OPTIMIZER_STATE) or (dt is DataType.WEIGHT and kind == "write"):
        assert all(torch.equal(grads[n], clean_grads[n]) for n in grads)


def test_activation_hook_never_touches_parameters(digits):
    net = tiny_net()
    model = build_model(net, 0)
    before = [p.detach().clone() for p in model.parameters()]
    inj = Injector(ErrorPolicy.uniform([DataType.ACTIVATION], 0.2), seed=0).attach(model)
    xb, yb = digits.x_train[:16], digits.y_train[:16]
    with inj.forward():
        out = model(xb)
    torch.nn.functional.cross_entropy(out, yb).backward()
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters()))
    assert inj.stats[DataType.ACTIVATION].write_flips > 0


def test_weight_write_errors_persist_and_are_directional(digits):
    """A directional weight write error leaves the weight between its old and new bit pattern: every flipped bit
    of the stored word equals the old word's bit."""
    net = tiny_net(residual=False)
    model = build_model(net, 0)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    inj = Injector(ErrorPolicy.uniform([DataType.WEIGHT], 0.3), seed=0).attach(model)
    old = [p.detach().clone() for p in model.parameters()]
    xb, yb = digits.x_train[:32], digits.y_train[:32]
    torch.nn.functional.cross_entropy(model(xb), yb).backward()
    clean_new = [(p - 0.5 * p.grad).detach() for p in model.parameters()]
    inj.step(opt)
    for o, n, p in zip(old, clean_new, model.parameters()):
        ow, nw, sw = (t.reshape(-1).view(torch.int32).to(torch.int64) & 0xFFFFFFFF for t in (o, n, p.detach()))
        fail = sw ^ nw
        assert int((fail & ~(ow ^ nw)).ne(0).sum()) == 0
        assert torch.equal(sw & fail, ow & fail)
    assert inj.stats[DataType.WEIGHT].write_flips > 0


def test_masks_deterministic_and_independent_per_datatype(digits):
    net = tiny_net()
    batches = _batches(digits, n=2)
    both = ErrorPolicy.uniform([DataType.WEIGHT, DataType.ERROR], 1e-3)
    a = Injector(both, seed=4)
    _run(net, batches, a)
    b = Injector(both, seed=4)
    _run(net, batches, b)
    assert a.summary() == b.summary()
    # each data type draws from its own generator: adding optimizer-state errors does not change the weight
    # errors of the first step (the state is written after that step's weight update)
    only_w = Injector(ErrorPolicy.uniform([DataType.WEIGHT], 1e-2), seed=4)
    m1, _ = _run(net, batches[:1], only_w)
    w_and_s = Injector(ErrorPolicy.uniform([DataType.WEIGHT, DataType.OPTIMIZER_STATE], 1e-2), seed=4)
    m2, _ = _run(net, batches[:1], w_and_s)
    assert w_and_s.stats[DataType.OPTIMIZER_STATE].write_flips > 0 and only_w.stats[DataType.WEIGHT].write_flips > 0
    assert _same_params(m1, m2)


@pytest.mark.parametrize("kind,write_model", [("read", "directional"), ("write", "symmetric")])
def test_optimizer_step_draws_each_tensor_at_its_rate(kind, write_model):
    """The step draws one range of bits over all weight gradients and deals the failing bits to the tensors: over
    many steps every tensor -- the smallest bias and the largest weight alike -- has its bits fail at the rate."""
    from archsim.accuracy.inject import popcount

    from .test_inject import _within

    model = build_model(tiny_net(), 0)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    p = 2e-3
    inj = Injector(ErrorPolicy.uniform([DataType.WEIGHT_GRADIENT], p, kind, write_model), seed=5).attach(model)
    params = list(model.parameters())
    hits = [0] * len(params)
    steps = 60
    for _ in range(steps):
        for q in params:
            q.grad = torch.zeros_like(q)
        inj.step(opt)  # zero words: the stored bits that are set are exactly the flipped ones
        for i, q in enumerate(params):
            hits[i] += int(popcount(q.grad.reshape(-1).view(torch.int32).to(torch.int64) & 0xFFFFFFFF).sum())
    assert sum(hits) == inj.stats[DataType.WEIGHT_GRADIENT].flips
    for i, q in enumerate(params):
        assert _within(hits[i], steps * q.numel() * 32, p, z=5.0), (i, q.shape)
    assert _within(sum(hits), steps * sum(q.numel() for q in params) * 32, p)


def test_weight_read_copies_are_not_activations(digits):
    """A weight read with errors is a copy that conv saves for backward; it is a weight, not an activation."""
    net = tiny_net()
    xb, yb = digits.x_train[:16], digits.y_train[:16]
    words = []
    for policy in (ErrorPolicy.uniform([DataType.ACTIVATION], 1e-15),
                   ErrorPolicy.uniform([DataType.ACTIVATION], 1e-15).with_rates(DataType.WEIGHT, read_ber=0.05)):
        model = build_model(net, 0)
        inj = Injector(policy, seed=0).attach(model)
        with inj.forward():
            out = model(xb)
        torch.nn.functional.cross_entropy(out, yb).backward()
        words.append(inj.stats[DataType.ACTIVATION].words_written)
    assert inj.stats[DataType.WEIGHT].read_flips > 0
    assert words[0] == words[1] > 0



@pytest.mark.parametrize("old", ["zeros", "random", "previous"])
def test_fresh_write_old_contents(digits, old):
    """Over a cleared buffer ("zeros") a fresh write can only fail to set bits (0 -> 1); over random contents or the
    previous step's tensor, both directions fail."""
    net = tiny_net()
    pol = ErrorPolicy.uniform([DataType.ERROR, DataType.WEIGHT_GRADIENT], 0.01, fresh_old_contents=old)
    inj = Injector(pol, seed=2)
    _run(net, _batches(digits, n=2), inj)
    for dt in (DataType.ERROR, DataType.WEIGHT_GRADIENT):
        s = inj.stats[dt]
        assert s.write_flips_0to1 > 0 and s.write_flips == s.write_flips_0to1 + s.write_flips_1to0
        assert (s.write_flips_1to0 == 0) == (old == "zeros"), (dt, s)


def test_emulated_storage_rounds_the_step_tensors(digits):
    """With ``emulate_storage`` the optimizer step leaves weights, gradients and momentum buffers as bf16 values."""
    dts = [DataType.WEIGHT, DataType.WEIGHT_GRADIENT, DataType.OPTIMIZER_STATE]
    pol = ErrorPolicy(datatypes={dt: DataTypeErrors(write_ber_0to1=1e-15, write_ber_1to0=1e-15, format="bf16",
                                                    emulate_storage=True) for dt in dts})
    model = build_model(tiny_net(), 0)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    inj = Injector(pol, seed=0).attach(model)
    for xb, yb in _batches(digits, n=2):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xb), yb).backward()
        inj.step(opt)

    def bf16(t):
        return torch.equal(t, t.to(torch.bfloat16).to(t.dtype))

    assert all(bf16(p.detach()) and bf16(p.grad) for p in model.parameters())
    assert all(bf16(opt.state[p]["momentum_buffer"]) for p in model.parameters())
    assert sum(s.flips for s in inj.stats.values()) == 0


def test_dense_and_sparse_streams_in_training_keep_directional_semantics(digits):
    """At a high write rate (a dense stream: every word compared with the kept old words) and a low one (sparse
    candidates), in bf16, the optimizer step's weight errors only ever leave a switching bit at its old value."""
    from archsim.accuracy.inject import DENSE_CANDIDATES

    net = tiny_net(residual=False)
    for rate in (0.2, 1e-3):
        model = build_model(net, 0)
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        pol = ErrorPolicy(datatypes={DataType.WEIGHT: DataTypeErrors(write_ber_0to1=rate, write_ber_1to0=rate / 4,
                                                                     format="bf16")})
        inj = Injector(pol, seed=3).attach(model)
        assert inj._ports[DataType.WEIGHT].ws.dense == (rate * 16 >= DENSE_CANDIDATES)
        c = inj.codecs[DataType.WEIGHT]
        for xb, yb in _batches(digits, n=3):
            old = [c.encode(p.detach().clone()) for p in model.parameters()]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xb), yb).backward()
            clean = [c.encode((p - 0.5 * p.grad).detach()) for p in model.parameters()]
            inj.step(opt)
            for o, n, p in zip(old, clean, model.parameters()):
                fail = c.encode(p.detach()) ^ n
                assert int((fail & ~(o ^ n)).ne(0).sum()) == 0  # only switching bits fail
                assert torch.equal(c.encode(p.detach()) & fail, o & fail)  # and keep the old bit
        s = inj.stats[DataType.WEIGHT]
        assert s.write_flips_0to1 > 0 and s.write_flips == s.write_flips_0to1 + s.write_flips_1to0


def test_a_gradient_is_its_hooks_alone_only_when_nothing_else_holds_it_or_its_memory():
    """hooks._sole, on the gradients autograd hands three hooks: the one an addition hands to both of its inputs
    (held twice), one that is a view (its memory shared with another tensor) and a fresh sum (alone)."""
    from archsim.accuracy.hooks import _sole

    seen = {}

    def tap(y, name):
        def hook(g):
            seen[name] = _sole(g)

        y.register_hook(hook)
        return y

    x = torch.randn(4, 3, requires_grad=True)
    a = tap(x * 2.0, "sum")  # used twice: its gradient is summed from two
    b = tap(a * 3.0, "shared")
    c = tap(b + a, "view")  # its gradient is the view's, reshaped
    c.view(12).backward(torch.randn(12))
    assert seen == {"view": False, "shared": False, "sum": True}


@pytest.mark.parametrize("rate, model", [(1e-4, "directional"), (8e-2, "directional"), (1e-4, "symmetric")])
def test_errors_go_into_the_gradient_only_where_the_hook_holds_it_alone(digits, monkeypatch, rate, model):
    """The errors of a gradient go into the tensor autograd hands the hook, without a copy, where nothing else holds
    it; one that also goes elsewhere (an addition hands the same tensor to both of its inputs) is copied first.
    Training is the same, bit for bit, as with a copy of every error; the residual block has both kinds."""
    from archsim.accuracy import hooks

    m = (DataTypeErrors(write_ber_0to1=rate, write_ber_1to0=rate / 3, read_ber=rate / 10, format="bf16")
         if model == "directional" else DataTypeErrors(write_ber_0to1=rate, write_ber_1to0=rate, read_ber=rate / 10,
                                                       write_model=model))
    pol = ErrorPolicy(datatypes={DataType.ERROR: m})
    seen, (inj, (got, _)), (ref, (want, _)) = _spied_and_refused(monkeypatch, hooks, "_sole", pol, 2, digits)
    assert True in seen and False in seen
    assert inj.stats[DataType.ERROR].write_flips > 0 and inj.summary() == ref.summary()
    assert _same_params(got, want)


def test_a_stored_activation_is_read_in_place_only_alone_and_when_the_graph_is_freed():
    """hooks._last_read, asked during a backward pass that frees its graph and one that keeps it (retain_graph),
    and outside one: a tensor nothing else holds may be read in place only in the first; not one whose memory a
    view shares, nor one an autograd node holds too."""
    from archsim.accuracy.hooks import _last_read

    seen = {}

    def probe(keep):
        alone, shared, held = torch.randn(8, 8), torch.randn(8, 8), torch.randn(8, 8)
        view = shared[:4]  # noqa: F841 -- alive during the backward pass below
        z = torch.randn(8, 8, requires_grad=True)
        y = z * held  # the multiplication's node holds `held` for its backward
        y.register_hook(lambda g: seen.update({(keep, k): _last_read(t) for k, t in
                                                (("alone", alone), ("view", shared), ("held", held))}))
        y.sum().backward(retain_graph=keep)

    probe(False)
    probe(True)
    assert seen == {(False, "alone"): True, (False, "view"): False, (False, "held"): False,
                    (True, "alone"): False, (True, "view"): False, (True, "held"): False}
    assert not _last_read(torch.randn(8, 8))


@pytest.mark.parametrize("write", [0.0, 1e-3])
def test_read_errors_of_the_last_unpack_in_place_train_as_copies(digits, monkeypatch, write):
    """A stored activation that several ops saved is unpacked once per save; the last unpack takes its read errors
    in place where hooks._last_read allows it, the others into copies. Training is the same, bit for bit, as with
    a copy at every read (without write errors the stored tensor is the forward pass's own)."""
    from archsim.accuracy import hooks

    pol = ErrorPolicy(datatypes={DataType.ACTIVATION: DataTypeErrors(read_ber=2e-3, write_ber_0to1=write,
                                                                     write_ber_1to0=write)})
    seen, (inj, (got, first)), (ref, (want, ref_first)) = _spied_and_refused(monkeypatch, hooks, "_last_read", pol,
                                                                              4, digits)
    # without write errors the input batch is stored as it is: a view of the data set, never read in place
    assert True in seen and (False in seen or write > 0)
    assert inj.stats[DataType.ACTIVATION].read_flips > 0 and inj.summary() == ref.summary()
    assert all(torch.equal(first[1][k].view(torch.int32), ref_first[1][k].view(torch.int32)) for k in first[1])
    assert _same_params(got, want)


def test_a_model_off_the_cpu_is_refused():
    model = build_model(tiny_net(), 0).to(torch.float64)
    model.to("meta")
    with pytest.raises(ValueError, match="CPU"):
        Injector(ErrorPolicy.uniform([DataType.WEIGHT], 1e-3)).attach(model)


@pytest.mark.parametrize("old", ["previous", "zeros", "random"])
@pytest.mark.parametrize("rate", [1e-4, 3e-3, 8e-2])  # sparse, both kinds near the switch, dense
@pytest.mark.parametrize("fmt", ["fp32", "bf16", "int8"])
def test_plain_float32_path_matches_the_general_one(old, rate, fmt):
    """A write or read of contiguous float32 words takes a spelled-out path of the data type's port; the same
    values as a non-contiguous view (converted through inject.through_core) give the same stored bits, flip
    counts and stream state, write after write into the same buffers."""
    m = DataTypeErrors(write_ber_0to1=rate, write_ber_1to0=rate / 3, read_ber=rate / 10, format=fmt)
    ports = [Injector(ErrorPolicy(datatypes={DataType.ERROR: m}, fresh_old_contents=old), seed=5)._ports[DataType.ERROR]
             for _ in range(2)]
    gen = torch.Generator().manual_seed(1)
    for step in range(4):
        x = torch.randn(24, 40, generator=gen)
        strided = x.t().contiguous().t()  # the same values, column-major
        assert x.is_contiguous() and not strided.is_contiguous()
        outs = []
        for port, t in zip(ports, (x, strided)):
            y = port.write("buf", t)
            outs.append(port.read(y, y is not t))
        assert torch.equal(outs[0].view(torch.int32), outs[1].view(torch.int32)), step  # bits: flips make NaNs
        assert ports[0].stats == ports[1].stats
        assert ports[0].ws.n01 == ports[1].ws.n01 and ports[0].ws.n10 == ports[1].ws.n10
    assert ports[0].stats.write_flips > 0 and ports[0].stats.words_written == 4 * 24 * 40


@pytest.mark.parametrize("pol", [
    ErrorPolicy.uniform(list(ALL_DATATYPES), 2e-2, "both"),  # dense directional writes and reads
    ErrorPolicy.uniform(list(ALL_DATATYPES), 1e-3, "write"),  # sparse directional writes
    # sparse directional writes, and reads that fail often right after an error's write (before its left capture)
    ErrorPolicy(datatypes={dt: DataTypeErrors(write_ber_0to1=6e-3, write_ber_1to0=1e-6, read_ber=2e-4)
                           for dt in ALL_DATATYPES}),
    ErrorPolicy.uniform(list(ALL_DATATYPES), 1e-2, "write", "symmetric"),
    ErrorPolicy(datatypes={dt: DataTypeErrors(write_ber_0to1=3e-2, write_ber_1to0=1e-3, read_ber=1e-4, format="bf16",
                                              emulate_storage=True) for dt in ALL_DATATYPES}),
], ids=["dense-both", "sparse-write", "sparse-both", "symmetric", "bf16-emulated"])
def test_worker_thread_gives_the_same_bits(digits, pol, monkeypatch):
    """Writes run on the core's worker thread (every activation write queued: ASYNC_CANDIDATES 0, and every error's
    write in place leaves its capture to it where the stream is sparse: DEFER_CANDIDATES 0) train exactly as
    without the thread: same weights, same flip counts, per data type."""
    import archsim.accuracy.hooks as hooks
    monkeypatch.setattr(hooks, "ASYNC_CANDIDATES", 0.0)
    monkeypatch.setattr(hooks, "DEFER_CANDIDATES", 0.0)
    net, batches = tiny_net(), _batches(digits)
    on, off = Injector(pol, seed=7, thread=True), Injector(pol, seed=7, thread=False)
    m_on, _ = _run(net, batches, on)
    m_off, _ = _run(net, batches, off)
    if usable_cpus() >= 2:
        assert on.thread
    assert not off.thread
    assert _same_params(m_on, m_off)
    assert on.summary() == off.summary()
    assert sum(s.flips for s in on.stats.values()) > 0
    err = on._ports[DataType.ERROR]
    assert err.defer == (err.defers and on._spare_core())  # as the last forward pass set it
    assert err.defers == (not err.sym and not err.dense)
    assert not off._ports[DataType.ERROR].defer
    # the worker draws ahead for an every-bit error stream (positions) and a dense one with a bit-parallel direction
    # (Bernoulli words)
    ahead = err.sym and err.ws.p >= hooks.PREFETCH_RATE or err.dense and any(err.ws.bit_parallel)
    assert err.ws.ahead == (ahead and on._spare_core())
    assert not off._ports[DataType.ERROR].ws.ahead


def test_stats_wait_for_queued_writes(digits, monkeypatch):
    """A forward pass alone (nothing unpacks the stored activations): the counters still include its writes."""
    import archsim.accuracy.hooks as hooks
    monkeypatch.setattr(hooks, "ASYNC_CANDIDATES", 0.0)
    pol = ErrorPolicy.uniform([DataType.ACTIVATION], 5e-2, "write")
    counts = []
    for thread in (True, False):
        model = build_model(tiny_net(), 0)
        inj = Injector(pol, seed=1, thread=thread).attach(model)
        model.train()
        with inj.forward():
            out = model(digits.x_train[:32])
        counts.append(inj.summary())
        del out
    assert counts[0] == counts[1] and counts[0]["activation"]["write_flips"] > 0


def test_worker_thread_only_with_a_core_to_spare():
    """With as many torch threads as cores (or thread=False) the injector keeps its work on the training thread."""
    pol = ErrorPolicy.uniform([DataType.ACTIVATION], 1e-2, "both")
    cpus = usable_cpus()
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(cpus)
        assert not Injector(pol, seed=0)._spare_core()
        torch.set_num_threads(1)
        assert Injector(pol, seed=0)._spare_core() == (cpus >= 2)
        assert not Injector(pol, seed=0, thread=False)._spare_core()
    finally:
        torch.set_num_threads(old)


class _CountingStream:
    """A stream whose ``capture`` calls are counted (everything else passes through)."""

    def __init__(self, s):
        self._s, self.captures = s, 0

    def __getattr__(self, name):
        return getattr(self._s, name)

    def capture(self, *args):
        self.captures += 1
        return self._s.capture(*args)


@pytest.mark.parametrize("fmt", ["fp32", "bf16", "fp16"])
@pytest.mark.parametrize("touch", [False, True], ids=["untouched", "weights-changed-between-steps"])
def test_update_writes_spare_the_next_capture(digits, monkeypatch, fmt, touch):
    """The optimizer step's dense writes of the weights and the state keep in their slots what the next step's
    capture would keep (keep=2), and the next step skips that capture while nothing has changed the tensors: the
    same bits as capturing every step. With a weight changed in place between steps (its version counter moves),
    the step captures again and the bits still agree."""
    import archsim.accuracy.hooks as hooks
    pol = ErrorPolicy(datatypes={dt: DataTypeErrors(write_ber_0to1=4e-2, write_ber_1to0=1e-2, format=fmt)
                                 for dt in (DataType.WEIGHT, DataType.OPTIMIZER_STATE)})
    batches = _batches(digits, n=4)
    runs = []
    for keep in (True, False):
        if not keep:
            monkeypatch.setattr(hooks._Port, "update_keep", lambda self, seg: False)
        torch.manual_seed(123)
        model = build_model(tiny_net(), 0)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        inj = Injector(pol, seed=3).attach(model)
        ports = [inj._ports[dt] for dt in (DataType.WEIGHT, DataType.OPTIMIZER_STATE)]
        assert all(p.dense for p in ports)
        for p in ports:
            p.ws = _CountingStream(p.ws)
        model.train()
        for i, (xb, yb) in enumerate(batches):
            opt.zero_grad()
            with inj.forward():
                out = model(xb)
            torch.nn.functional.cross_entropy(out, yb).backward()
            inj.step(opt)
            if touch and i == 1:
                with torch.no_grad():
                    next(model.parameters()).mul_(0.5)
        runs.append((model, inj.summary(), [p.ws.captures for p in ports]))
    (m_keep, s_keep, c_keep), (m_cap, s_cap, c_cap) = runs
    assert _same_params(m_keep, m_cap) and s_keep == s_cap
    assert s_keep["weight"]["write_flips"] > 0 and s_keep["optimizer_state"]["write_flips"] > 0
    # capturing every step: 4 each (the first step's state capture covers no buffer: the step creates them); kept:
    # the weights' first (and the one after the change), the state's first two (the second is its first with buffers)
    assert c_cap == [4, 4]
    assert c_keep == [1 + touch, 2]
