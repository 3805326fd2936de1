"""Loading articles from disk: UTF-8 text, Markdown and HTML (as text), each with an id, a title and a content hash."""

import hashlib
import json
import os
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES
TITLES_FILE = "titles.json"
BUNDLED_CORPUS = Path(__file__).parent / "corpus"
MAX_ID_CHARS = 128
# The ids document_id() makes, and the ones a caller may give; not "." or "..", which a URL path would resolve away.
# (No look-ahead: pydantic's regex engine has none.)
_NO_DOT, _ANY = "[A-Za-z0-9_-]", "[A-Za-z0-9._-]"
ID_PATTERN = (
    rf"^(?:{_NO_DOT}{_ANY}{{0,{MAX_ID_CHARS - 1}}}|\.{_NO_DOT}{_ANY}{{0,{MAX_ID_CHARS - 2}}}"
    rf"|\.\.{_ANY}{{1,{MAX_ID_CHARS - 2}}})$"
)
MAX_NAME_CHARS = 255  # a file name, as most file systems allow; an upload's name is the client's to choose


class DocumentError(ValueError):
    """A file that cannot be loaded as a document; the message names the file and says why."""


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    source: str
    text: str

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def quoted_id(document_id: str) -> str:
    """An id as a message shows it: quoted, and cut at 80 characters (an unknown id can be any length a URL allows)."""
    return repr(document_id if len(document_id) <= 80 else document_id[:80] + "…")


def document_id(path: Path) -> str:
    """A stable id from the file name: its stem, with anything but letters, digits, '-', '_' and '.' replaced."""
    made = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-")
    return made if made.strip(".") else "document"  # nothing left, or only dots ("..txt")


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given, plus the supported files inside folders (sorted); a missing path, or a folder without a
    supported file, is an error."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = _files_in(path)
            if not found:  # else a build from it would make an empty index and say it went well
                supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
                raise DocumentError(f"{path}: no documents in this folder (looked for {supported} files)")
            files += found
        elif path.is_file():
            files.append(path)
        elif path.is_symlink():
            raise DocumentError(f"{path}: a link to nothing ({os.readlink(path)} does not exist)")
        elif path.exists():
            raise DocumentError(f"{path}: not a file or folder (a pipe or device?)")
        else:
            raise DocumentError(f"{path}: no such file or folder")
    return files


def _files_in(folder: Path) -> list[Path]:
    """The supported files under a folder, sorted. Hidden files and folders (.git, macOS's ._ copies) are left out,
    and a folder that cannot be read is an error, not a silent gap in the index."""

    def refuse(error: OSError) -> None:
        raise DocumentError(f"{error.filename}: cannot read this folder ({error.strerror})")

    found: list[Path] = []
    for root, folders, names in os.walk(folder, onerror=refuse):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in names:
            path = Path(root) / name
            if not name.startswith(".") and path.suffix.lower() in SUPPORTED_SUFFIXES and path.is_file():
                found.append(path)
    return sorted(found)


def load_documents(paths: list[Path]) -> list[Document]:
    """Load every file (folders expanded); ids must be unique."""
    seen: dict[str, Path] = {}
    documents = []
    for path in expand_paths(paths):
        document = load_document(path)
        if document.id in seen:
            raise DocumentError(f"{seen[document.id]} and {path} would both get the id {document.id!r}; rename one")
        seen[document.id] = path
        documents.append(document)
    return documents


def load_document(path: Path) -> Document:
    """One file as a Document; unsupported types, undecodable bytes and empty files are refused."""
    check_suffix(path)
    return parse_document(path, path.read_bytes(), title=_titles_for(path.parent).get(path.name))


def check_suffix(path: Path) -> None:
    """Refuse a file type we can't read, naming the file and the supported types."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise DocumentError(f"{path}: unsupported file type {suffix or '(none)'!r}; supported: {supported}")


def parse_document(path: Path, raw: bytes, title: str | None = None, doc_id: str | None = None) -> Document:
    """A file's bytes as a Document (from disk or an upload): UTF-8 only, HTML read as its visible text, never empty.

    Without a `doc_id` the id comes from the file name, which must then make one of at most MAX_ID_CHARS characters.
    """
    check_suffix(path)
    shown = path.name if len(path.name) <= 60 else path.name[:40] + "…"
    if len(path.name) > MAX_NAME_CHARS:
        raise DocumentError(f"{shown}: a file name is at most {MAX_NAME_CHARS} characters; rename the file")
    if not doc_id and len(document_id(path)) > MAX_ID_CHARS:
        raise DocumentError(
            f"{shown}: its name makes an id of {len(document_id(path))} characters, over the {MAX_ID_CHARS} an id may"
            " have; rename the file, or (over HTTP) give the document an id"
        )
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(f"{path}: not valid UTF-8 (byte {error.start}); save it as UTF-8 text") from None
    if "\x00" in decoded:
        raise DocumentError(f"{path}: holds a NUL byte (character {decoded.index(chr(0))}), so it is not text")
    suffix = path.suffix.lower()
    text = html_to_text(decoded) if suffix in HTML_SUFFIXES else decoded.replace("\r\n", "\n")
    if suffix in MARKDOWN_SUFFIXES:
        text, title = without_front_matter(text, title)
    if not text.strip():
        raise DocumentError(f"{path}: the file holds no text")
    # A name that is not UTF-8 (undecodable bytes on disk) is kept with U+FFFD for them: it is stored as text.
    source = path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return Document(id=doc_id or document_id(path), title=title or guess_title(text, path), source=source, text=text)


FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<block>.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
FRONT_MATTER_KEY = re.compile(r"[\w-]+:(?:\s|$)")
FRONT_MATTER_LINE = re.compile(
    rf"{FRONT_MATTER_KEY.pattern}|[ \t]|-[ \t]|#"
)  # a key, an indented or list line, a comment
FRONT_MATTER_TITLE = re.compile(r"^title:[ \t]*(?P<title>.+?)[ \t]*$", re.MULTILINE)


def without_front_matter(text: str, title: str | None) -> tuple[str, str | None]:
    """A Markdown file's text without its YAML front matter (`---` lines around `key: value` lines, as Jekyll, Hugo and
    Pandoc write it), which is metadata, not article text, and its `title:` as the title unless one was given."""
    found = FRONT_MATTER.match(text)
    lines = [line for line in (found.group("block") or "").splitlines() if line.strip()] if found else []
    if not lines or not FRONT_MATTER_KEY.match(lines[0]) or not all(FRONT_MATTER_LINE.match(line) for line in lines):
        return text, title  # rules around prose or a list, not metadata (nor an empty block)
    named = FRONT_MATTER_TITLE.search("\n".join(lines))
    if named and not title:
        value = re.sub(r"\s+#.*$", "", named.group("title")).strip().strip("'\"")
        title = value if value and value[0] not in "|>" else None  # a block scalar's text is on the lines below
    return text[found.end() :], title


def guess_title(text: str, path: Path) -> str:
    """A Markdown heading, else the first line cut at a word near 80 characters, else the file name."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            line = line.lstrip("#").strip()
            return line if len(line) <= 80 else line[:80].rsplit(" ", 1)[0] + "…"
    return path.stem


def _titles_for(folder: Path) -> dict[str, str]:
    """Human titles from a folder's titles.json ({file name: title}), when it has one."""
    path = folder / TITLES_FILE
    if not path.is_file():
        return {}
    try:
        titles = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise DocumentError(f"{path}: not a JSON object of file name to title ({error})") from None
    if not isinstance(titles, dict) or not all(isinstance(title, str) for title in titles.values()):
        raise DocumentError(f"{path}: not a JSON object of file name to title")
    return titles


class _TextExtractor(HTMLParser):
    # What a browser never shows; a <title> outside <head> included.
    _SKIP: ClassVar[set[str]] = {"script", "style", "head", "noscript", "template", "title"}
    # Elements that start a line of their own (as a browser lays them out), so their text never runs into the next.
    _BLOCKS: ClassVar[set[str]] = {
        *("p", "div", "br", "hr", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "caption", "thead", "tbody"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "aside", "nav", "main", "header", "footer"),
        *("blockquote", "pre", "figure", "figcaption", "address", "details", "summary", "fieldset", "legend"),
        *("form", "textarea", "option", "hgroup", "menu"),
    }
    _CELLS: ClassVar[set[str]] = {"td", "th"}  # cells of a row stay on its line, apart

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "body":  # a <head> left open (HTML allows leaving out </head>) ends where the body begins
            self.skipping.pop("head", None)
        if tag in self._SKIP:
            self.skipping[tag] = self.skipping.get(tag, 0) + 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        elif tag in self._CELLS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            if self.skipping.get(tag):
                self.skipping[tag] -= 1
                if not self.skipping[tag]:
                    del self.skipping[tag]
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        elif tag in self._CELLS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, one block a line; the offsets we cite are into this text."""
    extractor = _TextExtractor()
    extractor.feed(html)
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    return "\n".join(line for line in lines if line)
