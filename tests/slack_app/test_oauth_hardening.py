"""Attack tests on the OAuth install flow and stored tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet
from sqlalchemy import text

from bot import texts
from bot.db.engine import create_engine
from bot.testing.harness import SECRET, Harness, channel_message
from bot.testing.signing import event_body, signed_headers
from bot.testing.workspaces import OAUTH, TOKENS, install, send


async def _rows(bot: Harness, sql: str) -> list[tuple]:
    engine = create_engine(bot.database_url)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(text(sql))).all()]
    finally:
        await engine.dispose()


async def _exec(bot: Harness, sql: str, **params: object) -> None:
    engine = create_engine(bot.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql), params)
    finally:
        await engine.dispose()


async def test_abandoned_install_states_are_purged(harness: Harness) -> None:
    bot = await harness.start(**OAUTH)
    assert bot.http is not None
    for _ in range(5):  # install pages opened and never finished
        async with bot.http.get(f"{bot.url}/slack/install", allow_redirects=False) as r:
            assert r.status == 302
    past = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    await _exec(bot, "UPDATE slack_oauth_states SET expire_at = :past", past=past)
    async with bot.http.get(f"{bot.url}/slack/install", allow_redirects=False) as r:
        assert r.status == 302
    assert len(await _rows(bot, "SELECT id FROM slack_oauth_states")) == 1


async def test_install_outside_allow_teams_is_refused_at_the_callback(harness: Harness) -> None:
    bot = await harness.start(**OAUTH, allow_teams="T1")
    await install(bot, "T1")
    assert bot.http is not None
    async with bot.http.get(f"{bot.url}/slack/install", allow_redirects=False) as response:
        state = response.headers["Location"].split("state=", 1)[1].split("&", 1)[0]
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    bot.slack.add_install("code-T2", "T2", TOKENS["T2"])
    async with bot.http.get(
        f"{bot.url}/slack/oauth_redirect",
        params={"code": "code-T2", "state": state},
        headers={"Cookie": cookie},
    ) as response:
        assert response.status == 403
        assert texts.INSTALL_REFUSED in await response.text()
    assert await _rows(bot, "SELECT team_id FROM slack_bots") == [("T1",)]
    assert TOKENS["T2"] in bot.slack.revoked_tokens, "the issued token is given back"


async def _event(bot: Harness, team: str, event: dict) -> None:
    body = event_body(event, team_id=team)
    status, _ = await bot.post_raw(body, signed_headers(SECRET, body))
    assert status == 200


async def test_app_uninstalled_deletes_the_workspaces_installation(harness: Harness) -> None:
    bot = await harness.start(**OAUTH)
    await install(bot, "T1")
    await install(bot, "T2")
    await _event(bot, "T1", {"type": "app_uninstalled"})
    await _until_rows(bot, "SELECT team_id FROM slack_bots ORDER BY team_id", [("T2",)])
    assert await _rows(bot, "SELECT team_id FROM slack_installations") == [("T2",)]


async def test_tokens_revoked_deletes_the_bot_token_it_names(harness: Harness) -> None:
    bot = await harness.start(**OAUTH)
    await install(bot, "T1")
    await _event(bot, "T1", {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}})
    await _until_rows(bot, "SELECT team_id FROM slack_bots", [])
    rows = await _rows(bot, "SELECT bot_token FROM slack_installations")
    assert rows == [(None,)], "the installation row's copy of the token is gone too"


async def _until_rows(bot: Harness, sql: str, expected: list) -> None:
    import asyncio

    for _ in range(100):
        if await _rows(bot, sql) == expected:
            return
        await asyncio.sleep(0.05)
    assert await _rows(bot, sql) == expected


async def test_bot_tokens_are_encrypted_at_rest_and_keys_rotate(harness: Harness) -> None:
    old_key = Fernet.generate_key().decode()
    bot = await harness.start(**OAUTH, token_encryption_key=old_key)
    await install(bot, "T1")
    stored = await _rows(
        bot, "SELECT bot_token FROM slack_bots UNION ALL SELECT bot_token FROM slack_installations"
    )
    assert stored and all(t.startswith("fernet:") and TOKENS["T1"] not in t for (t,) in stored)
    new_key = Fernet.generate_key().decode()
    await bot.restart(token_encryption_key=f"{new_key},{old_key}")  # old rows still read
    await send(bot, "T1", {**channel_message("<@UBOT> hi"), "type": "app_mention"})
    await bot.slack.wait_for(lambda: bot.slack.calls_to("chat.postMessage"))
    assert bot.slack.calls_to("chat.postMessage")[0].token == TOKENS["T1"]


async def test_rotate_tokens_re_encrypts_every_row_with_the_newest_key(harness: Harness) -> None:
    from bot.ops.rotate_tokens import rotate
    from bot.slack_app.installs import TokenCipher

    old_key = Fernet.generate_key().decode()
    bot = await harness.start(**OAUTH, token_encryption_key=old_key)
    await install(bot, "T1")
    await bot.stop()
    new_key = Fernet.generate_key().decode()
    changed = await rotate(bot.database_url, TokenCipher(f"{new_key},{old_key}"))
    assert changed == 2  # the bot row and the installation row
    only_new = TokenCipher(new_key)
    for (token,) in await _rows(bot, "SELECT bot_token FROM slack_bots"):
        assert only_new.decrypt(token) == TOKENS["T1"]
