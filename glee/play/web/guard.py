"""What keeps a study's data clean against stale pages, other sites and other people's browsers.

- Each browser gets an id in an HttpOnly, SameSite=Strict cookie. A game belongs to the browser that
  started it: another browser (someone who learned a participant id) can neither start it again nor
  answer in it.
- Every state-changing form carries a CSRF token derived from that cookie (a page of another site
  cannot read it) and its `Origin` must be this server's; together they refuse cross-site posts.
  Hand-written, in a few lines: the CSRF middlewares for Starlette read tokens from headers only,
  and glee's pages are plain forms without script.
- Starts are rate-limited per client address (the `limits` library, in memory: one server process).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

BROWSER_COOKIE = "glee_browser"


class Guard:
    """The per-process secret behind CSRF tokens, and the rate limiter of game starts."""

    def __init__(self, starts_per_minute: int) -> None:
        self.secret = secrets.token_bytes(32)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.starts = RateLimitItemPerMinute(starts_per_minute)

    @staticmethod
    def browser(request: Request) -> str | None:
        value = request.cookies.get(BROWSER_COOKIE, "")
        return value if 16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum() else None

    def browser_or_new(self, request: Request) -> tuple[str, bool]:
        """This browser's id, and whether it is new (then the response must set the cookie)."""
        known = self.browser(request)
        return (known, False) if known else (secrets.token_urlsafe(18), True)

    @staticmethod
    def remember(response: Response, browser: str) -> None:
        response.set_cookie(BROWSER_COOKIE, browser, httponly=True, samesite="strict", max_age=30 * 86400)

    def csrf_token(self, browser: str) -> str:
        return hmac.new(self.secret, browser.encode(), hashlib.sha256).hexdigest()[:32]

    def refuse_post(self, request: Request, form_token: str) -> str | None:
        """Why a form post is refused (another site, no cookie, a token of another browser), or None."""
        origin = request.headers.get("origin")
        if origin is not None and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}":
            return "it was sent from another site"
        browser = self.browser(request)
        if browser is None:
            return "this browser does not accept the study's cookie (please allow cookies for this site)"
        if not hmac.compare_digest(form_token, self.csrf_token(browser)):
            return "the page it came from is out of date (the server restarted, or it is another browser's)"
        return None

    def allow_start(self, request: Request) -> bool:
        address = request.client.host if request.client else "unknown"
        return self.limiter.hit(self.starts, "start", address)
