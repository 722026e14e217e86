"""A local PulseAI emulator for tests, demos and benchmarks (no network, no key).

It speaks the platform's wire format over real loopback HTTP, so code under test runs
exactly as in production: auth, documented error bodies, old and new server variants,
streams, and scripted faults. Use it from your own tests (the `emulator` and `pulse`
pytest fixtures are installed with the package), from a script, or as a process for
other languages: `python -m pulseai_async.testing --port 8080`.

```python
import anyio

from pulseai_async.testing import Emulator, Fault


async def main() -> None:
    async with Emulator(answer="Hi!") as emulator, emulator.client() as pulse:
        emulator.faults.add(Fault.http_error(503, retry_after=0).nth(1))
        reply = await pulse.chat.send("Hello", user="u1")  # retried once, then answered
        print(reply.answer, emulator.hits("/chat-messages"))


anyio.run(main)
```
"""

from ._chatflow import AnswerNode, Chatflow, HttpNode
from ._emulator import AnswerFunction, AppMode, Emulator, RecordedRequest
from ._faults import Fault, FaultPlan

__all__ = [
    "AnswerFunction",
    "AnswerNode",
    "AppMode",
    "Chatflow",
    "Emulator",
    "Fault",
    "FaultPlan",
    "HttpNode",
    "RecordedRequest",
]
