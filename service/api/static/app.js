// The chat page: questions go to POST /chat (so follow-ups resolve), answers render with citation chips.
// Everything from the user or the server is set with textContent, never parsed as HTML.
"use strict";

const STORAGE_KEY = "cited-qa.chat.v1";
const KEPT_MESSAGES = 40; // stored in localStorage, so a reload shows the conversation
const SENT_MESSAGES = 12; // sent with a question: what the server reads by default (QA_CHAT_HISTORY_MESSAGES)
const ABSTAIN_TEXT = "The articles don't say.";

const $ = (id) => document.getElementById(id);
const form = $("ask-form");
const input = $("question");
const sendButton = $("send");
const transcript = $("transcript");
const statusLine = $("status");
const viewer = $("viewer");
const viewerText = $("viewer-text");

let conversation = loadConversation(); // [{role: "user", content}, {role: "assistant", content, response}]
let busy = false;
let viewerToken = 0;
let lastChip = null;
let chatNumber = 0; // "New chat" moves it on, so an answer to a question of the old chat is dropped
const documents = new Map();

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function loadConversation() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) || "[]");
    const usable = (m) => m && ["user", "assistant"].includes(m.role) && typeof m.content === "string" && m.content;
    return Array.isArray(stored) ? stored.filter(usable) : [];
  } catch {
    return [];
  }
}

// The API's offsets count code points (Python's str); JavaScript strings count UTF-16 units, one more for every
// character beyond the Basic Multilingual Plane (an emoji) before the offset.
function unitIndex(text, codePoints) {
  let units = 0;
  for (let seen = 0; seen < codePoints && units < text.length; seen++) {
    units += text.codePointAt(units) > 0xffff ? 2 : 1;
  }
  return units;
}

function codePointSlice(text, start, end) {
  return text.slice(unitIndex(text, start), unitIndex(text, end));
}

function saveConversation() {
  conversation = conversation.slice(-KEPT_MESSAGES);
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(conversation));
  } catch {
    // Storage full or disabled: the chat still works, it just won't survive a reload.
  }
}

function appendMessage(role, ...children) {
  const item = element("li", `message ${role}`);
  item.append(...children);
  transcript.append(item);
  $("intro").hidden = true;
  item.scrollIntoView({ block: "nearest" });
  return item;
}

function renderUser(question) {
  return appendMessage("user", element("span", "visually-hidden", "You asked: "), element("p", "text", question));
}

function chip(title, documentId, start, end, cited) {
  const button = element("button", "chip", title);
  button.type = "button";
  button.title = `${title}, characters ${start}–${end}`;
  button.setAttribute("aria-label", `Open the source “${title}” at the cited text`);
  button.addEventListener("click", () => openDocument(documentId, title, start, end, button, cited));
  return button;
}

function answerParagraph(answer) {
  const paragraph = element("p", "answer");
  const context = answer.context || { text: "", start: answer.start };
  const from = unitIndex(context.text, answer.start - context.start);
  const to = unitIndex(context.text, answer.end - context.start);
  const fits = answer.start >= context.start && context.text.slice(from, to) === answer.text;
  paragraph.append(
    fits ? context.text.slice(0, from) : "",
    element("strong", "span", answer.text),
    fits ? context.text.slice(to) : "",
  );
  return paragraph;
}

function renderResponse(response) {
  const parts = [element("span", "visually-hidden", "Answer: ")];
  if (response.resolution) {
    const resolved = element("p", "resolved");
    resolved.append("Answered as: ", element("q", "resolved-question", response.resolved_question));
    resolved.append(element("span", "note", response.resolution));
    parts.push(resolved);
  }
  const answer = response.answer;
  if (answer) {
    parts.push(answerParagraph(answer));
    const sources = element("p", "sources");
    sources.append(element("span", "label", "Source: "), chip(answer.title, answer.document_id, answer.start, answer.end, answer.text));
    sources.append(element("span", "meta", ` confidence ${Math.round(answer.score * 100)}%`));
    parts.push(sources);
    if (response.alternatives.length) parts.push(alternatives(response.alternatives));
  } else {
    parts.push(element("p", "abstain", ABSTAIN_TEXT));
    if (response.reason && !response.reason.startsWith("The articles don")) parts.push(element("p", "reason", response.reason));
    if (response.passages.length) parts.push(closestPassages(response.passages));
  }
  return appendMessage("assistant", ...parts);
}

function alternatives(answers) {
  const details = element("details", "alternatives");
  details.append(element("summary", "", `Other possible answers (${answers.length})`));
  const list = element("ul");
  for (const other of answers) {
    const item = element("li");
    item.append(element("strong", "", other.text), " ", chip(other.title, other.document_id, other.start, other.end, other.text));
    list.append(item);
  }
  details.append(list);
  return details;
}

function closestPassages(passages) {
  const section = element("div", "closest");
  section.append(element("p", "label", "The closest passages:"));
  const list = element("ul");
  for (const passage of passages.slice(0, 3)) {
    const item = element("li");
    const characters = Array.from(passage.text); // by code point: a cut never splits an emoji
    const excerpt = characters.length > 180 ? `${characters.slice(0, 180).join("")}…` : passage.text;
    const source = chip(passage.title, passage.document_id, passage.start, passage.end, passage.text);
    item.append(element("span", "excerpt", excerpt), " ", source);
    list.append(item);
  }
  section.append(list);
  return section;
}

function renderError(message, question, retryable) {
  const item = appendMessage("error", element("p", "text", message));
  item.setAttribute("role", "alert");
  if (!retryable) return; // the same question would be refused again: it is back in the box to edit
  const retry = element("button", "secondary", "Try again");
  retry.type = "button";
  retry.addEventListener("click", () => {
    if (busy) return;
    item.remove();
    ask(question, { echo: false });
  });
  item.append(retry);
}

const UNREACHABLE = "Could not reach the service (network error). Check that it is running, then try again.";

class RequestError extends Error {
  constructor(message, retryable) {
    super(message);
    this.retryable = retryable;
  }
}

function requestError(status, body) {
  const detail = body && typeof body.detail === "string" ? body.detail : "";
  if (status === 422) return new RequestError(`The question was not accepted: ${detail || "invalid input"}`, false);
  if (status === 413) {
    return new RequestError("The question or the conversation is too long for the service: shorten the question, or start a new chat.", false);
  }
  if (status === 503) return new RequestError(detail || "The service is still starting; try again in a few seconds.", true);
  if (status === 404) return new RequestError(detail || "Not found.", false);
  return new RequestError(`The server failed (HTTP ${status})${detail ? `: ${detail}` : ""}. Try again.`, true);
}

function setBusy(on) {
  busy = on;
  sendButton.disabled = on;
  sendButton.textContent = on ? "Asking…" : "Send";
  form.setAttribute("aria-busy", String(on));
  statusLine.textContent = on ? "Searching the articles…" : "";
}

async function ask(question, { echo = true } = {}) {
  if (busy || !question) return;
  if (echo) renderUser(question);
  const messages = conversation.slice(-(SENT_MESSAGES - 1)).map((m) => ({ role: m.role, content: m.content }));
  messages.push({ role: "user", content: question });
  const chat = chatNumber;
  const pending = appendMessage("pending", element("p", "text", "Searching the articles…"));
  setBusy(true);
  try {
    let response;
    try {
      response = await fetch("/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ messages }),
      });
    } catch {
      throw new RequestError(UNREACHABLE, true);
    }
    const body = await response.json().catch(() => null);
    if (chat !== chatNumber) return; // asked in a chat the user has since left
    if (!response.ok || !body) throw requestError(response.status, body);
    pending.remove();
    const content = body.answer ? body.answer.text : ABSTAIN_TEXT;
    conversation.push({ role: "user", content: question }, { role: "assistant", content, response: body });
    saveConversation();
    renderResponse(body);
  } catch (error) {
    if (chat !== chatNumber) return;
    pending.remove();
    const retryable = !(error instanceof RequestError) || error.retryable;
    if (!retryable && !input.value) input.value = question; // refused as typed: give it back to edit
    renderError(error.message, question, retryable);
  } finally {
    if (chat === chatNumber) setBusy(false);
  }
}

async function fetchDocument(documentId, fresh = false) {
  if (fresh || !documents.has(documentId)) {
    let response;
    try {
      response = await fetch(`/documents/${encodeURIComponent(documentId)}`);
    } catch {
      throw new RequestError(UNREACHABLE, true);
    }
    const body = await response.json().catch(() => null);
    if (!response.ok || !body) throw requestError(response.status, body);
    documents.set(documentId, body);
  }
  return documents.get(documentId);
}

async function openDocument(documentId, title, start, end, fromChip, cited) {
  const token = ++viewerToken;
  lastChip = fromChip;
  viewer.hidden = false;
  document.body.classList.add("viewing");
  $("viewer-title").textContent = title;
  $("viewer-meta").textContent = `${documentId} · characters ${start}–${end}`;
  viewerText.textContent = "Loading the document…";
  try {
    let doc = await fetchDocument(documentId);
    if (cited !== undefined && codePointSlice(doc.text, start, end) !== cited) {
      doc = await fetchDocument(documentId, true); // the copy kept here may predate a change to the document
    }
    if (token !== viewerToken) return;
    if (cited !== undefined && codePointSlice(doc.text, start, end) !== cited) {
      const note = element("p", "note", "This document has changed since the answer: the cited words are no longer at its offsets.");
      viewerText.replaceChildren(note, doc.text);
      return;
    }
    // Offsets from the API locate the span exactly; searching the text could pick an earlier repeat.
    const from = unitIndex(doc.text, start);
    const to = unitIndex(doc.text, end);
    const mark = element("mark", "cited", doc.text.slice(from, to));
    mark.id = "cited-span";
    mark.tabIndex = -1;
    viewerText.replaceChildren(doc.text.slice(0, from), mark, doc.text.slice(to));
    mark.scrollIntoView({ block: "center" });
    mark.focus({ preventScroll: true });
  } catch (error) {
    if (token === viewerToken) viewerText.textContent = `Could not load the document. ${error.message}`;
  }
}

function closeViewer() {
  viewerToken++;
  viewer.hidden = true;
  document.body.classList.remove("viewing");
  if (lastChip && lastChip.isConnected) lastChip.focus();
}

function newChat() {
  chatNumber++; // a question still being read belongs to the old chat: its answer is dropped
  if (busy) setBusy(false);
  conversation = [];
  saveConversation();
  transcript.replaceChildren();
  $("intro").hidden = false;
  closeViewer();
  input.value = "";
  input.focus();
}

function restore() {
  for (const message of conversation) {
    if (message.role === "user") {
      renderUser(message.content);
      continue;
    }
    try {
      if (!message.response) throw new TypeError("no stored response");
      renderResponse(message.response);
    } catch {
      appendMessage("assistant", element("p", "text", message.content)); // none stored, or one of another shape
    }
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question || busy) return;
  input.value = "";
  ask(question);
});
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});
for (const button of document.querySelectorAll(".example")) {
  button.addEventListener("click", () => ask(button.textContent));
}
$("new-chat").addEventListener("click", newChat);
$("viewer-close").addEventListener("click", closeViewer);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !viewer.hidden) closeViewer();
});
restore();
