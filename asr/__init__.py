"""Speech recognition for live calls: audio, VAD endpointing, the Whisper engine, streaming."""
