"""The interbank loan ledger: one record per loan, double entry by construction.

Each record is a loan from ``lender`` to ``borrower`` of ``amount`` dollars
(principal plus capitalised interest) at an annual ``rate``, due at step
``due``. A pair of banks may hold several records (loans of different
vintages). Every loan out is someone's borrowing, so the sum of loans out
always equals the sum of borrowings. Repaid records (amount 0) are dropped by
:meth:`Ledger.compact`; a pair with no record left is no longer connected.
"""

from __future__ import annotations

import numpy as np


def run_starts(x: np.ndarray) -> np.ndarray:
    """bool[k]: where each run of equal values of the 1-D array ``x`` starts (``np.r_[True, x[1:] !=
    x[:-1]]`` for k >= 1, without ``np.r_``'s parsing of its index, a few microseconds a call)."""
    out = np.empty(x.size, dtype=bool)
    if x.size:
        out[0] = True
        np.not_equal(x[1:], x[:-1], out=out[1:])
    return out


def distinct_keys(keys: np.ndarray) -> np.ndarray:
    """The distinct values of int64 pair keys (``lender * n + borrower``), sorted: a sort and a
    comparison, several times faster than ``np.unique``'s hash path on int64 keys in numpy 2.x. The
    sort is numpy's stable one (a merge of runs): the keys come in a few sorted runs (the ledger's
    vintages, the relationships), which it merges in near-linear time where quicksort takes
    O(k log k); the sorted values are the same whichever sort produced them."""
    keys = np.sort(keys, kind="stable")
    return keys[run_starts(keys)]


def _merge_pairs(key: np.ndarray, amount: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Merge records of the same pair, in place: over the records of pair keys ``key`` (``lender * n
    + borrower``) with ``amount`` and annual ``rate``, the first record of each pair (in the order
    given) gets the pair's amounts summed and their volume-weighted rate, the others amount 0.
    Returns the keys with a positive amount left, sorted and distinct (at most one record per key
    is left positive)."""
    if key.size < 2:
        return key[amount > 0]
    at = np.argsort(key, kind="stable")
    key = key.take(at)  # (``take``: a 1-D gather without fancy indexing's set-up)
    first = run_starts(key)
    if first.all():
        return key[amount.take(at) > 0]
    group = np.cumsum(first)  # the pairs numbered from 1: bin 0 of the sums below is empty, left off
    amount_at = amount.take(at)
    total = np.bincount(group, weights=amount_at)[1:]
    interest = np.bincount(group, weights=amount_at * rate.take(at))[1:]
    starts = first.nonzero()[0]
    keep = at.take(starts)
    positive = total > 0
    everywhere = bool(positive.all())
    if everywhere:  # (the usual case: the quotient everywhere, as ``where`` would give it)
        rate[keep] = interest / total
    else:
        rate[keep] = np.divide(interest, total, out=rate.take(keep), where=positive)
    amount[keep] = total
    amount[at[~first]] = 0.0
    key = key.take(starts)
    return key if everywhere else key[positive]  # a pair's first record holds its total, the others 0


class Ledger:
    """Parallel arrays over loan records: ``lender``, ``borrower`` (int64 bank
    indices), ``amount`` (dollars), ``rate`` (annual), ``due`` (int64 step)."""

    def __init__(self, lender: np.ndarray, borrower: np.ndarray, amount: np.ndarray, rate: np.ndarray, due: np.ndarray) -> None:
        self.lender = np.asarray(lender, dtype=np.int64)
        self.borrower = np.asarray(borrower, dtype=np.int64)
        self.amount = np.asarray(amount, dtype=np.float64).copy()
        self.rate = np.asarray(rate, dtype=np.float64).copy()
        self.due = np.asarray(due, dtype=np.int64).copy()

    def __len__(self) -> int:
        return int(self.amount.size)

    def loans_out(self, n: int) -> np.ndarray:
        return np.bincount(self.lender, weights=self.amount, minlength=n)

    def borrowings(self, n: int) -> np.ndarray:
        return np.bincount(self.borrower, weights=self.amount, minlength=n)

    def add(self, lender: np.ndarray, borrower: np.ndarray, amount: np.ndarray, rate: np.ndarray, due: int) -> None:
        if amount.size == 0:
            return
        self.lender = np.concatenate([self.lender, lender.astype(np.int64)])
        self.borrower = np.concatenate([self.borrower, borrower.astype(np.int64)])
        self.amount = np.concatenate([self.amount, amount])
        self.rate = np.concatenate([self.rate, rate])
        self.due = np.concatenate([self.due, np.full(amount.size, due, dtype=np.int64)])

    def merge_due(self, due: int, n: int | None = None) -> np.ndarray:
        """Merge the records of each (lender, borrower) pair that fall due at step ``due`` (a new loan
        and a rolled one of the same step) into one: amounts summed, the rate volume-weighted. Exact:
        interest, calls, repayments and recoveries are all linear in the amount, and the merged
        records would roll over together, repriced alike.

        Returns the pair keys ``lender * n + borrower`` (``n``: above every bank index; by default
        one more than the largest of these records) of the records due then with a positive amount,
        sorted and distinct: the pairs dealt at that step once ``compact`` has run."""
        idx = (self.due == due).nonzero()[0]
        lender, borrower = self.lender[idx], self.borrower[idx]
        if n is None:
            n = int(max(lender.max(), borrower.max())) + 1 if idx.size else 1
        # any base above these records' borrowers orders them by (lender, borrower) alike
        amount, rate = self.amount[idx], self.rate[idx]
        dealt = _merge_pairs(lender * n + borrower, amount, rate)
        self.amount[idx], self.rate[idx] = amount, rate  # the merged away left at 0: dropped by compact()
        return dealt

    def deal(self, lender: np.ndarray, borrower: np.ndarray, amount: np.ndarray, rate: np.ndarray, due: int,
             n: int) -> np.ndarray:
        """``add`` the new loans, ``merge_due(due, n)``, then ``compact``, with the same result to the
        last bit (the same records in the same order, merged by the same ``_merge_pairs``), in one pass:
        the new loans join the records due then for the merge, and the records kept are gathered
        straight into the new arrays (the ledger is copied once a step instead of twice).

        Returns ``merge_due``'s pair keys: those of the pairs dealt at step ``due``."""
        lender, borrower = lender.astype(np.int64, copy=False), borrower.astype(np.int64, copy=False)
        rate = np.asarray(rate, np.float64)
        # the records due then, in ledger order: the old ones, then the new ones (appended)
        old = (self.due == due).nonzero()[0]
        k = old.size
        key = np.concatenate([self.lender[old], lender]) * n + np.concatenate([self.borrower[old], borrower])
        d_amount = np.concatenate([self.amount[old], amount])
        d_rate = np.concatenate([self.rate[old], rate])
        dealt = _merge_pairs(key, d_amount, d_rate)
        self.amount[old], self.rate[old] = d_amount[:k], d_rate[:k]
        # ``compact`` of the old records followed by the new ones
        kept_old = (self.amount > 0).nonzero()[0]
        kept_new = (d_amount[k:] > 0).nonzero()[0]
        size = kept_old.size + kept_new.size
        columns = ((self.lender, lender), (self.borrower, borrower), (self.amount, d_amount[k:]),
                   (self.rate, d_rate[k:]), (self.due, np.full(amount.size, due, np.int64)))
        out = []
        for previous, added in columns:
            column = np.empty(size, previous.dtype)
            np.take(previous, kept_old, out=column[:kept_old.size], mode="clip")  # in range: clip is raise, unbuffered
            column[kept_old.size:] = added[kept_new]
            out.append(column)
        self.lender, self.borrower, self.amount, self.rate, self.due = out
        return dealt

    def compact(self) -> None:
        """Drop records that have been repaid or written off."""
        keep = self.amount > 0
        if keep.all():
            return
        # the kept positions once, then a gather per array: a boolean index re-reads the mask for
        # every array and branches on each element (several times slower on a scattered mask)
        kept = keep.nonzero()[0]
        self.lender, self.borrower = self.lender.take(kept), self.borrower.take(kept)
        self.amount, self.rate, self.due = self.amount.take(kept), self.rate.take(kept), self.due.take(kept)

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct (lender, borrower) pairs with their total outstanding amount."""
        if self.amount.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        n = int(max(self.lender.max(), self.borrower.max())) + 1
        key = self.lender * n + self.borrower
        uniq, inv = np.unique(key, return_inverse=True)
        return uniq // n, uniq % n, np.bincount(inv, weights=self.amount, minlength=uniq.size)
