"""A local PulseAI emulator for tests, demos and benchmarks (no network, no key).

```python
from pulseai_async.testing import Emulator

async with Emulator() as emu, emu.client() as pulse:
    reply = await pulse.chat.send("Hello", user="u1")
```
"""

from ._emulator import AnswerFunction, Emulator, RecordedRequest
from ._faults import Fault, FaultPlan

__all__ = ["AnswerFunction", "Emulator", "Fault", "FaultPlan", "RecordedRequest"]
