"""Turn an HTTP request into a Bolt request, refusing what is not one with a 4xx.

Bolt parses the body and reads fields such as `authorizations` while it builds its request,
before it checks the signature, so an unauthenticated body like `[1]` or
`{"authorizations": "x"}` used to end in a 500 with a traceback. Here the signature is
checked first (when the app verifies requests), the body must be a JSON object or form
data no deeper than `MAX_DEPTH`, and anything else is answered 400/401 with one log line.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote_plus

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.jsondepth import MAX_DEPTH, too_deep

logger = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # bytes; Slack's payloads are far smaller


async def bolt_request(
    request: web.Request, verifier: SignatureVerifier | None
) -> AsyncBoltRequest | web.Response:
    """Return the Bolt request, or the 4xx response for a body that is not a Slack request."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        logger.warning("rejected a request of %d bytes", request.content_length)
        return web.Response(status=413, text="payload too large")
    raw = await request.read()
    if len(raw) > MAX_BODY:
        logger.warning("rejected a request of %d bytes", len(raw))
        return web.Response(status=413, text="payload too large")
    if verifier is not None and not verifier.is_valid(
        raw,
        request.headers.get("X-Slack-Request-Timestamp"),
        request.headers.get("X-Slack-Signature"),
    ):
        logger.warning("rejected a request without a valid Slack signature")
        return web.Response(status=401, text="invalid request")
    body = raw.decode("utf-8", errors="replace")
    # A form's `payload=` holds URL-encoded JSON (interactions, slash commands).
    encoded = "%5B" in body.upper() or "%7B" in body.upper()
    if too_deep(body) or (encoded and too_deep(unquote_plus(body))):
        logger.warning("rejected a request nested deeper than %d levels", MAX_DEPTH)
        return web.Response(status=400, text="malformed payload")
    try:
        parsed = AsyncBoltRequest(
            body=body,
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as exc:
        logger.warning("rejected a request with a malformed payload (%s)", type(exc).__name__)
        return web.Response(status=400, text="malformed payload")
    return parsed


def verifier_for(signing_secret: str | None, verify: bool) -> SignatureVerifier | None:
    """Return the signature check HTTP requests must pass, None when they are not verified."""
    if not verify or not signing_secret:
        return None
    return SignatureVerifier(signing_secret)
