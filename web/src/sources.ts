// The side panel: the cited passage where it came from. PDFs: the cited page rendered with
// pdf.js and the passage highlighted through its text layer (spans found by text, not pixels).
// Other formats: the passage with its heading path, the sentences backing the answer marked.
import * as pdfjs from "pdfjs-dist";
import workerUrl from "pdfjs-dist/build/pdf.worker.min.mjs?url";
import { enc, fetchBytes, Source } from "./api";
import { announce, clear, h } from "./dom";
import { foldText, locatePassage, supportingSentences } from "./highlight";
import { state } from "./state";

pdfjs.GlobalWorkerOptions.workerSrc = workerUrl;

let panel: HTMLElement;
let content: HTMLElement;
let heading: HTMLElement;
let returnFocus: HTMLElement | null = null;
const pdfCache = new Map<string, Promise<pdfjs.PDFDocumentProxy>>();

export function sourcePanel(): HTMLElement {
  heading = h("h2", { id: "source-title" }, "Source");
  content = h("div", { class: "source-content" });
  panel = h(
    "aside",
    { class: "source-panel", "aria-labelledby": "source-title", hidden: true, tabIndex: -1, on: { keydown: onKey } },
    h("div", { class: "panel-head" }, heading, h("button", { class: "button small", type: "button", "aria-label": "Close the source", on: { click: closeSource } }, "Close")),
    content,
  );
  return panel;
}

function onKey(e: KeyboardEvent): void {
  if (e.key === "Escape") closeSource();
}

export function closeSource(): void {
  panel.hidden = true;
  document.body.classList.remove("source-open");
  returnFocus?.focus();
}

function originalUrl(s: Source): string {
  return `/v1/collections/${enc(state.collection)}/documents/${enc(s.doc_id)}/original`;
}

export async function showSource(source: Source, answer: string): Promise<void> {
  returnFocus = document.activeElement as HTMLElement | null;
  panel.hidden = false;
  document.body.classList.add("source-open");
  const c = source.citation;
  heading.textContent = `[${source.number}] ${source.document_name}`;
  clear(content);
  const where = h("p", { class: "muted" }, c.page_start ? (c.page_end > c.page_start ? `Pages ${c.page_start}–${c.page_end}` : `Page ${c.page_start}`) : "");
  const path = c.heading_path.length ? h("nav", { class: "heading-path", "aria-label": "Section" }, c.heading_path.join(" › ")) : null;
  const open = h("button", { class: "button small", type: "button", on: { click: () => void download(source) } }, "Open original");
  content.append(h("div", { class: "source-meta" }, where, path ?? "", open));
  panel.focus();
  if (source.document_name.toLowerCase().endsWith(".pdf") && c.page_start > 0) {
    const holder = h("div", { class: "pdf-page", "aria-busy": "true" }, h("p", { class: "muted" }, "Rendering the page…"));
    content.append(holder);
    try {
      await renderPdfPage(source, answer, holder);
      return;
    } catch (e) {
      clear(holder);
      holder.append(h("p", { class: "notice" }, "The page cannot be shown (" + (e instanceof Error ? e.message : String(e)) + "); here is the passage."));
    }
  }
  content.append(passageView(source, answer));
}

function passageView(source: Source, answer: string): HTMLElement {
  const text = source.text;
  const block = h("blockquote", { class: "passage" });
  let last = 0;
  for (const [start, end] of supportingSentences(text, answer)) {
    block.append(text.slice(last, start), h("mark", {}, text.slice(start, end)));
    last = end;
  }
  block.append(text.slice(last));
  return block;
}

async function download(source: Source): Promise<void> {
  try {
    const bytes = await fetchBytes(originalUrl(source));
    const url = URL.createObjectURL(new Blob([bytes]));
    const a = h("a", { href: url, download: source.document_name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    announce("The original is not available: " + (e instanceof Error ? e.message : String(e)));
    content.append(h("p", { class: "notice error", role: "alert" }, "The original is not available: " + (e instanceof Error ? e.message : String(e))));
  }
}

// A passage may cross pages: show the page holding the sentence that backs the answer.
async function citedPage(pdf: pdfjs.PDFDocumentProxy, source: Source, answer: string): Promise<number> {
  const first = Math.min(source.citation.page_start, pdf.numPages);
  const last = Math.min(Math.max(source.citation.page_end, first), pdf.numPages);
  if (last === first) return first;
  const best = supportingSentences(source.text, answer, 1)[0];
  const probe = foldText(best ? source.text.slice(best[0], best[1]) : source.text).slice(0, 40);
  for (let n = first; n <= last; n++) {
    const content = await (await pdf.getPage(n)).getTextContent();
    const text = content.items.map((item) => ("str" in item ? item.str : "")).join("");
    if (probe && foldText(text).includes(probe)) return n;
  }
  return first;
}

async function renderPdfPage(source: Source, answer: string, holder: HTMLElement): Promise<void> {
  const key = `${state.collection}/${source.doc_id}`;
  if (!pdfCache.has(key)) {
    const loading = fetchBytes(originalUrl(source)).then((data) => pdfjs.getDocument({ data, isEvalSupported: false }).promise);
    loading.catch(() => pdfCache.delete(key));
    pdfCache.set(key, loading);
  }
  const pdf = await pdfCache.get(key)!;
  const pageNumber = await citedPage(pdf, source, answer);
  const page = await pdf.getPage(pageNumber);
  const width = Math.max(280, holder.clientWidth || content.clientWidth || 480);
  const base = page.getViewport({ scale: 1 });
  const viewport = page.getViewport({ scale: width / base.width });
  const ratio = window.devicePixelRatio || 1;
  const canvas = h("canvas", { class: "pdf-canvas", width: Math.floor(viewport.width * ratio), height: Math.floor(viewport.height * ratio) });
  canvas.setAttribute("aria-hidden", "true");
  const textLayer = h("div", { class: "textLayer" });
  const frame = h("div", { class: "pdf-frame" }, canvas, textLayer);
  frame.style.width = `${Math.floor(viewport.width)}px`;
  frame.style.height = `${Math.floor(viewport.height)}px`;
  frame.style.setProperty("--scale-factor", String(viewport.scale));
  clear(holder);
  holder.append(frame);
  holder.removeAttribute("aria-busy");
  const context = canvas.getContext("2d")!;
  await page.render({ canvasContext: context, viewport, transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : undefined }).promise;
  const layer = new pdfjs.TextLayer({ textContentSource: await page.getTextContent(), container: textLayer, viewport });
  await layer.render();
  const spans = layer.textDivs as HTMLElement[];
  const marks = highlightSpans(spans, source.text);
  if (marks.length > 0) {
    // Scroll the panel only (scrollIntoView would also move the page under a fixed layout).
    const top = marks[0].getBoundingClientRect().top - panel.getBoundingClientRect().top + panel.scrollTop;
    panel.scrollTop = Math.max(0, top - panel.clientHeight / 3);
    holder.append(h("p", { class: "muted small" }, `Page ${pageNumber}: the highlighted lines are the cited passage.`));
  } else {
    holder.append(h("p", { class: "notice" }, "The passage could not be located on the page image; it reads:"), passageView(source, ""));
  }
}

// Wraps the passage's characters in <mark> inside the text-layer spans; returns the marks.
export function highlightSpans(spans: HTMLElement[], passage: string): HTMLElement[] {
  const texts = spans.map((s) => s.textContent ?? "");
  const marks: HTMLElement[] = [];
  for (const r of locatePassage(texts, passage)) {
    const span = spans[r.piece];
    const text = texts[r.piece];
    const mark = h("mark", { class: "cited" }, text.slice(r.start, r.end));
    clear(span);
    span.append(text.slice(0, r.start), mark, text.slice(r.end));
    marks.push(mark);
  }
  return marks;
}
