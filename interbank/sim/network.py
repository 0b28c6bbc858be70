"""Seeded generators of the directed lending network (edge i -> j: i may lend to j).

Every generator returns ``(lender, borrower)`` as int64 arrays sorted by lender
then borrower, without self-loops or duplicate pairs, in O(banks + edges) time
and memory (no N x N matrix is ever built).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from interbank.sim.ledger import distinct_keys
from interbank.sim.registry import Registry


def _finish(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    keep = src != dst
    key = distinct_keys(src[keep].astype(np.int64) * n + dst[keep].astype(np.int64))  # np.unique's values
    return key // n, key % n


_BUCKETS = 1 << 16


def _inverse_cdf(cdf: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``np.searchsorted(cdf, x, side="right")`` for many unsorted ``x`` in [0, cdf[-1]]: the same
    indices, looked up in order of ``x``'s 65,536 equal slices of the range (one radix pass) so
    that consecutive binary searches touch nearby parts of a large ``cdf`` (about 3 times faster
    at a million banks than searching in random order, where almost every probe misses the cache)."""
    if x.size < _BUCKETS or cdf.size < _BUCKETS:
        return np.searchsorted(cdf, x, side="right")
    bucket = np.minimum(x * (_BUCKETS / cdf[-1]), _BUCKETS - 1).astype(np.uint16)
    order = np.argsort(bucket, kind="stable")  # a radix sort of 16-bit keys
    out = np.empty(x.size, np.int64)
    out[order] = np.searchsorted(cdf, x[order], side="right")
    return out


def erdos_renyi(n: int, avg_degree: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Directed G(n, p) with p = avg_degree / (n - 1): each ordered pair independently."""
    if n < 2 or avg_degree <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    p = min(1.0, avg_degree / (n - 1))
    pairs = n * (n - 1)
    if pairs <= 50_000:
        # exact: one Bernoulli draw per ordered pair
        flat = np.flatnonzero(rng.random(pairs) < p)
        src = flat // (n - 1)
        off = flat % (n - 1)
        dst = off + (off >= src)
        return src.astype(np.int64), dst.astype(np.int64)
    # large n: draw the edge count, then distinct pairs (rejection of duplicates)
    m = int(rng.binomial(pairs, p))
    key = np.zeros(0, np.int64)
    while key.size < m:
        need = m - key.size
        src = rng.integers(0, n, size=int(need * 1.1) + 16)
        dst = rng.integers(0, n, size=src.size)
        ok = src != dst
        key = np.unique(np.concatenate([key, src[ok] * n + dst[ok]]))
    if key.size > m:
        key = np.sort(rng.choice(key, size=m, replace=False))
    return key // n, key % n


def scale_free(
    n: int, avg_degree: float, exponent: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Chung-Lu directed graph whose expected degrees follow a power law.

    Weights w_i ~ i^(-1/(exponent-1)); n * avg_degree endpoint pairs are drawn
    with probability proportional to the weights (duplicates merged).
    """
    if n < 2 or avg_degree <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ranks = rng.permutation(n) + 1.0
    w = ranks ** (-1.0 / (exponent - 1.0))
    w /= w.sum()
    m = int(round(n * avg_degree))
    src = rng.choice(n, size=m, p=w)
    dst = rng.choice(n, size=m, p=w)
    return _finish(src, dst, n)


def core_periphery(
    n: int, avg_degree: float, core_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A complete core of ``core_fraction * n`` banks; each periphery bank lends
    to and borrows from core banks only, so that the mean out-degree is close to
    ``avg_degree`` (at least one link each way)."""
    n_core = max(1, min(n - 1, int(round(core_fraction * n)))) if n > 1 else n
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    core = np.arange(n_core)
    cs, cd = np.meshgrid(core, core, indexing="ij")
    cs, cd = cs.ravel(), cd.ravel()
    n_per = n - n_core
    core_edges = n_core * (n_core - 1)
    per_links = max(1, int(round((avg_degree * n - core_edges) / max(1, 2 * n_per))))
    per_links = min(per_links, n_core)
    periphery = np.repeat(np.arange(n_core, n), per_links)
    targets = rng.integers(0, n_core, size=periphery.size)
    src = np.concatenate([cs, periphery, targets])
    dst = np.concatenate([cd, targets, periphery])
    return _finish(src, dst, n)


def fitness_ranks(sizes: np.ndarray | None, n: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Every bank's rank as a counterparty, 1 = the most attractive: by ``sizes``, largest
    first (ties by index), or a random order without sizes."""
    if sizes is None:
        order = rng.permutation(n) if rng is not None else np.arange(n)
    else:
        order = np.lexsort((np.arange(n), -np.asarray(sizes, dtype=np.float64)))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(1, n + 1)
    return rank


def fitness(
    n: int, avg_degree: float, exponent: float, reach: float, rng: np.random.Generator,
    sizes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A tiered fitness network: heavy-tailed fitness by size, no link between two small banks.

    Each bank draws a fitness from a Pareto law with density ~ x^-``exponent`` (x >= 1);
    the largest fitness goes to the largest bank (``sizes``; a random order without them).
    Links i -> j are drawn with probability proportional to fitness_i x fitness_j (Chung-Lu;
    De Masi, Iori & Caldarelli 2006 fit the Italian interbank market with bank size as the
    fitness) until ``n * avg_degree`` distinct links exist, keeping only pairs whose size
    ranks (1 = largest) satisfy rank_i x rank_j <= ``reach`` * n: the threshold fitness model
    of Caldarelli et al. (2002) with Zipf fitness 1 / rank, which makes the network tiered
    (about the sqrt(reach * n) largest banks all deal with each other, a small bank only with
    large ones), so the core is the largest banks (Craig & von Peter 2014) and the degrees
    are fat-tailed (Boss et al. 2004). Then a bank without a borrower (or a lender) gets one
    within its reach, drawn by fitness: every bank takes part in the market, as in
    ``core_periphery``.
    """
    if n < 2 or avg_degree <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rank = fitness_ranks(sizes, n, rng)
    fit = np.sort((1.0 - rng.random(n)) ** (-1.0 / (exponent - 1.0)))[::-1][rank - 1]
    p = fit / fit.sum()
    cdf = np.cumsum(p)
    limit = reach * n
    r = np.arange(1, n + 1)
    if reach > 0:  # ordered pairs within reach, no self-loops
        admissible = int(np.minimum(np.floor(limit / r), n).sum()) - int((r * r <= limit).sum())
    else:
        admissible, limit = n * (n - 1), np.inf
    m = min(int(round(n * avg_degree)), admissible)
    key = np.zeros(0, np.int64)
    for _ in range(50):  # rejection of repeats and of pairs between small banks
        need = m - key.size
        if need <= 0:
            break
        size = 2 * need + 16
        src = np.minimum(_inverse_cdf(cdf, rng.random(size) * cdf[-1]), n - 1)
        dst = np.minimum(_inverse_cdf(cdf, rng.random(size) * cdf[-1]), n - 1)
        ok = (src != dst) & (rank[src] * rank[dst] <= limit)
        new = distinct_keys(src[ok] * n + dst[ok])
        if key.size:  # drop the pairs already drawn (key is sorted): a binary search, not a hash set
            at = np.minimum(np.searchsorted(key, new), key.size - 1)
            new = new[key[at] != new]
        # a stable sort merges the sorted keys with the new ones (a quicksort would redo all of them)
        key = np.sort(np.concatenate([key, rng.permutation(new)[:need]]), kind="stable")
        if new.size < need // 100:  # saturated: the pairs within reach are nearly all drawn
            break
    # every bank lends to and borrows from at least one bank: a partner within reach, by fitness
    by_rank = np.argsort(rank)
    cum = np.cumsum(fit[by_rank])
    reachable = np.clip(np.floor(limit / rank), 2, n).astype(np.int64)
    src, dst = key // n, key % n
    extra = []
    for lonely, outgoing in ((np.flatnonzero(np.bincount(src, minlength=n) == 0), True),
                             (np.flatnonzero(np.bincount(dst, minlength=n) == 0), False)):
        pick = np.searchsorted(cum, rng.random(lonely.size) * cum[reachable[lonely] - 1], side="right")
        partner = by_rank[np.minimum(pick, n - 1)]
        partner = np.where(partner == lonely, by_rank[np.where(rank[lonely] == 1, 1, 0)], partner)
        extra.append((lonely, partner) if outgoing else (partner, lonely))
    src = np.concatenate([src, *(e[0] for e in extra)])
    dst = np.concatenate([dst, *(e[1] for e in extra)])
    return _finish(src, dst, n)


def explicit(edges: list[tuple[int, int, float]], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges given as ``[lender, borrower, amount]``; duplicate pairs are summed."""
    if not edges:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    arr = np.asarray(edges, dtype=np.float64)
    key = arr[:, 0].astype(np.int64) * n + arr[:, 1].astype(np.int64)
    uniq, inv = np.unique(key, return_inverse=True)
    amount = np.bincount(inv, weights=arr[:, 2], minlength=uniq.size)
    return uniq // n, uniq % n, amount


def _generated(draw):
    """Wrap a random generator as a registry entry: amounts are set by the balance sheet."""

    def build(n: int, cfg, rng: np.random.Generator, sizes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        lender, borrower = draw(n, cfg, rng, sizes)
        return lender, borrower, None

    return build


NETWORKS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray | None]]] = {
    "erdos_renyi": _generated(lambda n, c, rng, sizes: erdos_renyi(n, c.avg_degree, rng)),
    "scale_free": _generated(lambda n, c, rng, sizes: scale_free(n, c.avg_degree, c.exponent, rng)),
    "core_periphery": _generated(lambda n, c, rng, sizes: core_periphery(n, c.avg_degree, c.core_fraction, rng)),
    "fitness": _generated(lambda n, c, rng, sizes: fitness(n, c.avg_degree, c.exponent, c.reach, rng, sizes)),
    "explicit": lambda n, c, rng, sizes=None: explicit(c.edges, n),
}
"""Network generators by the name used in ``network.type``: ``build(n, network_config, rng,
sizes=None)`` returns (lender, borrower, amount or None when the balance sheet sets the
amounts); ``sizes`` (per bank, e.g. initial capital) is what ``fitness`` ranks banks by,
the others ignore it. More register themselves from ``interbank/sim/networks/`` (one file each)."""

NETWORK_PARAMS: dict[str, type] = {}
"""The parameter class of each registered generator that takes its own parameters: a
dataclass built from ``network.params`` (keyword arguments; its ``__post_init__`` checks the
values and raises ValueError), so the config validates them when it is read."""

NETWORK_REGISTRY: Registry = Registry("network type", NETWORKS, NETWORK_PARAMS)
"""``NETWORKS`` and ``NETWORK_PARAMS`` as one registry (the helper every core extension shares)."""


def register_network(name: str, draw: Callable[..., tuple[np.ndarray, np.ndarray]], params: type | None = None) -> None:
    """Register a generator under ``name`` (its ``network.type``): ``draw(n, params, rng, sizes)``
    returns (lender, borrower) as int64 arrays, amounts set by the balance sheet (self-loops and
    repeated pairs are dropped); ``params`` is its parameter class, built as ``params(**network.params)``
    (None: no parameters). A name already taken is an error, so a plug-in cannot silently
    replace a generator."""

    def build(n: int, cfg, rng: np.random.Generator, sizes: np.ndarray | None = None):
        own = NETWORK_REGISTRY.own_params(name, getattr(cfg, "params", None))
        lender, borrower = draw(n, own, rng, sizes)
        return _finish(np.asarray(lender, np.int64), np.asarray(borrower, np.int64), n) + (None,)

    NETWORK_REGISTRY.register(name, build, params)


NETWORK_REGISTRY.load("interbank.sim.networks")  # each module of interbank/sim/networks/ registers its generator
