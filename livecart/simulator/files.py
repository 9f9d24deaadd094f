"""Uploaded files: kept in memory with Telegram-like ids so tests can fetch the exact bytes.

Real Telegram re-encodes photos; the simulator keeps the original bytes instead, because tests
decode what the bot sent (a payment QR code, for instance) and must see it unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import io
import mimetypes
import re
import secrets

import httpx
from PIL import Image, UnidentifiedImageError

from livecart.simulator.errors import WRONG_FILE_ID, BotAPIError, bad_request
from livecart.simulator.models import FileKind, StoredFile
from livecart.simulator.params import UploadedFile

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
# Telegram's file_id prefixes per kind, so ids look like the real thing in logs.
_FILE_ID_PREFIX: dict[FileKind, str] = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI"}
_UNIQUE_ID_PREFIX: dict[FileKind, str] = {"photo": "AQAD", "document": "AgAD"}


class FileStore:
    """file_id -> stored bytes, plus the ``file_path`` index used by file downloads."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._by_path.get(file_path)

    def clear(self) -> None:
        self._by_id.clear()
        self._by_path.clear()

    def store(
        self,
        kind: FileKind,
        content: bytes,
        *,
        mime_type: str,
        file_name: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> StoredFile:
        file_id = _FILE_ID_PREFIX[kind] + secrets.token_urlsafe(40)
        digest = hashlib.sha256(kind.encode() + content).digest()[:9]
        unique_id = _UNIQUE_ID_PREFIX[kind] + base64.urlsafe_b64encode(digest).decode()
        extension = _extension(mime_type, file_name)
        file_path = f"{kind}s/file_{len(self._by_id)}{extension}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique_id,
            file_path=file_path,
            kind=kind,
            content=content,
            mime_type=mime_type,
            file_name=file_name,
            width=width,
            height=height,
        )
        self._by_id[file_id] = stored
        self._by_path[file_path] = stored
        return stored


class MediaResolver:
    """Turns a method's InputFile (upload, URL or file_id) into a stored file, as Telegram does."""

    def __init__(self, files: FileStore, http: httpx.AsyncClient) -> None:
        self._files = files
        self._http = http

    async def photo(self, source: UploadedFile | str) -> StoredFile:
        content, _name, _mime = await self._content(source, "photo", MAX_PHOTO_BYTES)
        if isinstance(content, StoredFile):
            return content
        try:
            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
                image_format = (image.format or "jpeg").lower()
        except (UnidentifiedImageError, OSError):
            raise bad_request("IMAGE_PROCESS_FAILED") from None
        mime_type = Image.MIME.get(image_format.upper(), f"image/{image_format}")
        return self._files.store("photo", content, mime_type=mime_type, width=width, height=height)

    async def document(self, source: UploadedFile | str) -> StoredFile:
        content, name, mime = await self._content(source, "document", MAX_DOCUMENT_BYTES)
        if isinstance(content, StoredFile):
            return content
        guessed = mimetypes.guess_type(name)[0] if name else None
        mime_type = guessed or mime or "application/octet-stream"
        return self._files.store("document", content, mime_type=mime_type, file_name=name)

    async def _content(
        self, source: UploadedFile | str, kind: FileKind, max_bytes: int
    ) -> tuple[bytes | StoredFile, str | None, str | None]:
        if isinstance(source, UploadedFile):
            if len(source.content) > max_bytes:
                raise BotAPIError(413, "Request Entity Too Large")
            if not source.content:
                raise bad_request(f"file must be non-empty for {kind}")
            return source.content, source.filename, source.content_type
        if source.startswith(("http://", "https://")):
            return await self._download(source, max_bytes)
        known = self._files.get(source)
        if known is None:
            raise bad_request(WRONG_FILE_ID)
        return known, known.file_name, known.mime_type

    async def _download(self, url: str, max_bytes: int) -> tuple[bytes, str | None, str | None]:
        try:
            response = await self._http.get(url, follow_redirects=True)
        except httpx.HTTPError:
            raise bad_request("failed to get HTTP URL content") from None
        if response.status_code != 200:
            raise bad_request("failed to get HTTP URL content")
        if len(response.content) > max_bytes:
            raise bad_request("failed to get HTTP URL content")
        name = url.rsplit("/", 1)[-1].split("?", 1)[0] or None
        mime = response.headers.get("content-type", "").split(";")[0] or None
        return response.content, name, mime


def _extension(mime_type: str, file_name: str | None) -> str:
    if file_name and "." in file_name:
        suffix = re.sub(r"[^A-Za-z0-9]", "", file_name.rsplit(".", 1)[-1])[:10]
        return f".{suffix}" if suffix else ""
    guessed = mimetypes.guess_extension(mime_type) or ""
    return ".jpg" if guessed in (".jpe", ".jpeg") else guessed
