"""An ASGI middleware in front of ``POST /predict``: size limit, parsing and decoding per request.

LitServe decodes requests inside its batching worker, where one bad request fails its whole
batch; so every upload is checked here first, and ``/predict`` receives one canonical JSON body
``{"images": [{"name", "data"}]}`` whose images are known to decode.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from tailorgen.serve.requests import (
    BadRequestError,
    Upload,
    check_uploads,
    content_kind,
    decode_upload,
    parse_json,
)

__all__ = ["UploadCheckMiddleware"]

Scope = dict[str, Any]


class UploadCheckMiddleware:
    """Refuse a bad ``POST`` to ``path`` with a JSON ``{"detail": reason}`` 4xx; pass the rest through."""

    def __init__(self, app: Any, path: str = "/predict", max_bytes: int = 20 * 2**20) -> None:
        self.app = app
        self.path = path
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        try:
            body = await self._body(scope, receive)
            uploads = await self._uploads(scope, body)
            for upload in uploads:
                decode_upload(upload)
        except BadRequestError as error:
            await _refuse(send, error)
            return
        canonical = json.dumps(
            {"images": [{"name": u.name, "data": base64.b64encode(u.data).decode()} for u in uploads]}
        ).encode()
        await self.app(_with_json(scope, len(canonical)), _replay(canonical, receive), send)

    async def _body(self, scope: Scope, receive: Any) -> bytes:
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise BadRequestError(
                413, f"request body of {declared} bytes is over the {self.max_bytes}-byte limit"
            )
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise BadRequestError(400, "client disconnected before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise BadRequestError(413, f"request body is over the {self.max_bytes}-byte limit")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if not body:
            raise BadRequestError(
                400, "empty request body: send images as multipart form data or base64 JSON"
            )
        return body

    async def _uploads(self, scope: Scope, body: bytes) -> list[Upload]:
        if content_kind(_header(scope, b"content-type")) == "json":
            return parse_json(body)
        from starlette.datastructures import UploadFile
        from starlette.formparsers import MultiPartException
        from starlette.requests import Request

        try:
            form = await Request(scope, _replay(body)).form(max_part_size=self.max_bytes)
        except (MultiPartException, AssertionError, ValueError) as exc:
            raise BadRequestError(400, f"malformed multipart body: {exc}") from None
        uploads = []
        for index, (_, value) in enumerate(form.multi_items()):
            if isinstance(value, UploadFile):
                uploads.append(Upload(value.filename or str(index), await value.read()))
        await form.close()
        return check_uploads(uploads)


def _header(scope: Scope, name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == name), "")


def _with_json(scope: Scope, length: int) -> Scope:
    kept = [(k, v) for k, v in scope["headers"] if k.lower() not in {b"content-type", b"content-length"}]
    headers = [*kept, (b"content-type", b"application/json"), (b"content-length", str(length).encode())]
    return {**scope, "headers": headers}


def _replay(body: bytes, then: Any = None) -> Any:
    """An ASGI ``receive`` giving ``body`` once, then the client's own (so a disconnect still shows)."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return await then() if then else {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _refuse(send: Any, error: BadRequestError) -> None:
    payload = json.dumps({"detail": error.reason}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
