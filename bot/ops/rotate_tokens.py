"""`python -m bot rotate-tokens`: re-encrypt every stored token with the newest key.

With TOKEN_ENCRYPTION_KEY="new,old" the bot reads rows encrypted with either key; this
command rewrites them all with `new` (plaintext rows from before encryption included), after
which `old` can be dropped from the setting.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot.db.engine import create_engine
from bot.settings import DatabaseSettings, SettingsError
from bot.slack_app.installs import TokenCipher

COLUMNS = {
    "slack_bots": ("bot_token", "bot_refresh_token"),
    "slack_installations": ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
}


async def rotate(database_url: str, cipher: TokenCipher) -> int:
    """Re-encrypt every token column; return how many rows changed."""
    engine = create_engine(database_url)
    changed = 0
    try:
        async with engine.begin() as conn:
            for table, columns in COLUMNS.items():
                rows = (
                    await conn.execute(text(f"SELECT id, {', '.join(columns)} FROM {table}"))
                ).all()
                for row in rows:
                    values = {c: cipher.rotate(row[i + 1]) for i, c in enumerate(columns)}
                    if all(values[c] == row[i + 1] for i, c in enumerate(columns)):
                        continue
                    sets = ", ".join(f"{c} = :{c}" for c in columns)
                    await conn.execute(
                        text(f"UPDATE {table} SET {sets} WHERE id = :id"), {**values, "id": row[0]}
                    )
                    changed += 1
    finally:
        await engine.dispose()
    return changed


def run() -> int:
    """Rotate with the keys in TOKEN_ENCRYPTION_KEY; print how many rows changed."""
    settings = DatabaseSettings()
    if not settings.token_encryption_key:
        raise SettingsError("TOKEN_ENCRYPTION_KEY is not set")
    count = asyncio.run(rotate(settings.database_url, TokenCipher(settings.token_encryption_key)))
    print(f'{{"re_encrypted_rows": {count}}}')
    return 0
