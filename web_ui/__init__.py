"""Static web pages served by the copilot app (no build step)."""
