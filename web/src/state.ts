// UI state shared by the views, with change notification.
export type Theme = "system" | "light" | "dark";

export interface Settings {
  mode: "" | "hybrid" | "bm25" | "dense"; // "" = the collection's / server's default
  topK: number;
  showScores: boolean; // "why this answer"
  theme: Theme;
}

const SETTINGS_KEY = "kaito-rag.settings";

function loadSettings(): Settings {
  const defaults: Settings = { mode: "", topK: 8, showScores: false, theme: "system" };
  try {
    return { ...defaults, ...JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? "{}") };
  } catch {
    return defaults;
  }
}

type Listener = () => void;

class State {
  collection = localStorage.getItem("kaito-rag.collection") ?? "";
  collections: string[] = [];
  settings: Settings = loadSettings();
  private listeners = new Map<string, Listener[]>();

  on(event: "collection" | "collections" | "settings" | "conversations", fn: Listener): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
  }

  emit(event: string): void {
    for (const fn of this.listeners.get(event) ?? []) fn();
  }

  setCollection(name: string): void {
    this.collection = name;
    localStorage.setItem("kaito-rag.collection", name);
    this.emit("collection");
  }

  saveSettings(): void {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(this.settings));
    this.emit("settings");
  }
}

export const state = new State();
