"""The database's own clock, as seconds since the epoch, for comparisons made in SQL.

Replicas run on hosts whose clocks disagree; heartbeats and staleness are both judged on
the one clock every replica shares: the database server's (`now()`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class db_epoch(FunctionElement[float]):  # noqa: N801 - reads as the SQL function it is
    """`now()` on the database server, in seconds since 1970 (a float)."""

    type = Float()
    inherit_cache = True


@compiles(db_epoch)
def _default(element: Any, compiler: Any, **kw: Any) -> str:
    return "EXTRACT(EPOCH FROM now())"


@compiles(db_epoch, "sqlite")
def _sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"
