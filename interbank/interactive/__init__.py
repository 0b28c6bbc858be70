"""Interactive runner (pause / resume / stop, add capital, delete bank), HTTP/SSE server, web page."""

from interbank.interactive.runner import COMMANDS, CommandError, Runner

__all__ = ["COMMANDS", "CommandError", "Runner"]
