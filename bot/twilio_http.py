"""A twilio HTTP client that can be pointed at another base URL (a stand-in server in tests, or staging)."""

from __future__ import annotations

from typing import Any

from requests.adapters import HTTPAdapter
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

__all__ = ["TWILIO_API", "BaseUrlHttpClient", "make_twilio_client"]

TWILIO_API = "https://api.twilio.com"


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no type information
    """Sends what the library would send to api.twilio.com to `base_url` instead."""

    def __init__(self, base_url: str, timeout: float = 10.0, connections: int = 10, **kwargs: Any) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.base_url = base_url.rstrip("/")
        if self.session is not None:
            # One kept-alive connection per concurrent send: a smaller pool would open (and throw away)
            # a new connection for every call beyond it.
            retries = kwargs.get("max_retries") or 0
            for scheme in ("https://", "http://"):
                self.session.mount(scheme, HTTPAdapter(pool_maxsize=connections, max_retries=retries))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


def make_twilio_client(
    account_sid: str, auth_token: str, api_base_url: str = TWILIO_API, timeout: float = 10.0, connections: int = 10
) -> Client:
    """The official client, talking to Twilio or to whatever `api_base_url` names, `connections` calls at a time."""
    return Client(account_sid, auth_token,
                  http_client=BaseUrlHttpClient(api_base_url, timeout=timeout, connections=connections))
