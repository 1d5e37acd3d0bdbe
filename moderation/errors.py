"""Our exception tree, and the one boundary where foreign errors become ours.

    ModerationError                 base; `type_` is the stable problem+json type slug, `status` the HTTP code
    ├── InvalidInput (422)          an item or request the service refuses
    │   ├── InvalidImage (422)      corrupt, truncated, unsupported, too small, absurd aspect ratio
    │   │   └── ImageTooLarge (413) too many pixels (decompression bomb) or too many bytes
    │   └── InvalidText (422)       empty, too long, undecodable
    ├── PayloadTooLarge (413)       the request body is over the limit
    ├── Unauthorized (401)          missing or bad credentials
    ├── Forbidden (403)             authenticated but not allowed
    ├── NotFound (404)
    ├── Conflict (409)              same id with other content; a decision on a lost lease
    ├── Overloaded (429)            bounded in-flight work is full; carries Retry-After
    ├── Unavailable (503)           Ray or the database is not reachable; carries Retry-After
    └── PolicyError (422)           a policy or rule file that does not validate; the running one stays

`moderation.api.app` turns every ModerationError into an RFC 9457 problem+json response.
Pillow's errors are translated in `moderation.photos.decode`; database errors in `moderation.store`.
"""

from __future__ import annotations

from typing import Any


class ModerationError(Exception):
    type_: str = "about:blank"
    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def __reduce__(self) -> tuple[Any, ...]:
        # Faults cross Ray inside Signals: keep `extra` (the default pickles `detail` only).
        return (_rebuild, (type(self), self.detail, self.__dict__))

    @property
    def type_uri(self) -> str:
        return f"https://moderation.local/problems/{self.type_}"

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class InvalidInput(ModerationError):
    type_, status, title = "invalid-input", 422, "Invalid input"


class InvalidImage(InvalidInput):
    type_, status, title = "invalid-image", 422, "Invalid image"


class ImageTooLarge(InvalidImage):
    type_, status, title = "image-too-large", 413, "Image too large"


class InvalidText(InvalidInput):
    type_, status, title = "invalid-text", 422, "Invalid text"


class PayloadTooLarge(ModerationError):
    type_, status, title = "payload-too-large", 413, "Payload too large"


class Unauthorized(ModerationError):
    type_, status, title = "unauthorized", 401, "Unauthorized"


class Forbidden(ModerationError):
    type_, status, title = "forbidden", 403, "Forbidden"


class NotFound(ModerationError):
    type_, status, title = "not-found", 404, "Not found"


class Conflict(ModerationError):
    type_, status, title = "conflict", 409, "Conflict"


class Overloaded(ModerationError):
    type_, status, title = "overloaded", 429, "Too many requests in flight"

    def __init__(self, detail: str, retry_after: int = 1, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


class Unavailable(ModerationError):
    type_, status, title = "unavailable", 503, "Service unavailable"

    def __init__(self, detail: str, retry_after: int = 5, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


class PolicyError(ModerationError):
    type_, status, title = "invalid-policy", 422, "Invalid policy"


def _rebuild(cls: type[ModerationError], detail: str, state: dict[str, Any]) -> ModerationError:
    exc = cls.__new__(cls)
    Exception.__init__(exc, detail)
    exc.__dict__.update(state)
    return exc
