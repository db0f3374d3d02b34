"""A Python worker process serving the functions of functions.py, for tests
driven from another language (test/polyglot/*.test.ts):

    RESONATE_URL=... PY_GROUP=py-workers TS_GROUP=ts-workers python workers/serve.py
"""

import os
import signal
import threading

from functions import register_all
from resonate_mesh import Resonate

resonate = Resonate(os.environ["RESONATE_URL"], group=os.environ.get("PY_GROUP", "py-group"), ttl=5000)
register_all(resonate, os.environ.get("TS_GROUP", "ts-group"))
resonate.wait_until_connected(30)
print("python worker ready", flush=True)
stopped = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stopped.set())
stopped.wait()
resonate.stop()
