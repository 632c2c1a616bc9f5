"""Ray on loopback: this must be set before Ray is imported anywhere in the test process (Ray reads it at
import). With it, a cluster on one machine binds 127.0.0.1 instead of the machine's network address."""

import os

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
