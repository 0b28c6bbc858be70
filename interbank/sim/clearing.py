"""Clearing payment vectors: Eisenberg-Noe (2001) and Rogers-Veraart (2013).

Notation: ``liabilities[i, j]`` is what bank i owes bank j, ``p_bar[i]`` the
total bank i owes (row sums, plus any external liabilities), ``Pi[i, j] =
liabilities[i, j] / p_bar[i]`` the share of i's payments that goes to j, and
``external_assets[i]`` what i holds outside the interbank market. A clearing
vector p satisfies, for every bank,

    p_i = p_bar_i                                  if e_i + sum_j Pi_ji p_j >= p_bar_i
    p_i = alpha * e_i + beta * sum_j Pi_ji p_j     otherwise

With alpha = beta = 1 this is Eisenberg-Noe. Both functions return the
*greatest* clearing vector, found exactly by the fictitious-default
algorithm (each round solves a linear system on the current default set, and
the default set only grows). :func:`clearing_vector_picard` is an
independent fixed-point iteration used to cross-check it.

The env picks a model by name from ``CLEARING_MODELS`` (``clearing.model``); a new one is one
module in ``interbank/sim/clearing_models/`` that calls ``register_clearing``
(``bankruptcy_cost`` is the example).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from interbank.sim.registry import Registry

_TOL = 1e-12


def _as_matrix(liabilities: np.ndarray | sp.spmatrix) -> sp.csr_matrix:
    mat = sp.csr_matrix(liabilities, dtype=np.float64)
    if mat.shape[0] != mat.shape[1]:
        raise ValueError(f"liabilities must be square, got shape {mat.shape}")
    if mat.nnz and (mat.data.min() < 0 or not np.isfinite(mat.data).all()):
        raise ValueError("liabilities must be finite and >= 0")
    return mat


def _relative(mat: sp.csr_matrix, p_bar: np.ndarray) -> sp.csr_matrix:
    """Pi = diag(1 / p_bar) @ liabilities, with zero rows where p_bar == 0."""
    inv = np.divide(1.0, p_bar, out=np.zeros_like(p_bar), where=p_bar > 1e-300)
    return sp.diags(inv) @ mat


def clearing_vector(
    liabilities: np.ndarray | sp.spmatrix,
    external_assets: np.ndarray,
    alpha: float = 1.0,
    beta: float = 1.0,
    external_liabilities: np.ndarray | None = None,
) -> np.ndarray:
    """Greatest clearing vector (fictitious-default algorithm), dense or sparse input.

    ``external_liabilities`` (e.g. deposits) join ``p_bar`` and are paid pro rata
    with the interbank creditors; they receive nothing back into the system.
    """
    mat = _as_matrix(liabilities)
    n = mat.shape[0]
    e = np.asarray(external_assets, dtype=np.float64).reshape(-1)
    if e.shape[0] != n:
        raise ValueError(f"external_assets has {e.shape[0]} entries for {n} banks")
    if not np.isfinite(e).all():
        raise ValueError("external_assets must be finite")
    if not (0 <= alpha <= 1 and 0 <= beta <= 1):
        raise ValueError("alpha and beta must lie in [0, 1]")
    e = np.maximum(e, 0.0)
    p_bar = np.asarray(mat.sum(axis=1)).reshape(-1)
    if external_liabilities is not None:
        p_bar = p_bar + np.asarray(external_liabilities, dtype=np.float64).reshape(-1)
    pi_t = _relative(mat, p_bar).T.tocsr()  # pi_t[j, i] = Pi[i, j]
    return greatest_clearing_vector(pi_t, p_bar, e, alpha, beta)


def greatest_clearing_vector(
    pi_t: sp.csr_matrix, p_bar: np.ndarray, e: np.ndarray, alpha: float, beta: float
) -> np.ndarray:
    """Fictitious-default algorithm on prepared inputs: ``pi_t[j, i]`` is the share of
    i's payments owed to j, ``p_bar`` the total owed, ``e`` external assets (>= 0)."""
    n = p_bar.shape[0]
    defaulted = np.zeros(n, dtype=bool)
    p = p_bar.copy()
    for _ in range(n + 1):
        inflow = pi_t @ p
        new_defaulted = e + inflow < p_bar - _TOL * np.maximum(1.0, p_bar)
        if np.array_equal(new_defaulted, defaulted) and _ > 0:
            break
        defaulted = new_defaulted | defaulted
        d = defaulted.nonzero()[0]
        if d.size == 0:
            break
        # (I - beta * Pi_DD^T) p_D = alpha e_D + beta * Pi_SD^T p_bar_S; the solvent columns S picked
        # by zeroing p_bar on D instead of slicing the matrix: each row's sum runs over the same
        # entries in the same order, with exact zero terms in between (bit for bit, and no copy of
        # the matrix's columns)
        rows = pi_t[d]
        a_dd = sp.identity(d.size, format="csc") - beta * rows[:, d].tocsc()
        rhs = alpha * e[d] + beta * (rows @ np.where(defaulted, 0.0, p_bar))
        sol = spla.spsolve(a_dd, rhs) if d.size > 1 else np.array([rhs[0] / a_dd.toarray()[0, 0]])
        p = p_bar.copy()
        p[d] = np.clip(np.asarray(sol).reshape(-1), 0.0, p_bar[d])
    return p


def clearing_vector_picard(
    liabilities: np.ndarray | sp.spmatrix,
    external_assets: np.ndarray,
    alpha: float = 1.0,
    beta: float = 1.0,
    tol: float = 1e-13,
    max_iter: int = 1_000_000,
) -> np.ndarray:
    """Greatest clearing vector by monotone fixed-point iteration from p_bar.

    Slower than :func:`clearing_vector` but shares none of its linear algebra. It converges at
    rate ~beta, so with beta within ~1e-5 of 1 it may need more than ``max_iter`` sweeps: then it
    raises ``ClearingNotConverged`` rather than return an unsettled vector.
    """
    mat = _as_matrix(liabilities)
    e = np.maximum(np.asarray(external_assets, dtype=np.float64).reshape(-1), 0.0)
    p_bar = np.asarray(mat.sum(axis=1)).reshape(-1)
    pi_t = _relative(mat, p_bar).T.tocsr()
    p = p_bar.copy()
    for _ in range(max_iter):
        inflow = pi_t @ p
        solvent = e + inflow >= p_bar - _TOL * np.maximum(1.0, p_bar)
        nxt = np.where(solvent, p_bar, np.minimum(p_bar, alpha * e + beta * inflow))
        if np.max(np.abs(nxt - p), initial=0.0) <= tol:
            return nxt
        p = nxt
    raise ClearingNotConverged(f"Picard iteration did not settle in {max_iter:,} sweeps (beta = {beta})")


class ClearingNotConverged(RuntimeError):
    """The fixed-point cross-check ran out of sweeps before settling."""


def eisenberg_noe(liabilities: np.ndarray, external_assets: np.ndarray) -> np.ndarray:
    """Greatest Eisenberg-Noe clearing payment vector.

    ``liabilities[i, j]`` is what bank i owes bank j; returns one total payment per bank.
    """
    return clearing_vector(liabilities, external_assets, 1.0, 1.0)


def rogers_veraart(
    liabilities: np.ndarray, external_assets: np.ndarray, alpha: float, beta: float
) -> np.ndarray:
    """Greatest Rogers-Veraart clearing vector: a defaulting bank realises only
    ``alpha`` of its external and ``beta`` of its interbank assets."""
    return clearing_vector(liabilities, external_assets, alpha, beta)


def _recovery_from_vector(alpha_beta):
    def recovery(pi_t: sp.csr_matrix, p_bar: np.ndarray, e: np.ndarray, cfg) -> np.ndarray:
        alpha, beta = alpha_beta(cfg)
        p = greatest_clearing_vector(pi_t, p_bar, e, alpha, beta)
        return np.clip(np.divide(p, p_bar, out=np.ones_like(p_bar), where=p_bar > 0), 0.0, 1.0)

    return recovery


CLEARING: Registry = Registry("clearing model")
CLEARING_MODELS = CLEARING.entries
"""Clearing models by the name used in ``clearing.model``: ``recovery(pi_t, p_bar, external_assets,
clearing_config)`` returns the fraction of its debts each bank pays (1 for a solvent bank). More
register themselves from ``interbank/sim/clearing_models/`` (one file each)."""


def register_clearing(name: str, recovery: Callable[..., np.ndarray], params: type | None = None) -> None:
    """Register a clearing model under ``name`` (its ``clearing.model``): ``recovery(pi_t, p_bar,
    external_assets, own)`` returns the fraction of its debts each bank pays, float[n] in [0, 1]
    (``pi_t[j, i]``: the share of i's payments owed to j, sparse; ``p_bar``: what each bank owes;
    ``external_assets``: what it holds outside the interbank market, >= 0); ``own`` is its
    parameter object built from ``clearing.params`` (None when ``params`` is None)."""

    def run(pi_t: sp.csr_matrix, p_bar: np.ndarray, e: np.ndarray, cfg) -> np.ndarray:
        own = CLEARING.own_params(name, getattr(cfg, "params", None))
        return np.clip(np.asarray(recovery(pi_t, p_bar, e, own), dtype=np.float64), 0.0, 1.0)

    CLEARING.register(name, run, params)


def recovery_of(p: np.ndarray, p_bar: np.ndarray) -> np.ndarray:
    """The fraction paid, p / p_bar (1 where nothing is owed), clipped to [0, 1]."""
    return np.clip(np.divide(p, p_bar, out=np.ones_like(p_bar), where=p_bar > 0), 0.0, 1.0)


# the built-in models read their settings from the ``clearing:`` section itself (kept as it was)
CLEARING.register("eisenberg_noe", _recovery_from_vector(lambda cfg: (1.0, 1.0)))
CLEARING.register("rogers_veraart", _recovery_from_vector(lambda cfg: (cfg.alpha, cfg.beta)))
CLEARING.register("fixed_recovery", lambda pi_t, p_bar, e, cfg: np.full(p_bar.shape[0], cfg.recovery))
CLEARING.load("interbank.sim.clearing_models")
