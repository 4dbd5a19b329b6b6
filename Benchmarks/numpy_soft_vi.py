#!/usr/bin/env python3
"""Vectorised NumPy/SciPy soft value iteration: the reference that
`tokenmdp bench solve` is compared against (SPEC §5), and a correctness check
of `tokenmdp solve` on a tokenmdp/v1 file.

The recursion (SPEC §1.2), on the time-indexed automaton (t, q):

    V_H(q)   = R_T(q)
    V_t(q)   = beta * logsumexp_a((r(q, a) + W_t(delta(q, a))) / beta)
    W_t      = R_T if t = H-1 (and always for the EOS token), else V_{t+1}

One step is a gather `r + V[delta]` (S x V) and one
`scipy.special.logsumexp(..., axis=1)`: the best a NumPy user would write.

Modes
-----
time (default): a random automaton of the given shape (like
`tokenmdp bench solve`: Gaussian rewards, uniform successors, no EOS), solved
--repeat times; prints ns_per_edge median/min/max = seconds / (H*S*V).

    python3 Benchmarks/numpy_soft_vi.py --latent 10000 --vocab 256 --horizon 64 --repeat 3

check: solves a tokenmdp/v1 JSON file here and compares every V_t(q) with
the `values.csv` written by `tokenmdp solve --out DIR` (|a-b| <= tol*(1+|b|),
default tol 1e-9). Without --mdp it writes a small random file with EOS,
forbidden (null) rewards and several prompts, runs the tokenmdp binary given
by --tokenmdp on it, and compares. Exit code 1 on a mismatch.

    python3 Benchmarks/numpy_soft_vi.py --check --tokenmdp .build/release/tokenmdp
    python3 Benchmarks/numpy_soft_vi.py --check --mdp mdp.json --values solved/values.csv --beta 0.5

Needs numpy and scipy (Experiments/requirements.txt pins the versions used).
"""
import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.special import logsumexp


def soft_vi(delta, rewards, terminal, horizon, beta, eos=None):
    """All V_t(q), t = 0..H, as an (H+1) x S array.

    delta: S x V int array; rewards: S x V float (-inf = forbidden);
    terminal: S floats; beta >= 0 (0 = hard max); eos: token id or None.
    """
    S, V = delta.shape
    values = np.empty((horizon + 1, S))
    values[horizon] = terminal
    term_tail = terminal[delta]                      # R_T(delta(q, a)), used at t = H-1 and by EOS
    for t in range(horizon - 1, -1, -1):
        if t == horizon - 1:
            x = rewards + term_tail
        else:
            x = rewards + values[t + 1][delta]
            if eos is not None:
                x[:, eos] = rewards[:, eos] + term_tail[:, eos]
        if beta == 0:
            values[t] = x.max(axis=1)
        else:
            values[t] = beta * logsumexp(x / beta, axis=1)
    return values


def random_automaton(S, V, seed):
    rng = np.random.default_rng(seed)
    delta = rng.integers(0, S, size=(S, V), dtype=np.int64)
    rewards = rng.standard_normal((S, V))
    terminal = rng.standard_normal(S)
    return delta, rewards, terminal


def time_mode(args):
    S, V, H = args.latent, args.vocab, args.horizon
    delta, rewards, terminal = random_automaton(S, V, args.seed)
    edges = H * S * V
    soft_vi(delta, rewards, terminal, H, args.beta)             # warm-up
    ns = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        values = soft_vi(delta, rewards, terminal, H, args.beta)
        ns.append((time.perf_counter() - t0) * 1e9 / edges)
    print("bench: numpy_soft_vi")
    print("python: %s numpy: %s scipy: %s" % (platform.python_version(), np.__version__, __import__("scipy").__version__))
    print("shape: S=%d V=%d H=%d edges=%d beta=%g repeat=%d" % (S, V, H, edges, args.beta, args.repeat))
    print("ns_per_edge_median: %.4f" % statistics.median(ns))
    print("ns_per_edge_min: %.4f" % min(ns))
    print("ns_per_edge_max: %.4f" % max(ns))
    print("root_value: %.17g" % values[0, 0])


def load_mdp(path):
    with open(path) as f:
        d = json.load(f)
    assert d.get("format") == "tokenmdp/v1", "not a tokenmdp/v1 file"
    delta = np.array(d["transitions"], dtype=np.int64)
    rewards = np.array([[-np.inf if r is None else float(r) for r in row] for row in d["rewards"]])
    terminal = np.array(d["terminal_rewards"], dtype=float)
    return delta, rewards, terminal, int(d["horizon"]), d.get("eos")


def write_random_mdp(path, seed):
    """A small random tokenmdp/v1 file with EOS, forbidden tokens and 3 prompts."""
    rng = np.random.default_rng(seed)
    S, V, H = 12, 5, 6
    eos = V - 1
    delta = rng.integers(0, S, size=(S, V))
    rewards = rng.standard_normal((S, V)).round(6)
    forbid = rng.random((S, V)) < 0.2
    forbid[:, 0] = False                              # every row keeps an allowed token
    doc = {
        "format": "tokenmdp/v1", "vocab_size": V, "horizon": H, "eos": eos, "num_latent": S,
        "transitions": delta.tolist(),
        "rewards": [[None if forbid[q, a] else float(rewards[q, a]) for a in range(V)] for q in range(S)],
        "terminal_rewards": rng.standard_normal(S).round(6).tolist(),
        "prompts": [{"latent": int(q)} for q in rng.integers(0, S, size=3)],
    }
    with open(path, "w") as f:
        json.dump(doc, f)


def check_mode(args):
    with tempfile.TemporaryDirectory(prefix="tokenmdp-check-") as tmp:
        mdp_path, values_path = args.mdp, args.values
        if mdp_path is None:
            mdp_path = os.path.join(tmp, "mdp.json")
            write_random_mdp(mdp_path, args.seed)
        if values_path is None:
            out = os.path.join(tmp, "solved")
            subprocess.run([args.tokenmdp, "solve", "--mdp", mdp_path, "--beta", repr(args.beta), "--out", out],
                           check=True, stdout=subprocess.DEVNULL)
            values_path = os.path.join(out, "values.csv")
        delta, rewards, terminal, H, eos = load_mdp(mdp_path)
        ref = soft_vi(delta, rewards, terminal, H, args.beta, eos=eos)
        worst, n = 0.0, 0
        with open(values_path) as f:
            for row in csv.DictReader(f):
                t, q, v = int(row["t"]), int(row["latent"]), float(row["value"])
                worst = max(worst, abs(v - ref[t, q]) / (1 + abs(ref[t, q])))
                n += 1
    assert n == ref.size, "values.csv has %d rows, expected %d" % (n, ref.size)
    ok = worst <= args.tol
    print("check: %s  values %d  beta %g  max |diff|/(1+|v|) = %.3g  (tolerance %g)  %s"
          % (args.mdp or "random tokenmdp/v1 file (EOS, forbidden tokens)", n, args.beta, worst, args.tol,
             "OK" if ok else "MISMATCH"))
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--latent", type=int, default=10_000, help="S (time mode)")
    p.add_argument("--vocab", type=int, default=256, help="V (time mode)")
    p.add_argument("--horizon", type=int, default=64, help="H (time mode)")
    p.add_argument("--beta", type=float, default=1.0, help="temperature beta >= 0")
    p.add_argument("--repeat", type=int, default=3, help="timed solves (time mode)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--check", action="store_true", help="correctness mode (see below)")
    p.add_argument("--mdp", help="tokenmdp/v1 file to check (default: a generated random one)")
    p.add_argument("--values", help="values.csv from `tokenmdp solve --out` (default: run --tokenmdp)")
    p.add_argument("--tokenmdp", default=".build/release/tokenmdp", help="tokenmdp binary for --check")
    p.add_argument("--tol", type=float, default=1e-9, help="check tolerance, |a-b| <= tol*(1+|b|)")
    args = p.parse_args()
    if args.check:
        sys.exit(check_mode(args))
    time_mode(args)


if __name__ == "__main__":
    main()
