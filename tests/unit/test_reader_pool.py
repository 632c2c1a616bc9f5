"""The reader pool's bookkeeping, with stand-in readers (no video needed: the pool only opens and closes)."""

import pytest

from framepipe._adapters.pool import PoolStats, ReaderPool


class Reader:
    def __init__(self, key):
        self.key, self.closed = key, False

    def close(self):
        self.closed = True


def test_readers_are_reused_by_key_and_the_oldest_closed_past_max_open():
    pool = ReaderPool(Reader, max_open=2)
    with pool.reader("a") as a:
        pass
    with pool.reader("a") as again:
        assert again is a  # idle, so handed out again
    with pool.reader("b"), pool.reader("c"):
        pass
    assert len(pool) == 2 and a.closed  # "a" was used longest ago
    assert pool.stats() == PoolStats(calls=4, opened=3, reused=1, closed=1)
    pool.clear()
    assert len(pool) == 0


def test_a_reader_whose_block_raised_is_closed_not_handed_out_again():
    pool = ReaderPool(Reader, max_open=2)
    with pytest.raises(RuntimeError), pool.reader("a") as a:
        raise RuntimeError("mid-call")
    assert a.closed and len(pool) == 0
    with pool.reader("a") as b:
        assert b is not a
    with pool.reader("x") as one, pool.reader("x") as two:
        assert one is not two  # two at once get two readers
    assert len(pool) == 2
