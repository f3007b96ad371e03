"""A text model's answer as a stream of text pieces, so speech can start before the answer is complete.

A llama.cpp model (every GGUF model tony runs in-process) streams token by token, greedy or seeded sampling as
its `complete` decodes (`LlamaCppClient.stream`). Any other client answers whole, as one piece: the cascade still
works, it only cannot start speaking before the model is done.
"""

from __future__ import annotations

from collections.abc import Iterator

from tony.lm.types import Client, Request


def text_stream(client: Client, request: Request) -> Iterator[str]:
    """The answer to a generation `request`, piece by piece (stop strings honoured): token by token from a client
    that streams (`stream(request)`, as the llama.cpp client does), whole from any other."""
    stream = getattr(client, "stream", None)
    if stream is not None:
        yield from stream(request)
    else:
        yield client.complete([request])[0].text
