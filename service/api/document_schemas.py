"""Pydantic models of the document write routes, and the two request body shapes they take."""

import hashlib
import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from index.documents import ID_PATTERN, SUPPORTED_SUFFIXES

MAX_TITLE_CHARS = 300


ID_RULE = "an id is 1-128 ASCII letters, digits, '.', '_' or '-', and not '.' or '..'"


def valid_id(document_id: str | None) -> str | None:
    """The pattern's check, with a sentence a person can act on rather than the regular expression."""
    if document_id is not None and not re.fullmatch(ID_PATTERN, document_id):
        raise ValueError(ID_RULE)
    return document_id


def has_words(text: str) -> str:
    if not text.strip():
        raise ValueError("the document holds no text; send its words in 'text'")
    if "\x00" in text:  # as a file holding one is refused (index.documents)
        raise ValueError(f"the text holds a NUL character (character {text.index(chr(0))}); send plain text")
    return text


def optional_title(title: str | None) -> str | None:
    """Stripped, None when blank; a control character (BEL, ESC, a line break) is refused: a title is one line that
    terminals (`qa index list`) and the chat page print."""
    title = (title or "").strip() or None
    bad = next((c for c in title or "" if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise ValueError(f"the title holds a control character (U+{ord(bad):04X}); give it as one line of text")
    return title


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field ('titel') is named, not dropped without a word

    id: Annotated[str | None, AfterValidator(valid_id)] = Field(
        None,
        json_schema_extra={"pattern": ID_PATTERN},  # documented; checked by valid_id, which says it in words
        description="Letters, digits, '.', '_', '-'; omitted: one made from the text's hash",
    )
    title: Annotated[str | None, AfterValidator(optional_title)] = Field(
        None, max_length=MAX_TITLE_CHARS, description="Omitted: a Markdown heading or the first line of the text"
    )
    text: Annotated[str, AfterValidator(has_words)] = Field(
        description="Plain text (Windows line ends are read as '\\n', as in an uploaded file); answers cite character"
        " offsets into the stored text, which GET /documents/{id} returns",
        examples=["The harbour opened in 1892. Fishing boats still land 300 tonnes of cod each year."],
    )

    def document_id(self) -> str:
        return self.id or "doc-" + hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:16]


class DocumentChange(BaseModel):
    id: str
    title: str
    status: Literal["added", "replaced", "unchanged", "removed"]
    chunks: int = Field(description="The document's chunks in the index now (0 once removed)")
    generation: str = Field(description="The index generation that holds the change; it is durable when this returns")


UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": f"UTF-8 {', '.join(sorted(SUPPORTED_SUFFIXES))}; its name (without suffix) is the id",
        },
        "title": {"type": "string", "maxLength": MAX_TITLE_CHARS, "description": "Omitted: from the text"},
        "id": {"type": "string", "pattern": ID_PATTERN, "description": "Omitted: the file name without suffix"},
    },
}

# The routes read their bodies themselves (JSON or an upload, by Content-Type), so the schema is declared here.
DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentIn.model_json_schema()},
            "multipart/form-data": {"schema": UPLOAD_SCHEMA},
        },
    }
}
