"""A stand-in for the Telegram Bot API on loopback, plus builders for realistic update dicts.

The real bot is pointed at it with `telegram.Bot(token, base_url=f"{fake.base_url}/bot")`; PTB appends
the token, so requests arrive at /bot{TOKEN}/{method}. PTB 22 POSTs every call as
application/x-www-form-urlencoded (multipart/form-data when a file goes along), with nested values
(reply_markup, commands, allowed_updates...) as JSON strings and numbers/booleans as their JSON text;
the fake decodes those back into Python values in what it records.
"""

from __future__ import annotations

import email.policy
import hmac
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .twilio_api import Reply, Request, StandInServer

__all__ = [
    "DEFAULT_TOKEN",
    "FakeTelegram",
    "bot_user",
    "callback_update",
    "contact_update",
    "text_update",
]

DEFAULT_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvw"
MAX_TEXT = 4096
LONG_POLL_CAP = 2.0  # seconds: long enough to prove waiting works, short enough for quick tests
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})

_PATH = re.compile(r"^/bot(?P<token>[^/]*)/(?P<method>[A-Za-z]+)$")
_INT = re.compile(r"^-?\d+$")
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Parameters that are free text or string ids: never decoded, even when they look like JSON or numbers.
_TEXT_FIELDS = frozenset({
    "text", "caption", "quote", "parse_mode", "secret_token", "url", "ip_address", "callback_query_id",
    "inline_message_id", "language_code", "description", "short_description", "name", "title",
    "business_connection_id", "message_effect_id", "emoji",
})


# ---------------------------------------------------------------------------------------------
# Building Telegram objects


def bot_user(token: str = DEFAULT_TOKEN) -> dict[str, Any]:
    """Return the bot's User object as getMe gives it (the id is the token's number)."""
    number = token.partition(":")[0]
    return {
        "id": int(number) if number.isdigit() else 123456,
        "is_bot": True,
        "first_name": "Referral Test Bot",
        "username": "referral_test_bot",
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def _user(user_id: int, first_name: str) -> dict[str, Any]:
    """Return a person's User object."""
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}


def _chat(chat_id: int | str, first_name: str = "Sam") -> dict[str, Any]:
    """Return a Chat object: private for positive ids, a group for negative ones, a channel for @names."""
    if isinstance(chat_id, str):
        return {"id": -1001000000001, "type": "channel", "title": chat_id, "username": chat_id.lstrip("@")}
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": first_name}
    return {"id": chat_id, "type": "group", "title": "Group"}


def _incoming(update_id: int, chat_id: int, user_id: int | None, first_name: str) -> dict[str, Any]:
    """Return the common part of a message a person sent (its id reuses the update id: unique enough)."""
    return {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": _chat(chat_id, first_name),
        "from": _user(user_id if user_id is not None else chat_id, first_name),
    }


def text_update(
    update_id: int, chat_id: int, text: str, user_id: int | None = None, first_name: str = "Sam"
) -> dict[str, Any]:
    """Return an update for a text message; a leading /command gets its bot_command entity."""
    message = _incoming(update_id, chat_id, user_id, first_name) | {"text": text}
    if text.startswith("/"):
        # CommandHandler looks at the entity, not the text, so a command without it is ignored.
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}


def contact_update(
    update_id: int, chat_id: int, phone_number: str, user_id: int | None = None, first_name: str = "Sam"
) -> dict[str, Any]:
    """Return an update for a shared contact that is the sender's own (contact.user_id == from.id).

    Telegram clients often send the number without '+' (e.g. '447700900123'); pass it as you want it.
    """
    message = _incoming(update_id, chat_id, user_id, first_name)
    sender = message["from"]["id"]
    message["contact"] = {"phone_number": phone_number, "first_name": first_name, "user_id": sender}
    return {"update_id": update_id, "message": message}


def callback_update(
    update_id: int,
    chat_id: int,
    data: str,
    message_id: int = 1,
    user_id: int | None = None,
    first_name: str = "Sam",
) -> dict[str, Any]:
    """Return an update for a press on an inline button under the bot's message `message_id`."""
    sender = user_id if user_id is not None else chat_id
    message = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": _chat(chat_id, first_name),
        "from": bot_user(),
        "text": "Choose one",
    }
    query = {
        "id": str(4_000_000_000_000_000 + update_id),
        "from": _user(sender, first_name),
        "message": message,
        "chat_instance": str(-7_000_000_000_000_000 - chat_id),
        "data": data,
    }
    return {"update_id": update_id, "callback_query": query}


# ---------------------------------------------------------------------------------------------
# Reading requests


def _decode_value(name: str, value: str) -> Any:
    """Turn a form value back into what the bot passed: JSON objects/arrays, ints, booleans."""
    if name in _TEXT_FIELDS:
        return value
    if value in ("true", "false"):
        return value == "true"
    if _INT.match(value):
        return int(value)
    if value.startswith(("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Decode a multipart/form-data body; files become {filename, content_type, content}."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    params: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        content = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            params[name] = _decode_value(name, content.decode())
        else:
            params[name] = {"filename": filename, "content_type": part.get_content_type(), "content": content}
    return params


def _params(request: Request) -> dict[str, Any]:
    """Return the call's parameters from the query string and a JSON, url-encoded or multipart body."""
    params = {k: _decode_value(k, v) for k, v in parse_qsl(request.query, keep_blank_values=True)}
    kind = request.headers.get_content_type()
    if not request.body:
        return params
    if kind == "application/json":
        params.update(json.loads(request.body))
    elif kind == "multipart/form-data":
        params.update(_multipart(request.body, request.headers["Content-Type"]))
    else:
        pairs = parse_qsl(request.body.decode(), keep_blank_values=True)
        params.update({k: _decode_value(k, v) for k, v in pairs})
    return params


def _ok(result: Any, description: str | None = None) -> Reply:
    """Return Telegram's success envelope."""
    payload: dict[str, Any] = {"ok": True, "result": result}
    if description:
        payload["description"] = description
    return Reply(200, payload)


def _error(status: int, description: str, retry_after: int | None = None) -> Reply:
    """Return Telegram's error envelope (with parameters.retry_after for flood control)."""
    payload: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        payload["parameters"] = {"retry_after": retry_after}
    return Reply(status, payload)


def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
    """Commands are kept per (scope, language), as Telegram keeps them."""
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")


_DEFAULT_COMMANDS = _commands_key({})


# ---------------------------------------------------------------------------------------------
# The fake


class FakeTelegram(StandInServer):
    """The Bot API methods the bot uses, with recording, errors on demand and long polling."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        super().__init__()
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []  # every call with the right token
        self.sent: list[dict[str, Any]] = []  # sendMessage params that succeeded
        self.offsets: list[int | None] = []  # getUpdates offsets, so tests can see acknowledgement
        self._ready = threading.Condition(self._lock)  # long polls wait on it for new updates
        self._updates: list[dict[str, Any]] = []
        self._webhook: dict[str, Any] | None = None
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._failures: dict[str, deque[Reply]] = {}
        self._blocked: set[int | str] = set()
        self._message_id = 0
        self._methods: dict[str, tuple[str, Callable[[dict[str, Any]], Reply]]] = {
            name.lower(): (name, answer)
            for name, answer in {
                "getMe": self._get_me,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "sendMessage": self._send_message,
                "answerCallbackQuery": self._answer_callback_query,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "getUpdates": self._get_updates,
            }.items()
        }

    # -- control from tests -------------------------------------------------------------------

    def fail_next(
        self, method: str, status: int, description: str, retry_after: int | None = None, times: int = 1
    ) -> None:
        """Give the next `times` calls of `method` this error (429 with retry_after is flood control)."""
        with self._lock:
            queue = self._failures.setdefault(method.lower(), deque())
            queue.extend([_error(status, description, retry_after)] * times)

    def block_chat(self, chat_id: int | str) -> None:
        """Make every later sendMessage to `chat_id` fail with 403, as when the user blocked the bot."""
        with self._lock:
            self._blocked.add(_decode_value("chat_id", str(chat_id)))

    def queue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (an update_id is assigned if missing); returns it."""
        update = dict(update)
        with self._ready:
            if "update_id" not in update:
                last = max((u["update_id"] for u in self._updates), default=0)
                update["update_id"] = last + 1
            self._updates.append(update)
            self._ready.notify_all()
        return update

    def wake(self) -> None:
        """Release long polls (stop() calls this)."""
        with self._ready:
            self._ready.notify_all()

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Return the params of every call to `method`, oldest first."""
        with self._lock:
            return [params for name, params in self.calls if name.lower() == method.lower()]

    @property
    def commands(self) -> list[dict[str, Any]]:
        """The commands set for the default scope and no language."""
        with self._lock:
            return [dict(c) for c in self._commands.get(_DEFAULT_COMMANDS, [])]

    @property
    def webhook(self) -> dict[str, Any] | None:
        """What setWebhook recorded (url, secret_token, allowed_updates...), or None."""
        with self._lock:
            return dict(self._webhook) if self._webhook is not None else None

    @property
    def pending(self) -> list[dict[str, Any]]:
        """Updates queued and not yet acknowledged by a getUpdates offset."""
        with self._lock:
            return list(self._updates)

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot's User object."""
        return bot_user(self.token)

    # -- routing ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        """Check the token, record the call, apply injected failures, then answer the method."""
        match = _PATH.match(request.path)
        if match is None:
            return _error(404, "Not Found")
        if not hmac.compare_digest(match["token"].encode(), self.token.encode()):
            return _error(401, "Unauthorized")
        # Telegram method names are case-insensitive.
        name, answer = self._methods.get(match["method"].lower(), (match["method"], None))
        params = _params(request)
        with self._lock:
            self.calls.append((name, params))
            queue = self._failures.get(name.lower())
            failure = queue.popleft() if queue else None
        if failure is not None:
            return failure
        if answer is None:
            return _error(404, "Not Found")
        return answer(params)

    # -- methods ------------------------------------------------------------------------------

    def _get_me(self, params: dict[str, Any]) -> Reply:
        """getMe: the bot's user."""
        return _ok(self.bot_user)

    def _set_webhook(self, params: dict[str, Any]) -> Reply:
        """setWebhook: record it, refusing what Telegram refuses (non-HTTPS, odd ports, bad secrets)."""
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        refusal = _webhook_refusal(url, params.get("secret_token"))
        if refusal is not None:
            return refusal
        keys = ("url", "secret_token", "allowed_updates", "max_connections", "drop_pending_updates", "ip_address")
        with self._lock:
            self._webhook = {key: params[key] for key in keys if params.get(key) is not None}
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return _ok(True, "Webhook was set")

    def _delete_webhook(self, params: dict[str, Any]) -> Reply:
        """deleteWebhook: forget it (and pending updates if asked)."""
        with self._lock:
            had = self._webhook is not None
            self._webhook = None
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return _ok(True, "Webhook was deleted" if had else "Webhook is already deleted")

    def _get_webhook_info(self, params: dict[str, Any]) -> Reply:
        """getWebhookInfo: the current webhook, as Telegram reports it."""
        with self._lock:
            hook = dict(self._webhook or {})
            info: dict[str, Any] = {
                "url": hook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
        if hook:
            info["max_connections"] = hook.get("max_connections", 40)
            if "allowed_updates" in hook:
                info["allowed_updates"] = hook["allowed_updates"]
        return _ok(info)

    def _set_my_commands(self, params: dict[str, Any]) -> Reply:
        """setMyCommands: store them per scope and language, refusing invalid ones."""
        commands = params.get("commands")
        if not isinstance(commands, list):
            return _error(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not _COMMAND.match(str(command.get("command", ""))):
                return _error(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                return _error(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        with self._lock:
            self._commands[_commands_key(params)] = [dict(c) for c in commands]
        return _ok(True)

    def _get_my_commands(self, params: dict[str, Any]) -> Reply:
        """getMyCommands: what was set for this scope and language."""
        with self._lock:
            return _ok([dict(c) for c in self._commands.get(_commands_key(params), [])])

    def _send_message(self, params: dict[str, Any]) -> Reply:
        """sendMessage: validate like Telegram, refuse blocked chats, record, return the Message."""
        chat_id, text = params.get("chat_id"), params.get("text")
        if chat_id in (None, ""):
            return _error(400, "Bad Request: chat_id is empty")
        if not text:
            return _error(400, "Bad Request: message text is empty")
        if len(str(text)) > MAX_TEXT:
            return _error(400, "Bad Request: message is too long")
        with self._lock:
            if chat_id in self._blocked:
                return _error(403, "Forbidden: bot was blocked by the user")
            self._message_id += 1
            message_id = self._message_id
            self.sent.append(params)
        return _ok(self._message(message_id, chat_id, str(text), params.get("reply_markup")))

    def _message(self, message_id: int, chat_id: int | str, text: str, markup: Any) -> dict[str, Any]:
        """Return the Message object for something the bot sent."""
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": self.bot_user,
            "text": text,
        }
        # Telegram echoes only inline keyboards back; reply keyboards live on the client.
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    def _answer_callback_query(self, params: dict[str, Any]) -> Reply:
        """answerCallbackQuery: needs a query id; recorded in calls."""
        if not params.get("callback_query_id"):
            return _error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        return _ok(True)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> Reply:
        """editMessageReplyMarkup: recorded in calls."""
        return _ok(True)

    def _get_updates(self, params: dict[str, Any]) -> Reply:
        """getUpdates: forget acknowledged updates, then long-poll (capped) until some are queued."""
        limit = int(params.get("limit") or 100)
        wait = min(float(params.get("timeout") or 0), LONG_POLL_CAP)
        deadline = time.monotonic() + wait
        with self._ready:
            if self._webhook is not None:
                return _error(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            self._acknowledge(params.get("offset"))
            while not self._updates and not self._stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._ready.wait(remaining)
            return _ok([dict(u) for u in self._updates[:limit]])

    def _acknowledge(self, offset: int | None) -> None:
        """Record the offset and drop updates it confirms (caller holds the lock)."""
        self.offsets.append(offset)
        if offset is None:
            return
        if offset < 0:
            # A negative offset keeps only the last -offset updates, as Telegram does.
            self._updates[:] = self._updates[offset:]
        else:
            self._updates[:] = [u for u in self._updates if u["update_id"] >= offset]


def _webhook_refusal(url: str, secret_token: Any) -> Reply | None:
    """Return Telegram's 400 for a webhook it would refuse, else None."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return _error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    try:
        port = parts.port or 443
    except ValueError:
        return _error(400, "Bad Request: bad webhook: Failed to resolve host: Name or service not known")
    if port not in WEBHOOK_PORTS:
        return _error(400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    if secret_token is not None and not _SECRET.match(str(secret_token)):
        return _error(400, "Bad Request: secret token contains unallowed characters")
    return None
