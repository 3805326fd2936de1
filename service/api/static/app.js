// The chat page: questions go to POST /chat (so follow-ups resolve), answers render with citation chips.
// Everything from the user or the server is set with textContent, never parsed as HTML.
"use strict";

const STORAGE_KEY = "cited-qa.chat.v1";
const KEPT_MESSAGES = 40; // stored in localStorage; the server itself uses only its last few
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
    return Array.isArray(stored) ? stored.filter((m) => m && typeof m.content === "string") : [];
  } catch {
    return [];
  }
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

function chip(title, documentId, start, end) {
  const button = element("button", "chip", title);
  button.type = "button";
  button.title = `${title}, characters ${start}–${end}`;
  button.setAttribute("aria-label", `Open the source “${title}” at the cited text`);
  button.addEventListener("click", () => openDocument(documentId, title, start, end, button));
  return button;
}

function answerParagraph(answer) {
  const paragraph = element("p", "answer");
  const context = answer.context || { text: "", start: answer.start };
  const from = answer.start - context.start;
  const to = answer.end - context.start;
  const fits = from >= 0 && to <= context.text.length && context.text.slice(from, to) === answer.text;
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
    sources.append(element("span", "label", "Source: "), chip(answer.title, answer.document_id, answer.start, answer.end));
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
    item.append(element("strong", "", other.text), " ", chip(other.title, other.document_id, other.start, other.end));
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
    const excerpt = passage.text.length > 180 ? `${passage.text.slice(0, 180)}…` : passage.text;
    item.append(element("span", "excerpt", excerpt), " ", chip(passage.title, passage.document_id, passage.start, passage.end));
    list.append(item);
  }
  section.append(list);
  return section;
}

function renderError(message, question) {
  const retry = element("button", "secondary", "Try again");
  retry.type = "button";
  retry.addEventListener("click", () => {
    item.remove();
    ask(question, { echo: false });
  });
  const item = appendMessage("error", element("p", "text", message), retry);
  item.setAttribute("role", "alert");
}

function errorMessage(status, body) {
  const detail = body && typeof body.detail === "string" ? body.detail : "";
  if (status === 422) return `The question was not accepted: ${detail || "invalid input"}`;
  if (status === 503) return detail || "The service is still starting; try again in a few seconds.";
  return `The server failed (HTTP ${status})${detail ? `: ${detail}` : ""}. Try again.`;
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
  const messages = conversation.map((m) => ({ role: m.role, content: m.content }));
  messages.push({ role: "user", content: question });
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
      throw new Error("Could not reach the service (network error). Check that it is running, then try again.");
    }
    const body = await response.json().catch(() => null);
    if (!response.ok || !body) throw new Error(errorMessage(response.status, body));
    pending.remove();
    const content = body.answer ? body.answer.text : ABSTAIN_TEXT;
    conversation.push({ role: "user", content: question }, { role: "assistant", content, response: body });
    saveConversation();
    renderResponse(body);
  } catch (error) {
    pending.remove();
    renderError(error.message, question);
  } finally {
    setBusy(false);
  }
}

async function fetchDocument(documentId) {
  if (!documents.has(documentId)) {
    const response = await fetch(`/documents/${encodeURIComponent(documentId)}`);
    const body = await response.json().catch(() => null);
    if (!response.ok || !body) throw new Error(errorMessage(response.status, body));
    documents.set(documentId, body);
  }
  return documents.get(documentId);
}

async function openDocument(documentId, title, start, end, fromChip) {
  const token = ++viewerToken;
  lastChip = fromChip;
  viewer.hidden = false;
  document.body.classList.add("viewing");
  $("viewer-title").textContent = title;
  $("viewer-meta").textContent = `${documentId} · characters ${start}–${end}`;
  viewerText.textContent = "Loading the document…";
  try {
    const doc = await fetchDocument(documentId);
    if (token !== viewerToken) return;
    // Offsets from the API locate the span exactly; searching the text could pick an earlier repeat.
    const mark = element("mark", "cited", doc.text.slice(start, end));
    mark.id = "cited-span";
    mark.tabIndex = -1;
    viewerText.replaceChildren(doc.text.slice(0, start), mark, doc.text.slice(end));
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
    if (message.role === "user") renderUser(message.content);
    else if (message.response) renderResponse(message.response);
    else appendMessage("assistant", element("p", "text", message.content));
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
