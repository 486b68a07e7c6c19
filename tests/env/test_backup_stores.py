#!/usr/bin/env python3
"""The object-store emulators of hack/test-env answer, and the backup stand-ins write, read
and are refused by them as Neo4j's SDKs would be (tests/standin/stores_checks.py). Fails
when `hack/test-env env` does not export the emulators' variables."""
import os
import sys

from envlib import check, done, load_env

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "standin"))
import stores_checks  # noqa: E402

load_env()
stores_checks.run_all(check)
done()
