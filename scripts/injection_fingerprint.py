"""Fingerprint of seeded injection results: do two versions of the harness train bit-identically?

    .venv/bin/python scripts/injection_fingerprint.py OUT.json [--no-worker]     # in each checkout (same machine)

and compare the two files (``json.load`` both; every key must hold the same value).

Trains resnet18-mini on the embedded digits for 12 steps (SGD with momentum, and Adam) under 22 error policies --
every write model, fp32 / bf16 / fp16 / int8 (per-tensor and fixed scale), emulated storage, the three kinds of old
contents, rates from 1e-14 to 0.7 -- and writes a hash of the final weights and optimizer state, the losses (exact,
as hex) and the flip counts of each run. A change meant only for speed must leave every entry equal: that keeps the
seeded numbers in docs/results.md and docs/accuracy.md reproducible (archsim 0.2.0's compiled core drew a new
random stream, so fingerprints of 0.1.0 and 0.2.0 differ by design; 0.4.0 draws a dense direction at 1/64 per
switching bit or more bit-parallel, so its bf16_hi and weights_hi differ from 0.3.0's). The floats depend on the
CPU and the torch build, so compare fingerprints made on the same machine. The worker thread does not change the
bits, so ``--no-worker`` (``Injector(thread=False)``, every write on the training thread, as the study trains where
it runs a task on every core) must give the same file as the default.
"""
import hashlib
import json
import sys

import torch

from archsim.accuracy.data import load_digits
from archsim.accuracy.hooks import Injector
from archsim.accuracy.models import build_model
from archsim.accuracy.policy import DataTypeErrors as M
from archsim.accuracy.policy import ErrorPolicy
from archsim.accuracy.train import network_for
from archsim.datatypes import ALL_DATATYPES
from archsim.datatypes import DataType as D


def _all(**kw) -> ErrorPolicy:
    """The same error model at every data type (``fresh``: the old contents of fresh writes)."""
    fresh = kw.pop("fresh", "previous")
    return ErrorPolicy(datatypes={d: M(**kw) for d in ALL_DATATYPES}, fresh_old_contents=fresh)


CASES = {
    "dir_unequal": _all(read_ber=1e-5, write_ber_0to1=6.6e-5, write_ber_1to0=3e-6),
    "dir_1e4": _all(read_ber=1e-4, write_ber_0to1=1e-4, write_ber_1to0=1e-4),
    "dir_unequal_1e4": _all(read_ber=1e-4, write_ber_0to1=2e-4, write_ber_1to0=5e-5),
    "sym_1e4": _all(read_ber=1e-4, write_ber_0to1=1e-4, write_ber_1to0=1e-4, write_model="symmetric"),
    "mram": _all(read_ber=7.5e-9, write_ber_0to1=6.6e-7, write_ber_1to0=6e-16),
    "mram_hi": _all(read_ber=7.5e-7, write_ber_0to1=6.6e-4, write_ber_1to0=6e-9),
    "bf16": _all(read_ber=1e-4, write_ber_0to1=1e-4, write_ber_1to0=3e-5, format="bf16"),
    "bf16_emul": _all(read_ber=1e-5, write_ber_0to1=1e-5, write_ber_1to0=3e-6, format="bf16", emulate_storage=True),
    "fp16": _all(read_ber=1e-5, write_ber_0to1=1e-4, write_ber_1to0=3e-5, format="fp16"),
    "int8": _all(read_ber=1e-4, write_ber_0to1=1e-4, write_ber_1to0=3e-5, format="int8"),
    "zeros": _all(read_ber=1e-5, write_ber_0to1=1e-4, write_ber_1to0=3e-5, fresh="zeros"),
    "random": _all(read_ber=1e-5, write_ber_0to1=1e-4, write_ber_1to0=3e-5, fresh="random"),
    "weights_hi": ErrorPolicy(datatypes={D.WEIGHT: M(read_ber=1e-3, write_ber_0to1=0.2, write_ber_1to0=0.05)}),
    "dense": ErrorPolicy(datatypes={D.WEIGHT_GRADIENT: M(read_ber=0.7, write_ber_0to1=0.0)}),
    "sym_hi": ErrorPolicy(datatypes={D.WEIGHT: M(write_ber_0to1=0.1, write_ber_1to0=0.1, write_model="symmetric")}),
    "int8_fixed": _all(read_ber=1e-4, write_ber_0to1=1e-4, write_ber_1to0=3e-5, format="int8", int8_scale=0.02),
    "fp16_sym": _all(read_ber=1e-4, write_ber_0to1=1e-4, write_ber_1to0=1e-4, format="fp16", write_model="symmetric"),
    "bf16_hi": _all(read_ber=1e-3, write_ber_0to1=8e-2, write_ber_1to0=1e-6, format="bf16"),
    # sparse directional streams whose gaps come from the alias table (5.4e-3 < p_max, under 0.25 candidates a word)
    "bf16_sparse_table": _all(read_ber=1e-5, write_ber_0to1=1e-2, write_ber_1to0=4e-7, format="bf16"),
    "fp32_sparse_table": _all(read_ber=1e-5, write_ber_0to1=6e-3, write_ber_1to0=2e-7),
    "random_table": _all(read_ber=1e-5, write_ber_0to1=1e-2, write_ber_1to0=3e-3, format="bf16", fresh="random"),
    "tiny": _all(read_ber=1e-13, write_ber_0to1=1e-13, write_ber_1to0=1e-14),
}


def fingerprint(net, data, policy: ErrorPolicy, optimizer: str, steps: int = 12, thread: bool = True) -> dict:
    torch.manual_seed(0)
    model = build_model(net, 0)
    opt = (torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=1e-3))
    names = {id(q): n for n, q in model.named_parameters()}
    inj = Injector(policy, 3, thread=thread).attach(model)
    model.train()
    x, y = data.x_train, data.y_train
    losses = []
    for i in range(steps):
        j = (i * 32) % (len(x) - 32)
        opt.zero_grad(set_to_none=True)
        with inj.forward():
            out = model(x[j:j + 32])
        loss = torch.nn.functional.cross_entropy(out, y[j:j + 32])
        loss.backward()
        losses.append(float(loss.detach()).hex())
        inj.step(opt, names)
    h = hashlib.sha256()
    for q in model.parameters():
        h.update(q.detach().numpy().tobytes())
    for st in opt.state.values():
        for _, v in sorted(st.items()):
            if torch.is_tensor(v):
                h.update(v.numpy().tobytes())
    return {"hash": h.hexdigest()[:16], "losses": losses, "stats": inj.summary()}


def main() -> None:
    torch.set_num_threads(1)
    data = load_digits()
    net = network_for("resnet18-mini", data)
    args = [a for a in sys.argv[1:] if a != "--no-worker"]
    thread = "--no-worker" not in sys.argv[1:]
    if len(args) != 1:
        raise SystemExit(__doc__)
    out = {f"{name}/{opt}": fingerprint(net, data, pol, opt, thread=thread)
           for name, pol in CASES.items() for opt in ("sgd", "adam")}
    with open(args[0], "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    print(f"wrote {len(out)} fingerprints to {args[0]}")


if __name__ == "__main__":
    main()
