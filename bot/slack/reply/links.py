"""Links whose label pretends to be another address are shown with their real target.

`[https://slack.com](https://evil.example)` reads as a link to slack.com; Slack would show
the label and hide the target. A label that looks like a URL or a domain name other than
the target's host (or a parent domain of it) is replaced by the target itself, so what the
reader sees is where the link goes. Ordinary labels ("the docs", "Node.js") are kept.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Labels count as domains only with a common top-level domain: file names like
# `setup.py` or `README.md` are not mistaken for one.
_TLDS = (
    "com|net|org|io|dev|app|ai|co|gov|edu|mil|int|info|biz|me|us|uk|eu|de|fr|nl|ch|ca|au|jp|"
    "cn|ru|in|br|es|it|se|no|fi|dk|pl|xyz|site|online|tech|cloud|link|page|so|gg|ly|to|tv|"
    "fm|im|cc|ws|top|shop|store|blog|news|live|ms|be|at|nz|ie|il|kr|sg|hk|tw"
)
_URLISH = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$|^mailto:\S+$", re.IGNORECASE)
_DOMAINISH = re.compile(
    rf"^(?:www\.)?((?:[a-z0-9-]+\.)+(?:{_TLDS}))(?::\d+)?(?:[/?#]\S*)?$", re.IGNORECASE
)
_DEFINITION = re.compile(r"^ {0,3}\[(?P<ref>[^\]\n]+)\]:[ \t]*<?(?P<url>[^\s<>]+)>?", re.MULTILINE)
_REFERENCE = re.compile(
    r"(?<![\\\]])\[(?P<label>[^\[\]\n]+)\](?:\[(?P<ref>[^\[\]\n]*)\])?(?![(:\[])"
)
INLINE_LINK = re.compile(
    r"(?<!\\)\[(?P<label>(?:\\.|[^\[\]\n\\])+)\]"
    r"\((?P<url><[^<>\n]*>|[^\s()<>]+)(?P<title>\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?\)"
)


def _host(url: str) -> str:
    url = url.strip().strip("<>")
    if url.lower().startswith("mailto:"):
        return url.split("@", 1)[-1].lower()
    if "://" not in url:
        url = "//" + url
    try:
        return (urlsplit(url).hostname or "").lower().removeprefix("www.")
    except ValueError:
        return ""


def claimed_host(label: str) -> str | None:
    """Return the host a link label claims to be, or None when it does not look like one."""
    text = label.strip().strip("*_~`").strip().strip("<>").strip()
    if _URLISH.match(text):
        return _host(text)
    match = _DOMAINISH.match(text)
    return match.group(1).lower().removeprefix("www.") if match else None


def disguised(label: str, url: str) -> bool:
    """Tell whether `label` looks like an address other than where `url` goes."""
    claimed = claimed_host(label)
    if claimed is None:
        return False
    real = _host(url)
    return not real or not (real == claimed or real.endswith("." + claimed))


def honest(label: str, url: str) -> str:
    """Return the Markdown for a link: as written, or its bare target when disguised."""
    if disguised(label, url):
        return url.strip("<>")
    return f"[{label}]({url})"


def reference_targets(markdown: str) -> dict[str, str]:
    """Return the link reference definitions (`[ref]: url`) of a text, by lowercased label."""
    if "]:" not in markdown:
        return {}
    return {m.group("ref").strip().lower(): m.group("url") for m in _DEFINITION.finditer(markdown)}


def expose_disguised(prose: str, refs: dict[str, str] | None = None) -> str:
    """Replace every disguised Markdown link in `prose` (no code) by its target.

    Inline links (`[label](url)`) and, given the text's definitions, reference links
    (`[label][ref]`, `[label][]`, `[label]`) are checked.
    """

    def inline(match: re.Match[str]) -> str:
        label, url = match.group("label"), match.group("url")
        return url.strip("<>") if disguised(label, url) else match.group(0)

    def reference(match: re.Match[str]) -> str:
        label, ref = match.group("label"), match.group("ref")
        url = (refs or {}).get((ref or label).strip().lower())
        return url if url and disguised(label, url) else match.group(0)

    if "](" in prose:
        prose = INLINE_LINK.sub(inline, prose)
    if refs:
        prose = _REFERENCE.sub(reference, prose)
    return prose
