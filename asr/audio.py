"""Audio in: PCM frames and files to 16 kHz float32 mono channels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
SUPPORTED_RATES = (8000, 16000)


class AudioFormatError(ValueError):
    """Audio that cannot be used, with what to send instead."""


def pcm16_to_float(data: bytes, channels: int) -> np.ndarray:
    """Little-endian int16 interleaved PCM → float32 array of shape (frames, channels)."""
    if channels not in (1, 2):
        raise AudioFormatError(f"channels must be 1 or 2, got {channels}")
    frame_bytes = 2 * channels
    if len(data) % frame_bytes:
        raise AudioFormatError(f"a pcm_s16le frame of {channels} channel(s) is a multiple of "
                               f"{frame_bytes} bytes; got {len(data)} bytes")
    pcm = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return pcm.reshape(-1, channels)


def resample_to_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    """8 kHz telephone audio → 16 kHz (polyphase); 16 kHz passes through."""
    if rate == SAMPLE_RATE:
        return audio.astype(np.float32, copy=False)
    if rate not in SUPPORTED_RATES:
        raise AudioFormatError(f"sample rate {rate} Hz is not supported: send 8000 or 16000")
    from scipy.signal import resample_poly

    return resample_poly(audio, SAMPLE_RATE // rate, 1).astype(np.float32)


@dataclass
class AudioFile:
    channels: list[np.ndarray]  # 16 kHz float32, one array per channel
    duration_s: float


def load_audio_file(path: Path, max_seconds: float = 4 * 3600) -> AudioFile:
    """Decode any WAV/FLAC/… (via PyAV) to 16 kHz mono, or two channels for stereo files."""
    if not path.is_file():
        raise AudioFormatError(f"{path} does not exist")
    import av
    from faster_whisper.audio import decode_audio

    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            n_channels = stream.channels
        decoded = decode_audio(str(path), sampling_rate=SAMPLE_RATE,
                               split_stereo=n_channels == 2)
    except (av.error.FFmpegError, IndexError, ValueError) as e:
        raise AudioFormatError(f"{path} is not a readable audio file ({e}); send a WAV or "
                               "FLAC file, 8 or 16 kHz, mono or stereo") from e
    channels = list(decoded) if isinstance(decoded, tuple) else [decoded]
    duration = len(channels[0]) / SAMPLE_RATE
    if duration > max_seconds:
        raise AudioFormatError(f"{path} lasts {duration:.0f} s, more than {max_seconds:.0f} s")
    return AudioFile([c.astype(np.float32) for c in channels], duration)
