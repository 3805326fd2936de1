"""The HTTP edge: the routes (`routes` for /ask, health and reading documents, `chat_routes` for the chat page, /chat
and the OpenAI-compatible `openai_compat`, `document_routes` for document writes), their Pydantic `*_schemas`,
dependencies (`deps`, `auth`), domain errors with their status (`errors`), the request-size limit (`limits`), the
question batcher that runs model work off the event loop (`batching`) on the one thread every forward pass runs on
(`model_turn`), the index generation a request reads (`live_index`) and the chat page itself (`static/`). It imports
`service.answering`, `service.chat`, `service.settings` and `index`; never the reader or training, nor the top-level
wiring: `service.app` assembles these parts into the FastAPI app and, when handed no pipeline, loads one through
`service.runtime`.
"""
