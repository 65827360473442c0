"""The HTTP and websocket interface (FastAPI)."""
