"""The `pulseai` command: chat, knowledge and the emulator from a shell."""

from .commands import main

__all__ = ["main"]
