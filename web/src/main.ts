// Boot and layout: header (collection, settings, theme), conversations list, chat or
// documents view, and the source panel. Everything talks to the documented API only.
import "./styles.css";
import { ApiError, apiKey, call, Collection, Conversation, enc, setApiKey } from "./api";
import { chatView, currentConversation, focusComposer, newConversation, openConversation, renameShown, rerender } from "./chat";
import { announce, clear, confirmDialog, h } from "./dom";
import { documentsView, refreshDocuments } from "./documents";
import * as signin from "./signin";
import { closeSource, sourcePanel } from "./sources";
import { state, Theme } from "./state";

// GET /v1/auth/whoami: who the server says the caller is.
interface Whoami {
  subject: string;
  name: string;
  kind: "anonymous" | "shared_key" | "api_key" | "user";
  may_own_private: boolean;
}
let me: Whoami | null = null;

const app = document.getElementById("app")!;
const collectionSelect = h("select", { id: "collection", "aria-label": "Collection", on: { change: () => state.setCollection(collectionSelect.value) } });
const conversationList = h("ul", { class: "conversation-list", "aria-label": "Conversations" });
const who = h("span", { class: "who", id: "who" });
const signOutButton = h("button", { class: "button small", type: "button", id: "sign-out", on: { click: () => void signOut() } }, "Sign out");
const identity = h("div", { class: "identity", hidden: true }, who, signOutButton);
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
    identity,
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
  for (const c of body.collections) {
    const mine = c.visibility === "private" ? ", private" : "";
    collectionSelect.append(h("option", { value: c.name }, `${c.name} (${c.documents}${mine})`));
  }
  if (!state.collections.includes(state.collection)) state.collection = state.collections[0] ?? "";
  collectionSelect.value = state.collection;
}

async function createCollection(): Promise<void> {
  const input = h("input", { id: "new-collection", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}", autocomplete: "off" });
  const error = h("p", { class: "notice error", hidden: true, role: "alert" });
  // Signed-in users may keep collections only they can see (their uploads).
  const visibility = me?.may_own_private
    ? h("select", { id: "new-collection-visibility" }, h("option", { value: "private", selected: true }, "Private: only you"), h("option", { value: "shared" }, "Shared: everyone allowed to read"))
    : null;
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
              const body: Record<string, string> = { name: input.value.trim() };
              if (visibility) body.visibility = visibility.value;
              await call("POST", "/v1/collections", body);
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
      visibility ? h("label", { for: "new-collection-visibility" }, "Who can see it") : null,
      visibility,
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
  const model = h("dd", { id: "settings-model" }, "…");
  const endpoint = h("dd", { id: "settings-endpoint" }, "…");
  const embedding = h("dd", { id: "settings-embedding" }, "…");
  const mode = h("select", { id: "set-mode" }, ...[["", "Collection default"], ["hybrid", "Hybrid (BM25 + dense)"], ["bm25", "BM25 (words)"], ["dense", "Dense (meaning)"]].map(([v, l]) => h("option", { value: v, selected: s.mode === v }, l)));
  const topK = h("input", { id: "set-topk", type: "number", min: 1, max: 50, value: String(s.topK) });
  const scores = h("input", { id: "set-scores", type: "checkbox", checked: s.showScores });
  const key = h("input", { id: "set-key", type: "password", value: apiKey(), autocomplete: "off" });
  const dialog = h(
    "dialog",
    { class: "dialog", "aria-labelledby": "settings-title" },
    h("h2", { id: "settings-title" }, "Settings"),
    h("dl", { class: "facts" }, h("dt", {}, "Answering model"), model, h("dt", {}, "Model endpoint"), endpoint, h("dt", {}, "Embedding model"), embedding),
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
    const models = await call<{ data: Array<{ id: string; owned_by: string; max_model_len?: number; kaito_rag?: { type: string; endpoint?: string } }> }>("GET", "/v1/models");
    const llm = models.data.find((m) => m.owned_by === "llm");
    const emb = models.data.find((m) => m.kaito_rag?.type === "embedding");
    model.textContent = llm ? `${llm.id}${llm.max_model_len ? ` (context ${llm.max_model_len} tokens)` : ""}` : "none: answers are extractive";
    endpoint.textContent = llm?.kaito_rag?.endpoint ?? "—";
    embedding.textContent = emb ? emb.id : "none: BM25 only";
  } catch (e) {
    model.textContent = (e as Error).message;
    embedding.textContent = "";
  }
}

// Sign in: with the organization's identity provider when the server has OIDC, and/or an API
// key (kept in this tab's session storage only).
function signInDialog(message: string): void {
  if (document.getElementById("key-dialog")) return;
  const config = signin.authConfig();
  const keyAllowed = config.methods.includes("api_key") || !signin.oidcAvailable();
  const key = h("input", { id: "key-input", type: "password", autocomplete: "off", required: true });
  const failure = h("p", { class: "notice error", role: "alert", hidden: true });
  const oidcButton = signin.oidcAvailable()
    ? h("button", { class: "button primary wide", type: "button", id: "oidc-signin", on: { click: () => void startOidc() } }, "Sign in with your organization account")
    : null;
  async function startOidc(): Promise<void> {
    try {
      await signin.beginSignIn();
    } catch (e) {
      failure.hidden = false;
      failure.textContent = `Cannot reach the sign-in service (${new URL(config.oidc!.issuer).host}): ${(e as Error).message}`;
    }
  }
  const keyForm = keyAllowed
    ? h(
        "form",
        { method: "dialog" },
        h("label", { for: "key-input" }, oidcButton ? "Or use an API key" : "API key"),
        key,
        h("p", { class: "muted small" }, "Kept in this tab's session storage only."),
        h("div", { class: "dialog-actions" }, h("button", { class: "button" + (oidcButton ? "" : " primary"), value: "ok" }, "Continue")),
      )
    : null;
  const dialog = h(
    "dialog",
    { class: "dialog", id: "key-dialog", "aria-labelledby": "key-title" },
    h("h2", { id: "key-title" }, "Sign in"),
    h("p", {}, message),
    failure,
    oidcButton,
    oidcButton ? h("p", { class: "muted small" }, `You will be sent to ${new URL(config.oidc!.issuer).host} and back.`) : null,
    keyForm,
  );
  dialog.addEventListener("cancel", (e) => e.preventDefault()); // nothing works without a credential
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (dialog.returnValue !== "ok") return;
    setApiKey(key.value.trim());
    void start();
  });
  document.body.append(dialog);
  dialog.showModal();
  (oidcButton ?? key).focus();
}

// Shows who the server says is signed in, with a way out.
async function showIdentity(): Promise<void> {
  try {
    me = await call<Whoami>("GET", "/v1/auth/whoami");
  } catch {
    me = null;
  }
  identity.hidden = !me || me.kind === "anonymous";
  if (!me || me.kind === "anonymous") return;
  who.textContent = me.kind === "user" ? `Signed in as ${me.name}` : `API key: ${me.name || "shared key"}`;
  who.title = me.kind === "user" ? me.subject : "";
}

async function signOut(): Promise<void> {
  setApiKey("");
  me = null;
  identity.hidden = true;
  await signin.signOut(); // leaves for the issuer's sign-out page when it has one
  announce("Signed out.");
  signInDialog("You are signed out.");
}

// ---- Start ----
async function start(): Promise<void> {
  await signin.loadAuthConfig();
  try {
    if (await signin.completeSignIn()) announce("Signed in.");
  } catch (e) {
    signInDialog(`Sign-in failed: ${(e as Error).message}`);
    return;
  }
  try {
    await loadCollections();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      signInDialog(apiKey() ? "That API key was not accepted. Sign in or enter another." : "This server needs you to sign in.");
      return;
    }
    announce("Cannot reach the server: " + (e as Error).message);
    return;
  }
  await showIdentity();
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
document.addEventListener("kr-auth-needed", (e) =>
  signInDialog((e as CustomEvent).detail?.expired ? "Your sign-in has expired. Sign in again." : "This server needs you to sign in."),
);
void start();
