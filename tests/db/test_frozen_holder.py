"""A process frozen in the middle of a transaction does not hold its row locks for good.

A replica stopped (SIGSTOP here; a VM pause or a swapped-out host in production) between
an UPDATE and its COMMIT keeps that row locked. Before the bounds in `bot.db.engine`, a
click's `ApprovalStore.decide` on another replica waited on that lock for as long as the
frozen process stayed frozen (seen in CI: tests/tools/mcp/test_mcp_approval_replicas.py).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap

import pytest
from sqlalchemy import text

from bot.db.engine import create_engine

pytestmark = pytest.mark.slow

HOLDER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from sqlalchemy import text
    from bot.db.engine import create_engine

    async def main():
        engine = create_engine(sys.argv[1])
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE frozen_rows SET n = n + 1 WHERE id = 1"))
            print("held", flush=True)
            os.kill(os.getpid(), signal.SIGSTOP)  # frozen before the COMMIT

    asyncio.run(main())
    """
)


async def test_a_row_locked_by_a_frozen_process_is_freed_for_the_others(pg_database) -> None:
    if pg_database is None:
        pytest.skip("PostgreSQL is not reachable here (CI runs these)")
    engine = create_engine(pg_database)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE IF EXISTS frozen_rows"))
            await connection.execute(text("CREATE TABLE frozen_rows (id int PRIMARY KEY, n int)"))
            await connection.execute(text("INSERT INTO frozen_rows VALUES (1, 0)"))
        holder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", HOLDER, pg_database, stdout=asyncio.subprocess.PIPE
        )
        try:
            assert holder.stdout is not None
            line = await asyncio.wait_for(holder.stdout.readline(), 30)
            assert line.strip() == b"held"

            async def update() -> None:
                async with engine.begin() as connection:
                    await connection.execute(text("UPDATE frozen_rows SET n = n + 10 WHERE id = 1"))

            # The server ends the frozen transaction after IDLE_IN_TRANSACTION (10 s): the
            # update goes through then. Without the bound it waits until the holder thaws.
            await asyncio.wait_for(update(), 40)
            async with engine.connect() as connection:
                n = (await connection.execute(text("SELECT n FROM frozen_rows"))).scalar()
            assert n == 10, "the frozen transaction was rolled back, ours committed"
        finally:
            holder.send_signal(signal.SIGKILL)
            await asyncio.wait_for(holder.wait(), 10)
    finally:
        await engine.dispose()
