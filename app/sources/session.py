"""Cookie sessions (SAP Business One Service Layer, Acumatica): log in once, send the
session cookies with every request, log in again once when a session expires mid-read
(the vendor answers 401), and log out at the end: both vendors count open sessions
against the licence, so an abandoned one blocks a user until it times out."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from app.sources.errors import AuthError, PayloadError
from app.sources.http import VendorClient

LOGOUT_TIMEOUT = 5.0


class SessionClient(VendorClient):
    login_path = ""
    logout_path = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cookie: str | None = None
        self.logins = 0

    def login_body(self) -> dict:
        raise NotImplementedError

    async def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self.cookie is None:
            await self.login()
        try:
            return await self.request(method, url, **kwargs)
        except AuthError:
            if self.logins == 0:
                raise
            # The session timed out or the server restarted: a new one, and one more try
            # (a second 401 is a real refusal and is raised as it is).
            await self.login()
            return await self.request(method, url, **kwargs)

    async def get_json(self, url: str, params: dict | None = None,
                       headers: dict | None = None) -> Any:
        return self.json(await self.call("GET", url, params=params, headers=headers))

    async def login(self) -> None:
        self._http.headers.pop("Cookie", None)
        self._http.cookies.clear()
        self.cookie = None
        response = await self.request("POST", self.login_path, json=self.login_body())
        pairs = [header.split(";", 1)[0].strip()
                 for header in response.headers.get_list("set-cookie")]
        pairs = [pair for pair in pairs if "=" in pair and pair.split("=", 1)[1]]
        if not pairs:
            raise PayloadError(f"{self.system}: POST {self.login_path}: the login answer "
                               "set no session cookie")
        # Cookies are sent by hand (the jar's domain rules differ between hosts); their
        # values are secrets like the password.
        self._secrets += [pair.split("=", 1)[1] for pair in pairs]
        self._http.cookies.clear()
        self.cookie = "; ".join(pairs)
        self._http.headers["Cookie"] = self.cookie
        self.logins += 1

    async def aclose(self) -> None:
        if self.cookie is not None:
            # A courtesy: the session also ends when it times out.
            with contextlib.suppress(httpx.HTTPError):
                await self._http.post(self.logout_path, timeout=LOGOUT_TIMEOUT)
            self.cookie = None
        await super().aclose()
