"""Streaming: the SSE decoder, the typed events, and the stream objects built on them."""
