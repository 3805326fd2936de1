"""Loading .txt, .md and .html files as documents, and refusing what cannot be loaded."""

import json
import os
from pathlib import Path

import pytest

from index.documents import BUNDLED_CORPUS, Document, DocumentError, expand_paths, load_document, load_documents
from tests.fakes import TINY_CORPUS, write_files


def test_text_file_loads_as_written(tmp_path: Path) -> None:
    text = "Scale AI was founded in 2016.\nIt labels data for AI labs.\n"
    path = write_files(tmp_path, {"scale notes.txt": text}) / "scale notes.txt"

    assert load_document(path) == Document(
        id="scale-notes", title="Scale AI was founded in 2016.", source="scale notes.txt", text=text
    )


def test_windows_line_endings_and_byte_order_mark_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes("\ufeffFirst line.\r\nSecond line.\r\n".encode())

    assert load_document(path).text == "First line.\nSecond line.\n"


def test_markdown_title_comes_from_its_heading(tmp_path: Path) -> None:
    text = "\n# Orchard notes\n\nThe orchard grows 40 varieties of apple.\n"
    document = load_document(write_files(tmp_path, {"orchard.md": text}) / "orchard.md")

    assert document.title == "Orchard notes"
    assert document.text == text  # Markdown is indexed as written, so offsets point into the file


@pytest.mark.parametrize("closing", ["---", "..."])
def test_markdown_front_matter_gives_the_title_and_stays_out_of_the_text(tmp_path: Path, closing: str) -> None:
    body = "\n# Ferry times in Bergen\n\nThe first ferry leaves at 06:10.\n"
    text = f'---\ntitle: "Ferry Schedule Secret"\nauthor: Jane Doe\n{closing}\n{body}'
    document = load_document(write_files(tmp_path, {"front.md": text}) / "front.md")

    assert document.title == "Ferry Schedule Secret"
    assert document.text == body, "metadata, not article text: never cited"

    untitled = load_document(
        write_files(tmp_path, {"plain.markdown": f"---\nauthor: Jane Doe\n---\n{body}"}) / "plain.markdown"
    )
    assert (untitled.title, untitled.text) == ("Ferry times in Bergen", body)


def test_a_rule_that_is_not_front_matter_stays_in_the_text(tmp_path: Path) -> None:
    text = "Intro line.\n\n---\n\ntitle: not metadata\n"
    document = load_document(write_files(tmp_path, {"rule.md": text}) / "rule.md")
    assert (document.title, document.text) == ("Intro line.", text)
    unclosed = "---\ntitle: never closed\nThe text goes on.\n"
    assert load_document(write_files(tmp_path, {"open.md": unclosed}) / "open.md").text == unclosed
    prose = "---\nA paragraph between two rules.\n\n---\nMore text.\n"
    assert load_document(write_files(tmp_path, {"rules.md": prose}) / "rules.md").text == prose
    in_text = "---\ntitle: x\n---\n"
    assert load_document(write_files(tmp_path, {"notes.txt": in_text}) / "notes.txt").text == in_text, "Markdown only"


def test_a_file_holding_a_nul_byte_is_refused_as_not_text(tmp_path: Path) -> None:
    path = tmp_path / "nul.txt"
    path.write_bytes(b"The dock\x00 has 14 cranes.")
    with pytest.raises(DocumentError, match=r"nul.txt: holds a NUL byte \(character 8\), so it is not text"):
        load_document(path)


def test_long_first_line_is_cut_at_a_word_for_the_title(tmp_path: Path) -> None:
    line = " ".join(["word"] * 40)
    document = load_document(write_files(tmp_path, {"long.txt": line}) / "long.txt")

    assert document.title == " ".join(["word"] * 16) + "…"


def test_html_loads_as_its_visible_text(tmp_path: Path) -> None:
    html = (
        "<!DOCTYPE html><html><head><title>Tab title</title><style>p { color: red }</style></head>"
        "<body><h1>Big   news</h1><p>Meta bought <b>49%</b> of Scale &amp; hired its founder.</p>"
        "<script>var hidden = 'not text';</script><ul><li>One</li><li>Two<br>lines</li></ul>"
        "<noscript>Enable scripts</noscript><template><p>Hidden template says 77 boats</p></template></body></html>"
    )
    document = load_document(write_files(tmp_path, {"news.html": html}) / "news.html")

    assert document.text == "Big news\nMeta bought 49% of Scale & hired its founder.\nOne\nTwo\nlines"
    assert document.title == "Big news"
    assert document.id == "news"


def test_html_text_keeps_what_a_browser_shows_apart_and_nothing_it_hides(tmp_path: Path) -> None:
    """</head> may be left out; cells, definitions and captions are text of their own; a stray <title> is not text."""
    html = (
        "<html><head><title>Canal report</title>\n<body><p>The canal lock was rebuilt in 2004.</p>"
        "<table><tr><th>Station</th><th>Opened</th></tr><tr><td>Harbour</td><td>1901</td></tr></table>"
        "<dl><dt>Length</dt><dd>12 km</dd></dl><figure><figcaption>Map of the line</figcaption></figure>"
        "<title>Tram</title><footer>Footer text</footer></body></html>"
    )
    document = load_document(write_files(tmp_path, {"canal.html": html}) / "canal.html")

    assert document.text == (
        "The canal lock was rebuilt in 2004.\nStation Opened\nHarbour 1901\nLength\n12 km\nMap of the line\nFooter text"
    )
    assert document.title == "The canal lock was rebuilt in 2004."


def test_titles_json_names_the_bundled_articles() -> None:
    documents = load_documents([BUNDLED_CORPUS])

    assert {d.id: d.title for d in documents} == {
        "000_5391de805404b0fb": "OpenAI phases out work with Scale AI after Meta takes a 49% stake",
        "003_44882e964004ca2e": "Meta in talks to invest up to $10 billion in Scale AI",
    }
    for document in documents:
        assert document.text == (BUNDLED_CORPUS / document.source).read_text(encoding="utf-8")


def test_titles_json_overrides_a_markdown_heading(tmp_path: Path) -> None:
    write_files(tmp_path, {"a.md": "# Heading\n\nBody.", "titles.json": json.dumps({"a.md": "Human title"})})

    assert load_document(tmp_path / "a.md").title == "Human title"


@pytest.mark.parametrize("content", ["not json", '["a.md", "title"]'], ids=["not-json", "json-list"])
def test_malformed_titles_json_is_refused_with_its_name(tmp_path: Path, content: str) -> None:
    write_files(tmp_path, {"a.md": "# Heading\n\nBody.", "titles.json": content})

    with pytest.raises(DocumentError) as raised:
        load_document(tmp_path / "a.md")

    assert str(tmp_path / "titles.json") in str(raised.value)


def test_folders_expand_to_their_supported_files_sorted(tmp_path: Path) -> None:
    write_files(tmp_path, TINY_CORPUS)
    write_files(tmp_path / "more", {"deep.markdown": "Deep text.", "scan.pdf": b"%PDF-1.7", "data.csv": "a,b"})

    documents = load_documents([tmp_path])

    assert [d.id for d in documents] == ["comet", "harbour", "deep", "orchard"]
    assert [d.source for d in documents] == ["comet.html", "harbour.txt", "deep.markdown", "orchard.md"]


def test_files_and_folders_mix(tmp_path: Path) -> None:
    write_files(tmp_path / "folder", {"b.txt": "Bee."})
    write_files(tmp_path, {"a.txt": "Ay."})

    assert [d.id for d in load_documents([tmp_path / "a.txt", tmp_path / "folder"])] == ["a", "b"]


def test_unsupported_suffix_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = write_files(tmp_path, {"report.pdf": b"%PDF-1.7"}) / "report.pdf"

    with pytest.raises(DocumentError) as raised:
        load_documents([path])

    assert str(path) in str(raised.value)
    assert "'.pdf'" in str(raised.value)


def test_undecodable_bytes_are_refused_naming_the_file(tmp_path: Path) -> None:
    path = write_files(tmp_path, {"latin1.txt": "café au lait".encode("latin-1")}) / "latin1.txt"

    with pytest.raises(DocumentError) as raised:
        load_document(path)

    assert str(raised.value) == f"{path}: not valid UTF-8 (byte 3); save it as UTF-8 text"


@pytest.mark.parametrize("content", ["", "  \n\t\n", "<html><head><title>Only a title</title></head></html>"])
def test_file_without_text_is_refused(tmp_path: Path, content: str) -> None:
    name = "empty.html" if content.startswith("<") else "empty.txt"
    path = write_files(tmp_path, {name: content}) / name

    with pytest.raises(DocumentError) as raised:
        load_document(path)

    assert str(raised.value) == f"{path}: the file holds no text"


def test_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as raised:
        load_documents([tmp_path / "nowhere"])

    assert str(tmp_path / "nowhere") in str(raised.value)


def test_duplicate_ids_are_refused_naming_both_files(tmp_path: Path) -> None:
    write_files(tmp_path, {"notes.txt": "Text.", "notes.md": "# Notes"})

    with pytest.raises(DocumentError) as raised:
        load_documents([tmp_path])

    assert "notes.md" in str(raised.value)
    assert "notes.txt" in str(raised.value)
    assert "'notes'" in str(raised.value)


def test_content_hash_follows_the_text() -> None:
    first = Document("a", "A", "a.txt", "one")

    assert first.content_hash == Document("b", "B", "b.txt", "one").content_hash
    assert first.content_hash != Document("a", "A", "a.txt", "one!").content_hash


def test_a_file_whose_name_makes_an_over_long_id_is_refused_naming_it(tmp_path: Path) -> None:
    write_files(tmp_path, {"a" * 129 + ".txt": "Some text.", "b" * 128 + ".txt": "Some text."})

    with pytest.raises(DocumentError, match=r"^a{40}…: its name makes an id of 129 characters, over the 128"):
        load_document(tmp_path / ("a" * 129 + ".txt"))
    assert load_document(tmp_path / ("b" * 128 + ".txt")).id == "b" * 128


def test_a_folder_without_a_supported_file_is_refused(tmp_path: Path) -> None:
    write_files(tmp_path / "scans", {"page.pdf": b"%PDF"})

    with pytest.raises(DocumentError, match=r"scans: no documents in this folder \(looked for .htm, .html"):
        expand_paths([tmp_path / "scans"])


def test_a_file_name_of_dots_gets_a_plain_id(tmp_path: Path) -> None:
    write_files(tmp_path, {"..txt": "Some text."})

    assert load_document(tmp_path / "..txt").id == "document"


def test_hidden_files_and_folders_in_a_folder_are_left_out(tmp_path: Path) -> None:
    """macOS leaves '._name' copies (binary) beside copied files; a .git folder holds description files."""
    folder = write_files(
        tmp_path / "mac", {"a.txt": "Harbour news.", "._a.txt": b"\x00\x05\x16\x07", ".notes.md": "x."}
    )
    write_files(folder / ".git", {"description.md": "Unnamed repository."})

    assert [document.id for document in load_documents([folder])] == ["a"]


def test_a_folder_that_cannot_be_read_is_named_not_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_files(tmp_path / "corpus", {"a.txt": "Harbour news."})
    locked = write_files(folder / "locked", {"in.txt": "Locked news."})
    scandir = os.scandir

    def denied(path):  # what a folder without read permission gives a user other than root
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", denied)

    with pytest.raises(DocumentError) as refused:
        load_documents([folder])

    assert str(refused.value) == f"{locked}: cannot read this folder (Permission denied)"


def test_a_file_name_that_is_not_utf8_is_stored_with_replacement_characters(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.txt")  # Latin-1 bytes on disk
    (tmp_path / name).write_text("Cafe news.", encoding="utf-8")

    [document] = load_documents([tmp_path])

    assert (document.id, document.source) == ("caf", "caf\ufffd.txt")
    document.source.encode("utf-8")  # what storing it does


def test_two_files_that_make_one_id_are_named_by_their_paths(tmp_path: Path) -> None:
    write_files(tmp_path / "a", {"x.txt": "One."})
    write_files(tmp_path / "b", {"x.txt": "Two."})

    with pytest.raises(DocumentError) as refused:
        load_documents([tmp_path])

    assert (
        str(refused.value)
        == f"{tmp_path / 'a' / 'x.txt'} and {tmp_path / 'b' / 'x.txt'} would both get the id 'x'; rename one"
    )


def test_a_dangling_link_and_a_pipe_are_named_for_what_they_are(tmp_path: Path) -> None:
    link, pipe = tmp_path / "gone.txt", tmp_path / "pipe.txt"
    link.symlink_to(tmp_path / "missing.txt")
    os.mkfifo(pipe)

    with pytest.raises(DocumentError, match=r"gone.txt: a link to nothing \(.*missing.txt does not exist\)"):
        load_documents([link])
    with pytest.raises(DocumentError, match=r"pipe.txt: not a file or folder \(a pipe or device\?\)"):
        load_documents([pipe])
