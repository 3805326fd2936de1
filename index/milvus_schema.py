"""The Milvus store's three collections: chunks (searched), documents (their full text, in parts) and meta (one row).

Limits that shape them, on Milvus and Milvus Lite alike:
- A VARCHAR holds at most 65,535 bytes. A document's text is stored in parts of 16,000 characters (at most 64,000 bytes
  in UTF-8), joined back in order when read; a chunk's text is stored whole when it fits, else read from its document.
- Every collection needs a vector field and an index on it before it can be loaded; the documents and meta rows carry a
  constant 2-dimensional placeholder that nothing searches.
- A rebuild fills collections of a new version (`{prefix}_{collection}_{version}`) beside the ones in use, and the store
  then points aliases named `{prefix}_{collection}` at them; everything reads and writes through those names.
- The lexical side indexes the chunk's BM25 terms (index/lexical.py: stop words dropped, Snowball-stemmed) rather than
  its raw text: Milvus Lite's analyzer has no stemmer, so the engine's own would rank differently from Lite to cluster
  and from the FAISS store. Milvus's BM25 function turns the terms into the sparse vector and scores them.
"""

import re
import uuid

from pymilvus import CollectionSchema, DataType, Function, FunctionType, MilvusClient
from pymilvus.milvus_client.index import IndexParams

CHUNKS = "chunks"
DOCUMENTS = "documents"
META = "meta"
COLLECTIONS = (CHUNKS, DOCUMENTS, META)
VERSION_CHARS = 12  # hex digits
# The version a store built before aliases gives its collections when its first rebuild moves it to aliases: they keep
# their rows under this name until the alias is made, and are dropped with the rebuild's other leftovers.
BEFORE_ALIASES = "0" * VERSION_CHARS
MAX_VARCHAR_BYTES = 65_535
TEXT_PART_CHARS = 16_000  # UTF-8 takes at most 4 bytes a character, so a part always fits a VARCHAR
MAX_ID_BYTES = 512
PLACEHOLDER = [1.0, 0.0]
# Exact search, as the FAISS store does; on a large cluster an HNSW or AUTOINDEX index trades a little recall for speed.
DENSE_INDEX = {"index_type": "FLAT", "metric_type": "COSINE"}
# bm25s's defaults (Milvus's own k1 is 1.2), so both stores weigh words alike.
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}


def chunks_schema(dimension: int) -> CollectionSchema:
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("document_id", DataType.VARCHAR, max_length=MAX_ID_BYTES)
    schema.add_field("content_hash", DataType.VARCHAR, max_length=64)
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
    schema.add_field(
        "terms",
        DataType.VARCHAR,
        max_length=MAX_VARCHAR_BYTES,
        enable_analyzer=True,
        analyzer_params={"type": "standard"},  # splits on the spaces between terms; Lite and Milvus both have it
    )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_function(
        Function(
            name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]
        )
    )
    return schema


def documents_schema() -> CollectionSchema:
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=MAX_ID_BYTES + 16)  # "{id}/{part}"
    schema.add_field("document_id", DataType.VARCHAR, max_length=MAX_ID_BYTES)
    schema.add_field("part", DataType.INT64)
    schema.add_field("parts", DataType.INT64)
    schema.add_field("title", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
    schema.add_field("source", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
    schema.add_field("content_hash", DataType.VARCHAR, max_length=64)
    schema.add_field("characters", DataType.INT64)
    schema.add_field("chunks", DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
    schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=len(PLACEHOLDER))
    return schema


def meta_schema() -> CollectionSchema:
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("value", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
    schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=len(PLACEHOLDER))
    return schema


def index_params(client: MilvusClient, collection: str) -> IndexParams:
    """The indexes each collection is loaded with: dense and BM25 on chunks, the placeholder elsewhere."""
    params = client.prepare_index_params()
    if collection == CHUNKS:
        params.add_index(field_name="vector", **DENSE_INDEX)
        params.add_index(
            field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25_PARAMS
        )
        params.add_index(field_name="document_id", index_type="INVERTED")
    else:
        params.add_index(field_name="placeholder", index_type="FLAT", metric_type="L2")
        if collection == DOCUMENTS:
            params.add_index(field_name="document_id", index_type="INVERTED")
    return params


def collection_name(prefix: str, collection: str, version: str = "") -> str:
    """`{prefix}_{collection}`: the name the store reads and writes by (an alias, or the collection itself in a store
    built before rebuilds switched aliases); with a `version`, the collection of one build that an alias points at."""
    return f"{prefix}_{collection}_{version}" if version else f"{prefix}_{collection}"


def new_version() -> str:
    """A rebuild's version: 12 random hex digits, so that one that died never collides with the next."""
    while (version := uuid.uuid4().hex[:VERSION_CHARS]) == BEFORE_ALIASES:
        pass  # one chance in 2**48
    return version


def version_of(name: str) -> str:
    """The version of a versioned collection's name (`is_version`)."""
    return name.rsplit("_", 1)[1]


def is_version(prefix: str, name: str) -> bool:
    """Whether `name` is a versioned collection of the store under `prefix`, never another store's, even when one
    prefix begins another (`qa`, `qa_test`): a versioned name ends in `_{collection}_` and 12 hex digits, and as no
    collection's name ends another's, only the same prefix gives the same ending; an alias ends in its collection's
    name, which no 12 hex digits end."""
    collections = "|".join(COLLECTIONS)
    return re.fullmatch(rf"{re.escape(prefix)}_({collections})_[0-9a-f]{{{VERSION_CHARS}}}", name) is not None


def create_collections(client: MilvusClient, prefix: str, dimension: int, version: str = "") -> dict[str, str]:
    """The three collections under `prefix` (of `version`, if given), loaded, by collection; Strong consistency so a
    read sees every write before it."""
    schemas = {CHUNKS: chunks_schema(dimension), DOCUMENTS: documents_schema(), META: meta_schema()}
    names = {collection: collection_name(prefix, collection, version) for collection in schemas}
    for collection, schema in schemas.items():
        client.create_collection(names[collection], schema=schema, consistency_level="Strong")
        # Not waited for one by one (pymilvus polls each index every 0.5 s); loading waits for them all at once.
        client.create_index(names[collection], index_params(client, collection), sync=False)
        client.load_collection(names[collection])
    return names
