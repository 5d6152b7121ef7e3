// Documents of the selected collection: drag-and-drop upload of many files (each with its
// own progress and, on failure, a reason in plain words), the list, search by name, delete.
import { ApiError, call, Collection, DocumentInfo, enc, uploadFile } from "./api";
import { announce, clear, confirmDialog, formatTime, h } from "./dom";
import { formatBytes, uploadProblem, uploadWarnings } from "./errors";
import { refreshSources, sourcesPanel } from "./collection_sources";
import { state } from "./state";

let list: HTMLElement;
let summary: HTMLElement;
let uploads: HTMLElement;
let search: HTMLInputElement;
let documents: DocumentInfo[] = [];
let stats: Collection | null = null;
const PARALLEL_UPLOADS = 2;

export function documentsView(): HTMLElement {
  const picker = h("input", {
    type: "file",
    multiple: true,
    class: "visually-hidden",
    id: "file-picker",
    on: { change: (e: Event) => void upload([...((e.target as HTMLInputElement).files ?? [])]) },
  });
  const drop = h(
    "div",
    {
      class: "dropzone",
      on: {
        dragover: (e: DragEvent) => {
          e.preventDefault();
          drop.classList.add("over");
        },
        dragleave: () => drop.classList.remove("over"),
        drop: (e: DragEvent) => {
          e.preventDefault();
          drop.classList.remove("over");
          void upload([...(e.dataTransfer?.files ?? [])]);
        },
      },
    },
    h("p", {}, "Drop files here (PDF, Word, PowerPoint, Excel, HTML, Markdown, text, CSV)"),
    h("label", { class: "button primary", for: "file-picker" }, "Choose files…"),
    picker,
  );
  // The label is not keyboard-focusable by itself: Enter/Space on it opens the picker.
  const label = drop.querySelector("label")!;
  label.tabIndex = 0;
  label.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      picker.click();
    }
  });
  uploads = h("ul", { class: "uploads", "aria-label": "Uploads" });
  search = h("input", { type: "search", placeholder: "Search by name", "aria-label": "Search documents by name", on: { input: renderList } });
  summary = h("p", { class: "muted", role: "status" });
  list = h("div", { class: "doc-list" });
  return h(
    "section",
    { class: "documents", "aria-labelledby": "documents-heading" },
    h("h1", { id: "documents-heading" }, "Documents"),
    drop,
    uploads,
    h("div", { class: "doc-toolbar" }, search, summary),
    list,
    sourcesPanel(() => void refreshDocumentList()),
  );
}

// The documents and the collection's sources.
export async function refreshDocuments(): Promise<void> {
  await Promise.all([refreshDocumentList(), refreshSources()]);
}

async function refreshDocumentList(): Promise<void> {
  documents = [];
  stats = null;
  if (!state.collection) return renderList();
  try {
    for (let offset = 0; ; offset += 1000) {
      const page = await call<{ documents: DocumentInfo[]; total: number }>(
        "GET",
        `/v1/collections/${enc(state.collection)}/documents?offset=${offset}&limit=1000`,
      );
      documents.push(...page.documents);
      if (documents.length >= page.total || page.documents.length === 0) break;
    }
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) announce("Cannot list documents: " + (e as Error).message);
  }
  stats = await collectionStats(state.collection);
  renderList();
}

function renderList(): void {
  clear(list);
  const query = search.value.trim().toLowerCase();
  const shown = documents.filter((d) => d.name.toLowerCase().includes(query));
  summary.textContent =
    `${shown.length} of ${plural(documents.length, "document")}` +
    (stats ? ` · ${plural(stats.chunks, "passage")} · originals kept: ${formatBytes(stats.originals_bytes ?? 0)}` : "");
  if (documents.length === 0) {
    list.append(h("p", { class: "empty" }, "No documents yet: upload some above."));
    return;
  }
  const rows = shown.map((d) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, d.name, ...uploadWarnings(d.warnings, 0).map((w) => h("span", { class: "badge warn" }, w))),
      h("td", {}, formatBytes(d.size_bytes)),
      h("td", {}, d.page_count ? String(d.page_count) : "—"),
      h("td", {}, String(d.chunk_count)),
      h("td", {}, formatTime(d.updated_at)),
      h(
        "td",
        {},
        h("button", { class: "button small danger", type: "button", "aria-label": `Delete ${d.name}`, on: { click: () => void remove(d) } }, "Delete"),
      ),
    ),
  );
  list.append(
    h(
      "table",
      { class: "doc-table" },
      h("caption", { class: "visually-hidden" }, `Documents in ${state.collection}`),
      h("thead", {}, h("tr", {}, ...["Name", "Size", "Pages", "Chunks", "Ingested", ""].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, ...rows),
    ),
  );
}

async function remove(d: DocumentInfo): Promise<void> {
  if (!(await confirmDialog("Delete document?", `“${d.name}” and its passages will be removed from “${state.collection}”.`, "Delete"))) return;
  try {
    await call("DELETE", `/v1/collections/${enc(state.collection)}/documents/${enc(d.doc_id)}`);
    announce(`Deleted ${d.name}.`);
  } catch (e) {
    announce("Delete failed: " + (e as Error).message);
  }
  await refreshDocuments();
}

async function upload(files: File[]): Promise<void> {
  if (files.length === 0) return;
  if (!state.collection) state.setCollection("default");
  const collection = state.collection;
  const queue = files.map((file) => ({ file, row: uploadRow(file) }));
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await uploadOne(collection, next.file, next.row);
  };
  await Promise.all(Array.from({ length: PARALLEL_UPLOADS }, worker));
  announce(`Upload finished: ${files.length} file${files.length === 1 ? "" : "s"}.`);
  state.emit("collections");
  await refreshDocuments();
}

interface Row {
  item: HTMLElement;
  progress: HTMLProgressElement;
  status: HTMLElement;
}

function uploadRow(file: File): Row {
  const progress = h("progress", { max: 1, value: 0, "aria-label": `Uploading ${file.name}` });
  const status = h("span", { class: "upload-status" }, "Waiting…");
  const item = h("li", { class: "upload" }, h("span", { class: "upload-name" }, file.name), progress, status);
  uploads.prepend(item);
  return { item, progress, status };
}

async function uploadOne(collection: string, file: File, row: Row): Promise<void> {
  row.status.textContent = "Uploading…";
  const { httpStatus, result, error } = await uploadFile(collection, file, (f) => {
    row.progress.value = f;
    if (f >= 1) row.status.textContent = "Reading and indexing…";
  });
  row.progress.value = 1;
  if (result && result.status !== "failed") {
    const words: Record<string, string> = {
      added: `Added: ${plural(result.chunks ?? 0, "passage")}${result.pages ? `, ${plural(result.pages, "page")}` : ""}`,
      updated: "Updated (new version)",
      unchanged: "Already there, unchanged",
      duplicate: "Same content as a document already there",
    };
    row.status.textContent = words[result.status] ?? result.status;
    row.item.classList.add("ok");
    for (const w of uploadWarnings(result.warnings ?? [])) row.item.append(h("span", { class: "badge warn" }, w));
    return;
  }
  const problem = result?.error ?? error;
  row.item.classList.add("failed");
  row.status.textContent = uploadProblem(file.name, problem, httpStatus);
  if (problem?.message) row.item.append(h("span", { class: "upload-detail" }, problem.message));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

async function collectionStats(name: string): Promise<Collection | null> {
  try {
    return await call<Collection>("GET", `/v1/collections/${enc(name)}`);
  } catch {
    return null;
  }
}
