"""Start the polyglot example and print its result:

    python python/start.py [id]

It starts the Python durable function "report" on group py-workers, which
calls the TypeScript workflow "analyze", which fans out to Python and Go.
Run it again with the same id and the result comes back from the promise."""

import json
import os
import sys

from resonate_mesh import Resonate

DOCS = [
    {"name": "greeting.txt", "text": "Hello, world! Hello, durable world."},
    {"name": "cafe.txt", "text": "Café crème, s'il vous plaît: un café."},
    {"name": "haiku.txt", "text": "an old silent pond / a frog jumps into the pond / splash! silence again"},
]

report_id = sys.argv[1] if len(sys.argv) > 1 else "report-1"
resonate = Resonate(os.environ.get("RESONATE_URL", "http://localhost:8001"), group="py-starters")
try:
    print(f"[start] {report_id}: {len(DOCS)} documents sent to \"report\" on group py-workers", flush=True)
    result = resonate.rpc(report_id, "report", DOCS, target="py-workers").result(timeout=120)
    for doc in result["documents"]:
        print(f"[start] {doc['name']}: {doc['words']} words, top {doc['top']!r}, "
              f"{doc['bytes']} bytes, fnv1a64 {doc['fnv1a64']}")
    print(f"[start] {report_id}: {result['summary']}")
    print(json.dumps(result, sort_keys=True))
finally:
    resonate.stop()
