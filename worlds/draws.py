"""One random draw per call: the helpers the built-in worlds share.

On CPU, every ``jax.random`` call is a Threefry hash of its own (a ``split``, each
``randint``, each ``permutation``), and in a small world these hashes cost more than the
dynamics: in ``Foraging-v0`` (1024 worlds) dropping only the reset's draws made the
auto-reset step 1.39x faster. So each built-in world's ``reset_env`` and ``step_env`` makes **one**
call, ``jax.random.uniform(key, (n,))``, and derives everything else from those ``n``
numbers with the helpers below. The distributions are those of the ``jax.random``
functions they replace (a float32 uniform resolves 2**-24, so an index is uniform up to
that); the random stream is not.
"""

from __future__ import annotations

import jax.numpy as jnp


def pick(u: jnp.ndarray, n: int) -> jnp.ndarray:
    """Uniform indices in ``0..n-1`` from uniforms ``u`` in ``[0, 1)`` (any shape)."""
    return jnp.minimum((u * n).astype(jnp.int32), n - 1)


def shuffle(u: jnp.ndarray) -> jnp.ndarray:
    """A uniformly random permutation of ``0..len(u)-1`` from ``len(u)`` iid uniforms (their
    ranks). float32 uniforms take 2**23 values, so some pair ties with probability about
    ``len(u)**2 * 2**-24`` (1e-4 for 40), and a tie keeps index order: a bias that small."""
    return jnp.argsort(u).astype(jnp.int32)


def distinct_uniforms(n: int, k: int) -> int:
    """How many uniforms :func:`distinct` needs for ``k`` of ``n``."""
    return 1 if k == 1 else n


def distinct(u: jnp.ndarray, n: int, k: int) -> jnp.ndarray:
    """``k`` distinct indices in ``0..n-1``, uniformly at random, in random order (as
    ``jax.random.choice(..., replace=False)``), from ``distinct_uniforms(n, k)`` uniforms."""
    if k == 1:
        return pick(u[:1], n)
    return shuffle(u[:n])[:k]
