"""Ray on loopback: this must be set before Ray is imported anywhere in the test process (Ray reads it at
import). With it, a cluster on one machine binds 127.0.0.1 instead of the machine's network address."""

import os

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


import pytest


def _start(request):
    import ray
    from ray.cluster_utils import Cluster

    cpus = getattr(request.module, "CLUSTER_CPUS", (1, 1))
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": cpus[0], "include_dashboard": False})
    for n in cpus[1:]:
        c.add_node(num_cpus=n)
    assert c.address.startswith("127.0.0.1:")  # loopback only (the environment above)
    ray.init(address=c.address, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    return c


def _stop(c) -> None:
    import ray

    ray.shutdown()
    c.shutdown()


@pytest.fixture(scope="module")
def cluster(request):
    """A Ray cluster on 127.0.0.1 for one test module: a node per entry of the module's ``CLUSTER_CPUS``
    (default: two nodes of one CPU each, so that tasks spread over nodes)."""
    c = _start(request)
    yield c
    _stop(c)


@pytest.fixture
def fresh_cluster(request):
    """A cluster of the module's ``CLUSTER_CPUS`` for one test alone: no Ray Data state of an earlier
    test (executors, reservations) carries into it."""
    c = _start(request)
    yield c
    _stop(c)
