"""Maximum-likelihood and MAP fits of a :class:`~experiments.fit.models.Model`, one
participant at a time, all participants at once.

Every participant's free parameters are fitted on their unconstrained scale, on the
negative log-likelihood (ML) or log-posterior (MAP: the model's stated prior), from
several starts (the first at the model's defaults, the others drawn from the prior); the
best start wins. The default optimiser takes damped Newton steps whose Hessian is the
outer product of the per-trial scores (BHHH, the classic for maximum likelihood: a
handful of steps converge where first-order methods need hundreds, and the per-trial
scores of ``P`` parameters cost one forward-mode pass); ``method="adam"`` runs
``optax``'s Adam instead. Participants and starts are ``vmap``-ed
together in batches of ``batch`` sessions (the agent's replay keeps a network per
session in memory for the gradient), each batch one compiled program.

Information criteria use the log-likelihood at the estimate: ``AIC = 2k - 2 LL``,
``BIC = k ln(n) - 2 LL`` with ``k`` free parameters and ``n`` choices.
"""

from __future__ import annotations

import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from experiments.fit.data import Sessions
from experiments.fit.models import PRIOR_SD, Model


def trials_of(sessions: Sessions) -> dict[str, np.ndarray]:
    """The arrays a model's ``loglik`` reads, leading axis ``N`` (``sessions.arrays()``:
    IGT :class:`~experiments.fit.data.Sessions` or choice-RT sessions)."""
    return sessions.arrays()


def log_prior(z: jnp.ndarray) -> jnp.ndarray:
    """``sum log Normal(z; 0, PRIOR_SD)`` over a participant's free parameters."""
    return jnp.sum(-0.5 * (z / PRIOR_SD) ** 2 - jnp.log(PRIOR_SD * jnp.sqrt(2 * jnp.pi)))


def make_objective(model: Model, prior: bool):
    """``objective(z (P,), trials) -> (loss, loglik)`` of one participant."""

    def objective(z, trials):
        ll = model.loglik(model.theta(z), trials).sum()
        return -(ll + (log_prior(z) if prior else 0.0)), ll

    return objective


def _adam(model: Model, prior: bool, steps: int, lr: float):
    """``run(z0 (B, P), trials) -> z``: ``steps`` Adam steps (``optax``) on the objective
    (gradients in forward mode: ``P`` is small and the replay is long)."""
    objective = make_objective(model, prior)
    grad = jax.vmap(jax.jacfwd(lambda z, t: objective(z, t)[0]))
    opt = optax.adam(lr)

    def run(z0, trials):
        def step(carry, _):
            z, state = carry
            g = grad(z, trials)
            g = jnp.where(jnp.isfinite(g), g, 0.0)
            updates, state = opt.update(g, state, z)
            return (optax.apply_updates(z, updates), state), None

        return jax.lax.scan(step, (z0, opt.init(z0)), None, length=steps)[0][0]

    return run


def _scoring(model: Model, prior: bool, steps: int, lr: float = 0.0, max_step: float = 2.0):
    """``run(z0 (B, P), trials) -> z``: ``steps`` damped Newton steps with the outer
    product of the per-trial scores as the Hessian of the log-likelihood (BHHH: Berndt,
    Hall, Hall & Hausman 1974) plus the prior's, Levenberg-Marquardt damping (a step
    that does not lower the objective is refused and the damping raised) and steps of
    at most ``max_step`` per coordinate (``lr`` is not used: the steps are Newton's).
    The per-trial scores come from one forward-mode pass with ``P`` tangents."""

    def per_trial(z, trials):
        return model.loglik(model.theta(z), trials)

    def value(z, trials):
        return -(per_trial(z, trials).sum() + (log_prior(z) if prior else 0.0))

    def one(z, f, mu, trials):
        k = z.shape[0]
        ll, jac = jax.vmap(lambda v: jax.jvp(lambda x: per_trial(x, trials), (z,), (v,)),
                           out_axes=(None, 1))(jnp.eye(k, dtype=z.dtype))
        jac = jnp.where(jnp.isfinite(jac), jac, 0.0)
        grad = -jac.sum(0) + (z / PRIOR_SD**2 if prior else 0.0)
        hess = jac.T @ jac + (jnp.eye(k) / PRIOR_SD**2 if prior else 1e-6 * jnp.eye(k))
        damped = hess + mu * (jnp.diag(jnp.diag(hess)) + 1e-6 * jnp.eye(k))
        delta = jnp.clip(-jnp.linalg.solve(damped, grad), -max_step, max_step)
        z_new = jnp.clip(z + delta, -8.0, 8.0)
        f_new = value(z_new, trials)
        better = jnp.isfinite(f_new) & (f_new < f)
        return (jnp.where(better, z_new, z), jnp.where(better, f_new, f),
                jnp.where(better, mu / 3.0, mu * 4.0))

    def run(z0, trials):
        f0 = jax.vmap(value)(z0, trials)
        f0 = jnp.where(jnp.isfinite(f0), f0, jnp.inf)

        def step(carry, _):
            return jax.vmap(one)(*carry, trials), None

        mu0 = jnp.full(z0.shape[:1], 1e-2, z0.dtype)
        return jax.lax.scan(step, (z0, f0, mu0), None, length=steps)[0][0]

    return run


METHODS = {"scoring": _scoring, "adam": _adam}
"""Optimisers: ``scoring`` (damped BHHH Newton steps, the default) and ``adam``."""


def _program(model: Model, prior: bool, steps: int, method: str, lr: float):
    """``run(z0 (B, P), trials (B, T)) -> (z, loss, loglik)``, compiled."""
    if method not in METHODS:
        raise ValueError(f"unknown fitting method {method!r}; use one of {sorted(METHODS)}")
    optimise = METHODS[method](model, prior, steps, lr)
    objective = jax.vmap(make_objective(model, prior))

    @jax.jit
    def run(z0, trials):
        z = optimise(z0, trials)
        loss, ll = objective(z, trials)
        return z, loss, ll

    return run


def starts(model: Model, n: int, restarts: int, seed: int) -> np.ndarray:
    """``(restarts, n, P)`` initial points: the defaults, then draws from the prior."""
    if restarts < 1:
        raise ValueError(f"restarts must be >= 1, got {restarts}")
    default = np.array([p.z_of(p.default) for p in model.free_params], np.float32)
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, PRIOR_SD, (restarts, n, len(default))).astype(np.float32)
    z[0] = default
    return z


def fit_sessions(model: Model, sessions: Sessions, *, restarts: int = 3, steps: int = 20,
                 method: str = "scoring", lr: float = 0.1, prior: bool = True,
                 batch: int = 64, seed: int = 0, log=sys.stderr) -> pd.DataFrame:
    """Fit ``model`` to every participant of ``sessions``; one row per participant:
    ``subjID``, the free parameters, ``loglik``, ``trials``, ``k``, ``aic``, ``bic``,
    ``start_spread`` (best minus worst start's final objective: 0 when every start
    agreed), and the per-subject columns of the data."""
    n, k = len(sessions.subjects), len(model.free)
    trials = trials_of(sessions)
    z0 = starts(model, n, restarts, seed).reshape(restarts * n, k)
    flat = {key: np.tile(v, (restarts, 1)) for key, v in trials.items()}
    run = _program(model, prior, steps, method, lr)
    z, loss, ll = [], [], []
    t0 = time.perf_counter()
    total = restarts * n
    for lo in range(0, total, batch):
        idx = np.arange(lo, lo + batch) % total  # the last batch wraps (same shapes)
        zi, li, lli = run(jnp.asarray(z0[idx]), {key: jnp.asarray(v[idx])
                                                  for key, v in flat.items()})
        keep = min(batch, total - lo)
        z.append(np.asarray(zi)[:keep])
        loss.append(np.asarray(li)[:keep])
        ll.append(np.asarray(lli)[:keep])
        done = lo + keep
        rate = done / (time.perf_counter() - t0)
        print(f"fit {model.name}: {done}/{total} sessions (participants x starts), "
              f"{time.perf_counter() - t0:.0f} s, ETA {(total - done) / rate:.0f} s",
              file=log, flush=True)
    z = np.concatenate(z).reshape(restarts, n, k)
    loss = np.concatenate(loss).reshape(restarts, n)
    ll = np.concatenate(ll).reshape(restarts, n)
    return _table(model, sessions, z, loss, ll)


def _table(model: Model, sessions: Sessions, z, loss, ll) -> pd.DataFrame:
    n, k = z.shape[1], z.shape[2]
    loss = np.where(np.isfinite(loss), loss, np.inf)
    best = np.argmin(loss, axis=0)
    rows = np.arange(n)
    zb = z[best, rows]
    theta = {p.name: np.asarray(p.value(jnp.asarray(zb[:, i])))
             for i, p in enumerate(model.free_params)}
    llb = ll[best, rows].astype(float)
    m = sessions.trials.astype(float)
    finite = np.where(np.isfinite(loss), loss, np.nan)
    out = pd.DataFrame({"subjID": sessions.subjects, **theta, "loglik": llb,
                        "trials": m.astype(int), "k": k,
                        "aic": 2 * k - 2 * llb, "bic": k * np.log(m) - 2 * llb,
                        "start_spread": np.nanmax(finite, 0) - np.nanmin(finite, 0)})
    extra = sessions.extra.reset_index(drop=True)
    return pd.concat([out, extra], axis=1)
