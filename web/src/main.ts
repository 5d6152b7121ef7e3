// Boot and layout: header (collection, settings, theme), conversations list, chat or
// documents view, and the source panel. Everything talks to the documented API only.
import "./styles.css";
import { ApiError, apiKey, call, Collection, Conversation, enc, setApiKey } from "./api";
import { chatView, currentConversation, focusComposer, newConversation, openConversation, renameShown, rerender } from "./chat";
import { announce, clear, confirmDialog, h } from "./dom";
import { documentsView, refreshDocuments } from "./documents";
import { closeSource, sourcePanel } from "./sources";
import { state, Theme } from "./state";

const app = document.getElementById("app")!;
const collectionSelect = h("select", { id: "collection", "aria-label": "Collection", on: { change: () => state.setCollection(collectionSelect.value) } });
const conversationList = h("ul", { class: "conversation-list", "aria-label": "Conversations" });
const chatTab = h("button", { class: "tab", type: "button", role: "tab", "aria-selected": "true", "aria-controls": "view-chat", id: "tab-chat", on: { click: () => showView("chat") } }, "Chat");
const docsTab = h("button", { class: "tab", type: "button", role: "tab", "aria-selected": "false", "aria-controls": "view-documents", id: "tab-documents", on: { click: () => showView("documents") } }, "Documents");
const chatPanel = h("div", { id: "view-chat", role: "tabpanel", "aria-labelledby": "tab-chat", class: "view" }, chatView());
const docsPanel = h("div", { id: "view-documents", role: "tabpanel", "aria-labelledby": "tab-documents", class: "view", hidden: true }, documentsView());

function showView(view: "chat" | "documents"): void {
  const chat = view === "chat";
  chatPanel.hidden = !chat;
  docsPanel.hidden = chat;
  chatTab.setAttribute("aria-selected", String(chat));
  docsTab.setAttribute("aria-selected", String(!chat));
  if (!chat) void refreshDocuments();
}

function layout(): void {
  const sidebar = h(
    "nav",
    { class: "sidebar", "aria-label": "Conversations" },
    h("button", { class: "button primary wide", type: "button", on: { click: () => (showView("chat"), newConversation()) } }, "New conversation"),
    h("h2", { class: "small" }, "Conversations"),
    conversationList,
  );
  const header = h(
    "header",
    { class: "topbar" },
    h("button", { class: "button small menu-toggle", type: "button", "aria-label": "Show conversations", "aria-expanded": "false", on: { click: toggleSidebar } }, "☰"),
    h("span", { class: "brand" }, "Kaito-RAG"),
    h("label", { for: "collection", class: "visually-hidden" }, "Collection"),
    collectionSelect,
    h("button", { class: "button small", type: "button", on: { click: createCollection } }, "New collection"),
    h("button", { class: "button small", type: "button", on: { click: deleteCollection } }, "Delete collection"),
    h("div", { class: "tabs", role: "tablist", "aria-label": "View" }, chatTab, docsTab),
    h("span", { class: "spacer" }),
    h("button", { class: "button small", type: "button", id: "settings-button", on: { click: openSettings } }, "Settings"),
    h("button", { class: "button small", type: "button", id: "theme-button", "aria-label": "Switch theme", on: { click: cycleTheme } }, themeLabel()),
  );
  app.append(
    header,
    h("div", { class: "body" }, sidebar, h("main", { class: "main", id: "main" }, chatPanel, docsPanel), sourcePanel()),
    h("div", { id: "live", class: "visually-hidden", role: "status", "aria-live": "polite" }),
  );
}

function toggleSidebar(e: Event): void {
  const open = document.body.classList.toggle("sidebar-open");
  (e.currentTarget as HTMLElement).setAttribute("aria-expanded", String(open));
}

// ---- Theme ----
function applyTheme(): void {
  const t = state.settings.theme;
  if (t === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
  const button = document.getElementById("theme-button");
  if (button) button.textContent = themeLabel();
}

function themeLabel(): string {
  return { system: "Theme: auto", light: "Theme: light", dark: "Theme: dark" }[state.settings.theme];
}

function cycleTheme(): void {
  const order: Theme[] = ["system", "light", "dark"];
  state.settings.theme = order[(order.indexOf(state.settings.theme) + 1) % order.length];
  state.saveSettings();
  applyTheme();
  announce(themeLabel());
}

// ---- Collections ----
async function loadCollections(): Promise<void> {
  const body = await call<{ collections: Collection[] }>("GET", "/v1/collections");
  state.collections = body.collections.map((c) => c.name);
  clear(collectionSelect);
  if (state.collections.length === 0) collectionSelect.append(h("option", { value: "" }, "No collections"));
  for (const c of body.collections) collectionSelect.append(h("option", { value: c.name }, `${c.name} (${c.documents})`));
  if (!state.collections.includes(state.collection)) state.collection = state.collections[0] ?? "";
  collectionSelect.value = state.collection;
}

async function createCollection(): Promise<void> {
  const input = h("input", { id: "new-collection", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}", autocomplete: "off" });
  const error = h("p", { class: "notice error", hidden: true, role: "alert" });
  const dialog = h(
    "dialog",
    { class: "dialog", "aria-labelledby": "new-collection-title" },
    h("h2", { id: "new-collection-title" }, "New collection"),
    h(
      "form",
      {
        method: "dialog",
        on: {
          submit: async (e: SubmitEvent) => {
            if ((e.submitter as HTMLButtonElement | null)?.value === "cancel") return;
            e.preventDefault();
            try {
              await call("POST", "/v1/collections", { name: input.value.trim() });
              dialog.close();
              await loadCollections();
              state.setCollection(input.value.trim());
              announce(`Collection ${input.value.trim()} created.`);
            } catch (err) {
              error.hidden = false;
              error.textContent = (err as Error).message;
            }
          },
        },
      },
      h("label", { for: "new-collection" }, "Name (letters, digits, - _ .)"),
      input,
      error,
      h("div", { class: "dialog-actions" }, h("button", { class: "button", value: "cancel", formNoValidate: true }, "Cancel"), h("button", { class: "button primary", value: "ok" }, "Create")),
    ),
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
}

async function deleteCollection(): Promise<void> {
  const name = state.collection;
  if (!name) return;
  const ok = await confirmDialog("Delete collection?", `“${name}” and all its documents will be deleted. This cannot be undone.`, `Delete ${name}`);
  if (!ok) return;
  try {
    await call("DELETE", `/v1/collections/${enc(name)}`);
    announce(`Collection ${name} deleted.`);
  } catch (e) {
    announce("Delete failed: " + (e as Error).message);
  }
  await loadCollections();
  state.setCollection(state.collection);
}

// ---- Conversations ----
async function loadConversations(): Promise<void> {
  let body: { conversations: Conversation[] };
  try {
    body = await call<{ conversations: Conversation[] }>("GET", "/v1/conversations?limit=100");
  } catch {
    return;
  }
  clear(conversationList);
  if (body.conversations.length === 0) conversationList.append(h("li", { class: "muted small" }, "None yet"));
  for (const c of body.conversations) {
    const current = c.id === currentConversation();
    conversationList.append(
      h(
        "li",
        { class: current ? "current" : "" },
        h(
          "button",
          { class: "conversation", type: "button", "aria-current": current ? "true" : undefined, on: { click: () => void resume(c.id) } },
          h("span", { class: "conversation-title" }, c.title),
          h("span", { class: "muted small" }, c.collection),
        ),
        h("button", { class: "icon", type: "button", "aria-label": `Rename “${c.title}”`, on: { click: () => void rename(c) } }, "✎"),
        h("button", { class: "icon", type: "button", "aria-label": `Delete “${c.title}”`, on: { click: () => void removeConversation(c) } }, "✕"),
      ),
    );
  }
}

async function resume(id: string): Promise<void> {
  showView("chat");
  document.body.classList.remove("sidebar-open");
  try {
    await openConversation(id);
  } catch (e) {
    announce("Cannot open the conversation: " + (e as Error).message);
  }
  await loadConversations();
}

async function rename(c: Conversation): Promise<void> {
  const input = h("input", { id: "rename-input", value: c.title, maxLength: 200, required: true });
  const dialog = h(
    "dialog",
    { class: "dialog", "aria-labelledby": "rename-title" },
    h("h2", { id: "rename-title" }, "Rename conversation"),
    h(
      "form",
      { method: "dialog" },
      h("label", { for: "rename-input" }, "Title"),
      input,
      h("div", { class: "dialog-actions" }, h("button", { class: "button", value: "cancel", formNoValidate: true }, "Cancel"), h("button", { class: "button primary", value: "ok" }, "Rename")),
    ),
  );
  dialog.addEventListener("close", async () => {
    dialog.remove();
    if (dialog.returnValue !== "ok") return;
    try {
      const renamed = await call<Conversation>("PATCH", `/v1/conversations/${enc(c.id)}`, { title: input.value });
      renameShown(c.id, renamed.title);
    } catch (e) {
      announce("Rename failed: " + (e as Error).message);
    }
    await loadConversations();
  });
  document.body.append(dialog);
  dialog.showModal();
  input.select();
}

async function removeConversation(c: Conversation): Promise<void> {
  if (!(await confirmDialog("Delete conversation?", `“${c.title}” will be deleted.`, "Delete"))) return;
  try {
    await call("DELETE", `/v1/conversations/${enc(c.id)}`);
    if (c.id === currentConversation()) newConversation();
  } catch (e) {
    announce("Delete failed: " + (e as Error).message);
  }
  await loadConversations();
}

// ---- Settings ----
async function openSettings(): Promise<void> {
  const s = state.settings;
  const model = h("dd", {}, "…");
  const embedding = h("dd", {}, "…");
  const mode = h("select", { id: "set-mode" }, ...[["", "Collection default"], ["hybrid", "Hybrid (BM25 + dense)"], ["bm25", "BM25 (words)"], ["dense", "Dense (meaning)"]].map(([v, l]) => h("option", { value: v, selected: s.mode === v }, l)));
  const topK = h("input", { id: "set-topk", type: "number", min: 1, max: 50, value: String(s.topK) });
  const scores = h("input", { id: "set-scores", type: "checkbox", checked: s.showScores });
  const key = h("input", { id: "set-key", type: "password", value: apiKey(), autocomplete: "off" });
  const dialog = h(
    "dialog",
    { class: "dialog", "aria-labelledby": "settings-title" },
    h("h2", { id: "settings-title" }, "Settings"),
    h("dl", { class: "facts" }, h("dt", {}, "Answering model"), model, h("dt", {}, "Embedding model"), embedding),
    h(
      "form",
      { method: "dialog" },
      h("label", { for: "set-mode" }, "Retrieval"),
      mode,
      h("label", { for: "set-topk" }, "Passages per answer (top-k)"),
      topK,
      h("div", { class: "check" }, scores, h("label", { for: "set-scores" }, "Why this answer: show retrieval scores")),
      h("label", { for: "set-key" }, "API key (kept for this tab only)"),
      key,
      h("div", { class: "dialog-actions" }, h("button", { class: "button", value: "cancel" }, "Cancel"), h("button", { class: "button primary", value: "ok" }, "Save")),
    ),
  );
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (dialog.returnValue !== "ok") return;
    s.mode = mode.value as typeof s.mode;
    s.topK = Math.max(1, Math.min(50, parseInt(topK.value, 10) || 8));
    s.showScores = scores.checked;
    const keyChanged = key.value !== apiKey();
    setApiKey(key.value.trim());
    state.saveSettings();
    rerender();
    if (keyChanged) void start();
  });
  document.body.append(dialog);
  dialog.showModal();
  try {
    const models = await call<{ data: Array<{ id: string; owned_by: string; max_model_len?: number; kaito_rag?: { type: string } }> }>("GET", "/v1/models");
    const llm = models.data.find((m) => m.owned_by === "llm");
    const emb = models.data.find((m) => m.kaito_rag?.type === "embedding");
    model.textContent = llm ? `${llm.id}${llm.max_model_len ? ` (context ${llm.max_model_len} tokens)` : ""} — endpoint set on the server (--llm-url)` : "none: answers are extractive";
    embedding.textContent = emb ? emb.id : "none: BM25 only";
  } catch (e) {
    model.textContent = (e as Error).message;
    embedding.textContent = "";
  }
}

function askForKey(message: string): void {
  if (document.getElementById("key-dialog")) return;
  const key = h("input", { id: "key-input", type: "password", autocomplete: "off", required: true });
  const dialog = h(
    "dialog",
    { class: "dialog", id: "key-dialog", "aria-labelledby": "key-title" },
    h("h2", { id: "key-title" }, "Sign in"),
    h("p", {}, message),
    h(
      "form",
      { method: "dialog" },
      h("label", { for: "key-input" }, "API key"),
      key,
      h("p", { class: "muted small" }, "Kept in this tab's session storage only."),
      h("div", { class: "dialog-actions" }, h("button", { class: "button primary", value: "ok" }, "Continue")),
    ),
  );
  dialog.addEventListener("close", () => {
    dialog.remove();
    setApiKey(key.value.trim());
    void start();
  });
  document.body.append(dialog);
  dialog.showModal();
  key.focus();
}

// ---- Start ----
async function start(): Promise<void> {
  try {
    await loadCollections();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      askForKey(apiKey() ? "That API key was not accepted. Enter another." : "This server needs an API key.");
      return;
    }
    announce("Cannot reach the server: " + (e as Error).message);
    return;
  }
  await loadConversations();
  const match = /^#\/c\/([0-9a-f]+)$/.exec(location.hash);
  if (match) await resume(match[1]);
  else rerender();
}

layout();
applyTheme();
// The skip link moves focus without touching location.hash (which holds the conversation).
document.querySelector(".skip-link")?.addEventListener("click", (e) => {
  e.preventDefault();
  focusComposer();
});
state.on("collection", () => {
  collectionSelect.value = state.collection;
  closeSource();
  void refreshDocuments();
  if (!currentConversation()) rerender();
});
state.on("collections", () => void loadCollections());
state.on("conversations", () => void loadConversations());
document.addEventListener("kr-auth-needed", () => askForKey("This server needs an API key."));
void start();
