// The chat: streamed answers with citation chips, stop, copy, regenerate, and the
// conversation kept on the server (POST /v1/conversations/{id}/turns after each answer).
import { ApiError, Answer, askStream, call, Conversation, enc, Source, Turn } from "./api";
import { announce, clear, h } from "./dom";
import { groundingNote, markUnsupported } from "./grounding";
import { renderMarkdown } from "./markdown";
import { showSource } from "./sources";
import { state } from "./state";

interface Exchange {
  question: string;
  answer: string;
  result?: Answer;
  stopped?: boolean;
  error?: string;
}

let log: HTMLElement;
let input: HTMLTextAreaElement;
let sendButton: HTMLButtonElement;
let stopButton: HTMLButtonElement;
let titleEl: HTMLElement;
let exchanges: Exchange[] = [];
let conversationId = "";
let controller: AbortController | null = null;

export function chatView(): HTMLElement {
  log = h("div", { class: "chat-log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  titleEl = h("h1", { class: "chat-title" }, "New conversation");
  input = h("textarea", {
    id: "composer-input",
    rows: 2,
    placeholder: "Ask a question about your documents…",
    "aria-label": "Your question",
    on: {
      keydown: (e: KeyboardEvent) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          void submit();
        }
      },
    },
  });
  sendButton = h("button", { class: "button primary", type: "submit" }, "Ask");
  stopButton = h("button", { class: "button danger", type: "button", hidden: true, on: { click: stop } }, "Stop");
  const form = h(
    "form",
    { class: "composer", on: { submit: (e: Event) => (e.preventDefault(), void submit()) } },
    input,
    h("div", { class: "composer-actions" }, sendButton, stopButton),
  );
  return h("section", { class: "chat", "aria-labelledby": "chat-title-heading" }, titleEl, log, form);
}

export function focusComposer(): void {
  input.focus();
}

export function currentConversation(): string {
  return conversationId;
}

export function newConversation(): void {
  stop();
  exchanges = [];
  conversationId = "";
  titleEl.textContent = "New conversation";
  history.replaceState(null, "", "#");
  render();
  input.focus();
}

export async function openConversation(id: string): Promise<void> {
  stop();
  const c = await call<Conversation>("GET", `/v1/conversations/${enc(id)}`);
  conversationId = c.id;
  titleEl.textContent = c.title;
  if (c.collection !== state.collection && state.collections.includes(c.collection)) state.setCollection(c.collection);
  exchanges = pairTurns(c.turns ?? []);
  history.replaceState(null, "", `#/c/${c.id}`);
  render();
}

export function renameShown(id: string, title: string): void {
  if (id === conversationId) titleEl.textContent = title;
}

function pairTurns(turns: Turn[]): Exchange[] {
  const out: Exchange[] = [];
  for (const t of turns) {
    if (t.role === "user") out.push({ question: t.content, answer: "" });
    else if (out.length > 0) {
      const last = out[out.length - 1];
      last.answer = t.content;
      const d = (t.details ?? {}) as Record<string, any>;
      if (d.result) last.result = d.result as Answer;
      last.stopped = Boolean(d.stopped);
      if (d.error) last.error = String(d.error);
    }
  }
  return out;
}

function stop(): void {
  controller?.abort();
}

function busy(on: boolean): void {
  sendButton.hidden = on;
  stopButton.hidden = !on;
  input.setAttribute("aria-busy", String(on));
  if (!on) input.focus();
}

async function submit(regenerate = false): Promise<void> {
  if (controller) return;
  if (!state.collection) {
    announce("Create a collection and upload documents first.");
    return;
  }
  let question: string;
  if (regenerate) {
    const last = exchanges.pop();
    if (!last) return;
    question = last.question;
  } else {
    question = input.value.trim();
    if (!question) return;
    input.value = "";
  }
  const replaceFrom = regenerate ? exchanges.length * 2 + 1 : undefined;
  const historyTurns = exchanges
    .filter((x) => x.answer)
    .slice(-5)
    .flatMap((x) => [
      { role: "user" as const, content: x.question },
      { role: "assistant" as const, content: x.answer },
    ]);
  const exchange: Exchange = { question, answer: "" };
  exchanges.push(exchange);
  render();
  const view = log.lastElementChild as HTMLElement;
  const body = view.querySelector(".answer-body") as HTMLElement;
  const status = view.querySelector(".answer-status") as HTMLElement;
  status.textContent = "Searching your documents…";

  controller = new AbortController();
  busy(true);
  let frame = 0;
  const paint = () => {
    frame = 0;
    clear(body);
    body.append(renderMarkdown(exchange.answer));
    keepScrolled();
  };
  try {
    exchange.result = await askStream(
      state.collection,
      { question, history: historyTurns, top_k: state.settings.topK, mode: state.settings.mode || undefined },
      (delta) => {
        if (!exchange.answer) status.textContent = "Answering…";
        exchange.answer += delta;
        if (!frame) frame = requestAnimationFrame(paint);
      },
      controller.signal,
    );
    exchange.answer = exchange.result.answer;
    announce("Answer ready.");
  } catch (e) {
    if (controller.signal.aborted) {
      exchange.stopped = true;
      announce("Stopped.");
    } else {
      exchange.error = e instanceof ApiError ? e.message : String(e);
      if (e instanceof ApiError && e.status === 401) document.dispatchEvent(new CustomEvent("kr-auth-needed"));
    }
  } finally {
    if (frame) cancelAnimationFrame(frame);
    controller = null;
    busy(false);
  }
  replaceLast();
  await save(exchange, replaceFrom);
}

async function save(exchange: Exchange, replaceFrom?: number): Promise<void> {
  try {
    if (!conversationId) {
      const title = exchange.question.length > 60 ? exchange.question.slice(0, 57) + "…" : exchange.question;
      const c = await call<Conversation>("POST", "/v1/conversations", { collection: state.collection, title });
      conversationId = c.id;
      titleEl.textContent = c.title;
      history.replaceState(null, "", `#/c/${c.id}`);
    }
    const details: Record<string, unknown> = {};
    if (exchange.result) details.result = slim(exchange.result);
    if (exchange.stopped) details.stopped = true;
    if (exchange.error) details.error = exchange.error;
    await call("POST", `/v1/conversations/${enc(conversationId)}/turns`, {
      turns: [
        { role: "user", content: exchange.question },
        { role: "assistant", content: exchange.answer, details },
      ],
      replace_from: replaceFrom ?? null,
    });
    state.emit("conversations");
  } catch (e) {
    announce("The conversation could not be saved: " + (e instanceof Error ? e.message : String(e)));
  }
}

// What a resumed conversation needs to show its citations again.
function slim(a: Answer): Answer {
  return { ...a, sources: a.sources.map((s) => ({ ...s })) };
}

function keepScrolled(): void {
  const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 120;
  if (nearBottom) log.scrollTop = log.scrollHeight;
}

function render(): void {
  clear(log);
  if (exchanges.length === 0) {
    log.append(
      h(
        "div",
        { class: "empty" },
        h("p", {}, state.collection ? `Ask anything about the documents in “${state.collection}”.` : "No collection yet."),
        h("p", { class: "muted" }, "Answers cite their sources: click a number to see the passage on its page."),
      ),
    );
    return;
  }
  exchanges.forEach((x, i) => log.append(exchangeView(x, i === exchanges.length - 1)));
  log.scrollTop = log.scrollHeight;
}

function replaceLast(): void {
  const last = log.lastElementChild;
  if (last) last.replaceWith(exchangeView(exchanges[exchanges.length - 1], true));
  keepScrolled();
}

function exchangeView(x: Exchange, isLast: boolean): HTMLElement {
  const sources = x.result?.sources ?? [];
  const byNumber = new Map<number, Source>(sources.map((s) => [s.number, s]));
  const chip = (n: number) => {
    const source = byNumber.get(n);
    if (!source) return null;
    const c = source.citation;
    const page = !c.page_start ? "" : c.page_end > c.page_start ? `, pages ${c.page_start}–${c.page_end}` : `, page ${c.page_start}`;
    return h(
      "button",
      {
        class: "chip",
        type: "button",
        "aria-label": `Source ${n}: ${source.document_name}${page}`,
        title: `${source.document_name}${page}`,
        on: { click: () => showSource(source, x.answer) },
      },
      String(n),
    );
  };
  const body = h("div", { class: "answer-body" });
  body.append(renderMarkdown(x.answer, { citation: x.result ? chip : undefined }));
  const status = h("p", { class: "answer-status", role: "status" });
  const notices: HTMLElement[] = [];
  const r = x.result;
  if (r?.grounding) {
    markUnsupported(body, r.grounding);
    const note = groundingNote(r.grounding, r.note);
    if (note) notices.push(note);
  }
  if (r) {
    const notFound = r.answerable === false || sources.length === 0;
    if (notFound) {
      notices.push(
        h("p", { class: "notice warn" }, h("strong", {}, "Not found in your documents. "), "Nothing retrieved supports an answer; try other words or upload the document that has it."),
      );
    }
    if (r.mode === "extractive") {
      notices.push(
        h("p", { class: "notice info" }, h("strong", {}, "Extractive answer: "), "no language model is configured, so these are the best-matching sentences of your documents, quoted."),
      );
    }
  }
  if (x.stopped) notices.push(h("p", { class: "notice" }, "Stopped — the answer above is incomplete."));
  if (x.error) notices.push(h("p", { class: "notice error", role: "alert" }, "The answer failed: " + x.error));
  const actions = h(
    "div",
    { class: "answer-actions" },
    x.answer
      ? h(
          "button",
          {
            class: "button small",
            type: "button",
            on: {
              click: async (e: Event) => {
                await navigator.clipboard?.writeText(x.answer).catch(() => undefined);
                (e.target as HTMLElement).textContent = "Copied";
                announce("Answer copied.");
              },
            },
          },
          "Copy",
        )
      : null,
    isLast && !x.answer && !x.error && !x.stopped && !r
      ? null
      : isLast
        ? h("button", { class: "button small", type: "button", on: { click: () => void submit(true) } }, "Regenerate")
        : null,
    r?.model ? h("span", { class: "muted small" }, `answered by ${r.model}`) : null,
  );
  return h(
    "article",
    { class: "exchange" },
    h("div", { class: "question" }, h("span", { class: "visually-hidden" }, "You asked: "), x.question),
    h(
      "div",
      { class: "answer" },
      status,
      body,
      ...notices,
      sources.length > 0 ? sourceList(sources, x.answer) : null,
      state.settings.showScores && sources.length > 0 ? scoresTable(r!) : null,
      actions,
    ),
  );
}

function sourceList(sources: Source[], answer: string): HTMLElement {
  const cited = sources.filter((s) => s.cited);
  const shown = cited.length > 0 ? cited : sources.slice(0, 3);
  return h(
    "div",
    { class: "sources" },
    h("h3", { class: "small" }, cited.length > 0 ? "Sources" : "Closest passages"),
    h(
      "ul",
      {},
      ...shown.map((s) =>
        h(
          "li",
          {},
          h(
            "button",
            { class: "source-link", type: "button", on: { click: () => showSource(s, answer) } },
            h("span", { class: "chip", "aria-hidden": "true" }, String(s.number)),
            ` ${s.document_name}`,
            !s.citation.page_start ? "" : s.citation.page_end > s.citation.page_start ? ` · pages ${s.citation.page_start}–${s.citation.page_end}` : ` · page ${s.citation.page_start}`,
            s.citation.heading_path.length ? ` · ${s.citation.heading_path.join(" › ")}` : "",
          ),
        ),
      ),
    ),
  );
}

// "Why this answer": every retrieved passage with the scores that ranked it.
function scoresTable(r: Answer): HTMLElement {
  const fmt = (v: number | null) => (v === null || v === undefined ? "—" : v.toFixed(3));
  return h(
    "details",
    { class: "why", open: true },
    h("summary", {}, "Why this answer: the retrieved passages and their scores"),
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, ...["#", "Passage", "BM25", "Dense", "Fused", "Cited"].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        ...r.sources.map((s) =>
          h(
            "tr",
            {},
            h("td", {}, String(s.number)),
            h("td", {}, `${s.document_name}${s.citation.page_start ? " p." + s.citation.page_start : ""}: ${s.text.slice(0, 90)}…`),
            h("td", {}, fmt(s.bm25_score)),
            h("td", {}, fmt(s.dense_score)),
            h("td", {}, fmt(s.score)),
            h("td", {}, s.cited ? "yes" : ""),
          ),
        ),
      ),
    ),
  );
}

export function rerender(): void {
  if (log) render();
}
