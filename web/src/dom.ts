// A tiny element builder: properties and children, never HTML strings.
type Child = Node | string | null | undefined | false;
type Props = Record<string, unknown> & { class?: string; on?: Record<string, (e: any) => void> };

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "on") {
      for (const [event, fn] of Object.entries(value as Record<string, (e: Event) => void>)) el.addEventListener(event, fn);
    } else if (key === "class") {
      el.className = String(value);
    } else if (key.startsWith("aria-") || key.startsWith("data-") || key === "role" || key === "for") {
      el.setAttribute(key, String(value));
    } else {
      (el as any)[key] = value;
    }
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

export function clear(el: Element): void {
  while (el.firstChild) el.firstChild.remove();
}

// Announces a message to screen readers (and shows it briefly).
export function announce(message: string): void {
  const live = document.getElementById("live");
  if (!live) return;
  live.textContent = "";
  window.setTimeout(() => (live.textContent = message), 30);
}

// A confirmation dialog; resolves true when the user confirms.
export function confirmDialog(title: string, text: string, action: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, title),
      h("p", {}, text),
      h(
        "form",
        { method: "dialog", class: "dialog-actions" },
        h("button", { value: "cancel", class: "button" }, "Cancel"),
        h("button", { value: "ok", class: "button danger" }, action),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    (dialog.querySelector("button[value=cancel]") as HTMLButtonElement).focus();
  });
}

export function formatTime(unixSeconds: number): string {
  if (!unixSeconds) return "";
  return new Date(unixSeconds * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
