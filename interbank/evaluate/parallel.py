"""Run independent evaluation tasks here, over local processes, or over a Ray cluster.

Every task is seeded by its own arguments, so results do not depend on where it ran.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

BACKENDS: tuple[str, ...] = ("local", "rllib")
"""Where the tasks run: here (``workers`` processes) or on a Ray cluster (``evaluate --backend``)."""


def map_tasks(fn: Callable[[Any], Any], args: Sequence[Any], backend: str = "local", workers: int = 1,
              address: str | None = None, on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
    """``[fn(a) for a in args]``, in order: locally, over ``workers`` processes, or as Ray tasks
    (``backend="rllib"``, the cluster at ``address`` or a local one). ``on_done(k, result)``
    is called as each result arrives, in order."""
    out: list[Any] = []

    def record(result: Any) -> None:
        if on_done:
            on_done(len(out), result)
        out.append(result)

    if backend == "rllib":
        from interbank.ray_cluster import connect

        ray = connect(address)
        remote = ray.remote(num_cpus=1)(fn)
        refs = [remote.remote(a) for a in args]
        try:
            for ref in refs:
                record(ray.get(ref))
        finally:
            ray.shutdown()
    elif workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(fn, args, chunksize=max(1, len(args) // (8 * workers))):
                record(result)
    else:
        for a in args:
            record(fn(a))
    return out
