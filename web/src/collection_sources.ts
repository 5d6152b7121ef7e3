// The collection's document sources (watched folders, URLs, Azure Blob containers): each with
// its last sync (when, counts, the error if the run failed, items that failed and why), "Sync
// now" per source, "Sync all", and a form to add one. Errors come from the API's messages.
import { call, enc } from "./api";
import { announce, clear, formatTime, h } from "./dom";
import { state } from "./state";

export interface SyncReport {
  started_at: number;
  finished_at: number;
  trigger: "api" | "cli" | "schedule";
  listed: number;
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
  failed: number;
  pending: number;
  error: string | null;
}

export interface CollectionSource {
  id: string;
  kind: "folder" | "url" | "azure_blob";
  location: string;
  interval_seconds: number;
  credentials: "none" | "sas" | "shared_key";
  items: number;
  failures: Array<{ item: string; error: string }>;
  status: "idle" | "syncing";
  last_run: SyncReport | null;
  progress: SyncReport | null;
}

const KIND_WORDS: Record<CollectionSource["kind"], string> = { folder: "Folder", url: "URL", azure_blob: "Azure Blob container" };
const POLL_MS = 700;

let list: HTMLElement;
let formError: HTMLElement;
let pollTimer: number | undefined;
let onSynced: () => void = () => {};

// `afterSync` runs when a sync ends (the documents list shows what it brought in).
export function sourcesPanel(afterSync: () => void): HTMLElement {
  onSynced = afterSync;
  list = h("div", { class: "source-list" });
  return h(
    "section",
    { class: "sources", id: "sources-panel", "aria-labelledby": "sources-heading" },
    h(
      "div",
      { class: "sources-head" },
      h("h2", { id: "sources-heading" }, "Sources"),
      h("button", { class: "button small", type: "button", id: "sync-all", on: { click: () => void syncAll() } }, "Sync all"),
    ),
    list,
    addForm(),
  );
}

function addForm(): HTMLElement {
  const kind = h(
    "select",
    { id: "source-kind", on: { change: () => showBlobFields() } },
    h("option", { value: "folder" }, "Folder on the server"),
    h("option", { value: "url" }, "URL"),
    h("option", { value: "azure_blob" }, "Azure Blob container"),
  );
  const location = h("input", { id: "source-location", required: true, autocomplete: "off", placeholder: "/srv/documents or https://…" });
  const sas = h("input", { id: "source-sas", type: "password", autocomplete: "off" });
  const key = h("input", { id: "source-key", type: "password", autocomplete: "off" });
  const blobFields = h(
    "div",
    { class: "source-blob", hidden: true },
    h("label", { for: "source-sas" }, "SAS token (list and read)"),
    sas,
    h("label", { for: "source-key" }, "or account key (shared key)"),
    key,
  );
  function showBlobFields(): void {
    blobFields.hidden = kind.value !== "azure_blob";
  }
  formError = h("p", { class: "notice error", id: "source-error", role: "alert", hidden: true });
  const submit = async (e: SubmitEvent): Promise<void> => {
    e.preventDefault();
    formError.hidden = true;
    const body: Record<string, string> = { kind: kind.value, location: location.value.trim() };
    if (kind.value === "azure_blob" && sas.value) body.sas_token = sas.value;
    if (kind.value === "azure_blob" && key.value) body.account_key = key.value;
    try {
      const added = await call<CollectionSource>("POST", `/v1/collections/${enc(state.collection)}/sources`, body);
      location.value = sas.value = key.value = "";
      announce(`Source added: ${added.location}. Use Sync now to bring its documents in.`);
      await refreshSources();
    } catch (err) {
      formError.textContent = "Could not add the source: " + (err as Error).message;
      formError.hidden = false;
    }
  };
  return h(
    "form",
    { class: "source-form", "aria-labelledby": "add-source-heading", on: { submit: (e: SubmitEvent) => void submit(e) } },
    h("h3", { id: "add-source-heading" }, "Add source"),
    h("label", { for: "source-kind" }, "Kind"),
    kind,
    h("label", { for: "source-location" }, "Folder path, URL, or container URL"),
    location,
    blobFields,
    formError,
    h("div", {}, h("button", { class: "button primary", type: "submit" }, "Add source")),
  );
}

export async function refreshSources(): Promise<void> {
  window.clearTimeout(pollTimer);
  if (!state.collection) return render([]);
  let sources: CollectionSource[];
  try {
    sources = (await call<{ sources: CollectionSource[] }>("GET", `/v1/collections/${enc(state.collection)}/sources`)).sources;
  } catch (e) {
    clear(list);
    list.append(h("p", { class: "notice error" }, "Cannot list sources: " + (e as Error).message));
    return;
  }
  render(sources);
  // While a run is in flight, follow its progress; refresh the documents when it ends.
  if (sources.some((s) => s.status === "syncing")) {
    pollTimer = window.setTimeout(() => void followSync(), POLL_MS);
  }
}

// Refreshes the sources; once none is syncing, the documents too (the run may have changed them).
async function followSync(): Promise<void> {
  await refreshSources();
  if (!list.querySelector("[data-status=syncing]")) onSynced();
}

function render(sources: CollectionSource[]): void {
  clear(list);
  if (sources.length === 0) {
    list.append(h("p", { class: "empty" }, "No sources: add a folder, URL or Azure Blob container below to keep its documents in sync."));
    return;
  }
  list.append(h("ul", { class: "source-items", "aria-label": "Sources" }, ...sources.map(sourceItem)));
}

function sourceItem(s: CollectionSource): HTMLElement {
  const run = s.progress ?? s.last_run;
  const item = h(
    "li",
    { class: "source-item", "data-source": s.id, "data-status": s.status },
    h(
      "div",
      { class: "source-title" },
      h("span", { class: "badge kind" }, KIND_WORDS[s.kind] ?? s.kind),
      h("span", { class: "source-location" }, s.location),
      h(
        "button",
        {
          class: "button small",
          type: "button",
          disabled: s.status === "syncing",
          "aria-label": `Sync now: ${s.location}`,
          on: { click: () => void syncOne(s) },
        },
        s.status === "syncing" ? "Syncing…" : "Sync now",
      ),
    ),
    h("p", { class: "source-when muted small" }, syncWhen(s)),
  );
  if (run) item.append(h("p", { class: "source-counts" }, countsText(run)));
  if (s.last_run?.error) item.append(h("p", { class: "notice error source-run-error" }, "Last sync failed: " + s.last_run.error));
  if (s.failures.length > 0) {
    item.append(
      h(
        "details",
        { class: "source-failures" },
        h("summary", {}, `${s.failures.length} item${s.failures.length === 1 ? "" : "s"} could not be read`),
        h("ul", {}, ...s.failures.map((f) => h("li", {}, h("span", { class: "upload-name" }, f.item), ": ", f.error))),
      ),
    );
  }
  return item;
}

// "Never synced", "Syncing since …", or "Last synced … (on demand | scheduled)".
export function syncWhen(s: CollectionSource): string {
  if (s.status === "syncing" && s.progress) return `Syncing since ${formatTime(s.progress.started_at)}`;
  if (!s.last_run) return "Never synced";
  const how = { api: "on demand", cli: "from the command line", schedule: "scheduled" }[s.last_run.trigger] ?? s.last_run.trigger;
  return `Last synced ${formatTime(s.last_run.finished_at || s.last_run.started_at)} (${how})`;
}

export function countsText(r: SyncReport): string {
  const parts = [`${r.added} added`, `${r.updated} changed`, `${r.deleted} removed`, `${r.failed} failed`];
  if (r.unchanged) parts.push(`${r.unchanged} unchanged`);
  if (r.pending) parts.push(`${r.pending} pending`);
  return parts.join(" · ");
}

async function syncOne(s: CollectionSource): Promise<void> {
  try {
    await call("POST", `/v1/collections/${enc(state.collection)}/sources/${enc(s.id)}/sync`, {});
    announce(`Syncing ${s.location}…`);
  } catch (e) {
    announce(`Sync of ${s.location} did not start: ${(e as Error).message}`);
  }
  // A small sync can end before the first look: follow it either way, so the documents refresh.
  await followSync();
}

interface CollectionSync {
  sources: Array<{ id: string; started?: boolean; error?: { code: string; message: string } | null }>;
}

async function syncAll(): Promise<void> {
  try {
    const result = await call<CollectionSync>("POST", `/v1/collections/${enc(state.collection)}/sync`, {});
    const refused = result.sources.filter((s) => s.error);
    announce(refused.length ? `Sync started; ${refused.length} source(s) could not start: ${refused.map((s) => s.error!.message).join("; ")}` : "Syncing every source…");
  } catch (e) {
    announce("Sync all failed: " + (e as Error).message);
  }
  await followSync();
}
