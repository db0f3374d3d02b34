"""The Python worker of the polyglot example: group "py-workers".

- "wordStats", a leaf the TypeScript workflow calls for each document;
- "report", a durable function that calls the TypeScript workflow "analyze"
  with ctx.rpc and returns its result with a one-line summary.

    RESONATE_URL=http://localhost:8001 python python/worker.py
"""

import os
import re
import signal
import sys
import threading
from collections import Counter

from resonate_mesh import Resonate

GROUP = "py-workers"
TS_GROUP = "ts-workers"

resonate = Resonate(os.environ.get("RESONATE_URL", "http://localhost:8001"), group=GROUP,
                    ttl=int(os.environ.get("WORKER_TTL_MS", "10000")))


@resonate.register(name="wordStats")
def word_stats(ctx, text):
    """A plain function: a leaf. How many words, and the most frequent one."""
    words = re.findall(r"\w+", text.lower())
    top = Counter(words).most_common(1)
    print(f"[python worker] wordStats of {len(words)} words", flush=True)
    return {"words": len(words), "top": top[0][0] if top else None}


def summarize(ctx, analysis):
    return f"{len(analysis['documents'])} documents, {analysis['totalWords']} words"


@resonate.register(name="report")
def report(ctx, docs):
    """A generator function: durable. Each yield is a durable promise."""
    analysis = yield ctx.rpc("analyze", docs, target=TS_GROUP)  # the TypeScript workflow
    summary = yield ctx.run(summarize, analysis)                 # a local step, recorded once
    return {"summary": summary, **analysis}


if __name__ == "__main__":
    if not resonate.wait_until_connected(60):
        sys.exit(f"[python worker] could not reach the node at {resonate.transport.target}")
    print(f'[python worker] {resonate.pid} ready in group "{GROUP}"', flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    resonate.stop()
