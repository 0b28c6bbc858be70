"""A MaskablePPO rollout buffer that never trains on padding (slots of gone banks)."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
from sb3_contrib.common.maskable.buffers import (
    MaskableRolloutBuffer,
    MaskableRolloutBufferSamples,
)


class PaddingAwareRolloutBuffer(MaskableRolloutBuffer):
    """Records, for every sample, whether it came from a padding slot (read from the
    VecEnv's ``acted_padding`` at ``add`` time) and leaves those samples out of ``get``.

    ``padding_source`` is set after construction (it is not saved with the model).
    """

    padding_source = None

    def reset(self) -> None:
        super().reset()
        self.padding = np.zeros((self.buffer_size, self.n_envs), dtype=bool)

    def add(self, *args, **kwargs) -> None:
        if self.padding_source is not None:
            self.padding[self.pos] = self.padding_source.acted_padding
        super().add(*args, **kwargs)

    @property
    def real_samples(self) -> int:
        return int((~self.padding).sum())

    def get(self, batch_size: int | None = None) -> Generator[MaskableRolloutBufferSamples, None, None]:  # type: ignore[override]
        assert self.full, ""
        if not self.generator_ready:
            for tensor in ("observations", "actions", "values", "log_probs", "advantages", "returns", "action_masks"):
                self.__dict__[tensor] = self.swap_and_flatten(self.__dict__[tensor])
            self.flat_padding = self.padding.swapaxes(0, 1).reshape(-1)
            self.generator_ready = True
        real = np.flatnonzero(~self.flat_padding)
        indices = real[np.random.permutation(real.size)]
        if batch_size is None:
            batch_size = indices.size
        for start in range(0, indices.size, batch_size):
            yield self._get_samples(indices[start : start + batch_size])
