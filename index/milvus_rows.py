"""What a document becomes in the Milvus store: its chunk rows, its text-part rows, and filter literals for its id."""

import hashlib

from index import milvus_schema as schema
from index.document_store import EmbeddedDocument
from index.documents import Document, DocumentError, quoted_id
from index.lexical import terms


def chunk_rows(embedded: EmbeddedDocument) -> list[dict]:
    """One row a chunk: offsets, text (when it fits a VARCHAR), BM25 terms and vector, under a stable id."""
    document = embedded.document
    words = terms([c.text for c in embedded.chunks]) if embedded.chunks else []
    return [
        {
            "id": chunk_id(document.id, document.content_hash, position),
            "document_id": document.id,
            "content_hash": document.content_hash,
            "start": chunk.start,
            "end": chunk.end,
            "text": chunk.text if fits(chunk.text) else "",  # too long: read from the document
            "terms": clip(" ".join(chunk_words)),
            "vector": vector.tolist(),
        }
        for position, (chunk, chunk_words, vector) in enumerate(
            zip(embedded.chunks, words, embedded.vectors, strict=True)
        )
    ]


def document_rows(document: Document, chunks: int) -> list[dict]:
    """The document's text in parts that each fit a VARCHAR, every part carrying the document's listing fields."""
    text, size = document.text, schema.TEXT_PART_CHARS
    parts = [text[i * size : (i + 1) * size] for i in range(part_count(text))]
    return [
        {
            "key": f"{document.id}/{part}",
            "document_id": document.id,
            "part": part,
            "parts": len(parts),
            "title": document.title,
            "source": document.source,
            "content_hash": document.content_hash,
            "characters": len(text),
            "chunks": chunks,
            "text": piece,
            "placeholder": schema.PLACEHOLDER,
        }
        for part, piece in enumerate(parts)
    ]


def part_count(text: str) -> int:
    """How many parts a document's text is stored in (one, empty, for an empty text)."""
    return max(1, -(-len(text) // schema.TEXT_PART_CHARS))


def check_sizes(document: Document) -> None:
    """Refuse an id, title or source longer than its Milvus field, naming which."""
    for name, value, limit in (
        ("id", document.id, schema.MAX_ID_BYTES),
        ("title", document.title, schema.MAX_VARCHAR_BYTES),
        ("source", document.source, schema.MAX_VARCHAR_BYTES),
    ):
        if len(value.encode("utf-8")) > limit:
            raise DocumentError(f"document {quoted_id(document.id)}: its {name} is over {limit} bytes, Milvus's limit")


def chunk_id(document_id: str, content_hash: str, position: int) -> int:
    """A stable 63-bit id: the same chunk of the same text always gets the same row."""
    digest = hashlib.blake2b(f"{document_id}\0{content_hash}\0{position}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & (2**63 - 1)


def literal(value: str) -> str:
    """A string as a Milvus filter literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return '"' + escaped.replace("\t", "\\t") + '"'


def fits(text: str) -> bool:
    return len(text.encode("utf-8")) <= schema.MAX_VARCHAR_BYTES


def clip(words: str) -> str:
    """The BM25 terms of an over-long chunk, cut at a word so they fit a VARCHAR (the rest go unindexed)."""
    return words if fits(words) else words[: schema.TEXT_PART_CHARS].rsplit(" ", 1)[0]
