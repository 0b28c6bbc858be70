"""Interactive runner (pause / resume / stop, add capital, delete bank, central bank), HTTP/SSE server, web page."""

from interbank.interactive.runner import CENTRAL_BANK_OPERATIONS, COMMANDS, CommandError, Runner

__all__ = ["CENTRAL_BANK_OPERATIONS", "COMMANDS", "CommandError", "Runner"]
