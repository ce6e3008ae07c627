"""Host-run (Gymnasium) experiments on this machine (a script, not a test).

    python -m experiments.tools.host_bench [--steps 60000] [--envs 8,64] [--workers 0,2]

Times a CliffWalking lesion experiment (2 seeds x 2 conditions, ``--steps`` per run) end
to end through ``run_experiment``, for every number of environments per run and every
number of workers, each in a fresh process (compile included, as a user meets it), and
the step of a Gymnasium ``SyncVectorEnv`` against an ``AsyncVectorEnv`` of 16
environments. The machine is shared and noisy: compare rows of one invocation.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time

import numpy as np

WORLD = "experiments.tools.host_bench:cliff"


def cliff_signals(step):
    """CliffWalking: -100 for stepping off the cliff (a loss); a 100-step budget."""
    fell = np.asarray(step.reward) <= -100
    return {"energy": 1.0 - step.t / 100, "loss": fell * 1.0}


def cliff():
    """The benchmark's world (named ``experiments.tools.host_bench:cliff`` in its spec)."""
    import worlds

    return worlds.from_gymnasium("CliffWalking-v1", cliff_signals, max_episode_steps=100)


def one_run(steps: int, envs: int, workers: int, out: str) -> float:
    """Wall seconds of one experiment in this process."""
    from affect import Lesion
    from affect.ppo import AgentConfig
    from experiments.runner import run_experiment
    from experiments.spec import ExperimentSpec

    spec = ExperimentSpec(
        name="cliff", world=WORLD, seeds=2, total_steps=steps,
        agent=AgentConfig(num_envs=envs, num_steps=32, eval_envs=envs),
        conditions=(Lesion("intact"), Lesion("no-affect", {"hunger": 0.0, "frustration": 0.0})))
    t0 = time.perf_counter()
    run_experiment(spec, out, workers=workers, fresh=True, figures=False, progress=False)
    return time.perf_counter() - t0


def vector_step_ms(kind: str, n: int = 16, steps: int = 500) -> float:
    """Milliseconds per step of ``n`` CliffWalking environments in a vector env."""
    import gymnasium
    from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv
    from gymnasium.wrappers import TimeLimit

    cls = SyncVectorEnv if kind == "sync" else AsyncVectorEnv
    env = cls([lambda: TimeLimit(gymnasium.make("CliffWalking-v1"), 100)] * n,
              autoreset_mode=AutoresetMode.SAME_STEP)
    rng = np.random.default_rng(0)
    try:
        env.reset(seed=0)
        t0 = time.perf_counter()
        for _ in range(steps):
            env.step(rng.integers(0, 4, n))
        return (time.perf_counter() - t0) / steps * 1e3
    finally:
        env.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60_000)
    parser.add_argument("--envs", default="8,64")
    parser.add_argument("--workers", default="0,2")
    parser.add_argument("--one", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:  # a child: one experiment, print its wall time
        with tempfile.TemporaryDirectory() as tmp:
            print(one_run(*args.one, out=f"{tmp}/out"))
        return 0
    print(f"CliffWalking, 2 seeds x 2 conditions x {args.steps:,} steps per run")
    for envs in [int(e) for e in args.envs.split(",")]:
        for workers in [int(w) for w in args.workers.split(",")]:
            proc = subprocess.run(
                [sys.executable, "-m", "experiments.tools.host_bench", "--one",
                 str(args.steps), str(envs), str(workers)],
                capture_output=True, text=True, check=True)
            print(f"  {envs:>3} environments per run, {workers} workers: "
                  f"{float(proc.stdout.split()[-1]):6.1f} s")
    sync, asynchronous = vector_step_ms("sync"), vector_step_ms("async")
    print(f"16 environments: SyncVectorEnv {sync:.2f} ms per step, AsyncVectorEnv "
          f"{asynchronous:.2f} ms ({asynchronous / sync:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
