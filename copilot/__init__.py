"""hotline-copilot: the application (settings, CLI, web app) that uses the domain packages."""

__version__ = "0.1.0"
