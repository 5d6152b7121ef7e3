// Markdown for answers, rendered straight to DOM nodes with textContent: no HTML string from
// the model or the documents is ever parsed, so nothing in an answer can become markup.
// Supports what answers use: paragraphs, headings, lists, quotes, code, emphasis, links
// (http, https, mailto only) and citation markers [1] / [1, 3].

export interface MarkdownOptions {
  // Builds the element for citation number n (e.g. a chip button); null leaves "[n]" as text.
  citation?: (n: number) => HTMLElement | null;
}

const SAFE_URL = /^(https?:|mailto:)/i;

export function renderMarkdown(source: string, options: MarkdownOptions = {}): DocumentFragment {
  const fragment = document.createDocumentFragment();
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*$/.test(line)) {
      i++;
      continue;
    }
    const fence = /^\s*(```|~~~)\s*([\w+-]*)\s*$/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i++; // the closing fence (or the end)
      const pre = document.createElement("pre");
      const code = document.createElement("code");
      code.textContent = body.join("\n");
      pre.append(code);
      fragment.append(pre);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      // Answers sit under the page's own headings: start at h3.
      const level = Math.min(6, heading[1].length + 2);
      const h = document.createElement(`h${level}`);
      appendInline(h, heading[2].replace(/\s*#+\s*$/, ""), options);
      fragment.append(h);
      i++;
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s*>\s?/, ""));
      const blockquote = document.createElement("blockquote");
      blockquote.append(renderMarkdown(quoted.join("\n"), options));
      fragment.append(blockquote);
      continue;
    }
    const bullet = /^\s*([-*+]|\d{1,9}[.)])\s+/;
    if (bullet.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = document.createElement(ordered ? "ol" : "ul");
      if (ordered) {
        const start = parseInt(line.trim(), 10);
        if (start !== 1 && Number.isFinite(start)) list.setAttribute("start", String(start));
      }
      while (i < lines.length && bullet.test(lines[i])) {
        let text = lines[i++].replace(bullet, "");
        // Continuation lines of the same item (indented, not a new item or blank).
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !bullet.test(lines[i])) text += " " + lines[i++].trim();
        const item = document.createElement("li");
        appendInline(item, text, options);
        list.append(item);
      }
      fragment.append(list);
      continue;
    }
    const paragraph: string[] = [];
    while (
      i < lines.length &&
      !/^\s*$/.test(lines[i]) &&
      !/^(#{1,6})\s/.test(lines[i]) &&
      !/^\s*(```|~~~)/.test(lines[i]) &&
      !/^\s*>/.test(lines[i]) &&
      !(paragraph.length > 0 && bullet.test(lines[i]))
    ) {
      paragraph.push(lines[i++].trim());
    }
    if (paragraph.length === 0) paragraph.push(lines[i++].trim()); // e.g. "```js x": not a fence, plain text
    const p = document.createElement("p");
    appendInline(p, paragraph.join("\n"), options);
    fragment.append(p);
  }
  return fragment;
}

// Inline spans, scanned left to right; anything unmatched stays text.
const INLINE =
  /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\*\*(?=\S)([\s\S]*?\S)\*\*|__(?=\S)([\s\S]*?\S)__|\*(?=\S)([^*]*?\S)\*|(?<![\w])_(?=\S)([^_]*?\S)_(?![\w])|\[([^\]\n]+)\]\(([^()\s]+)\)|\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]|\n/g;

export function appendInline(parent: HTMLElement, text: string, options: MarkdownOptions): void {
  let last = 0;
  const inline = new RegExp(INLINE); // own lastIndex: this function recurses
  for (let m = inline.exec(text); m; m = inline.exec(text)) {
    if (m.index > last) parent.append(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] !== undefined) {
      const code = document.createElement("code");
      code.textContent = m[2];
      parent.append(code);
    } else if (m[3] !== undefined || m[4] !== undefined) {
      const strong = document.createElement("strong");
      appendInline(strong, m[3] ?? m[4], options);
      parent.append(strong);
    } else if (m[5] !== undefined || m[6] !== undefined) {
      const em = document.createElement("em");
      appendInline(em, m[5] ?? m[6], options);
      parent.append(em);
    } else if (m[7] !== undefined) {
      parent.append(link(m[7], m[8], options));
    } else if (m[9] !== undefined) {
      const numbers = m[9].split(",").map((n) => parseInt(n.trim(), 10));
      const chips = numbers.map((n) => options.citation?.(n) ?? null);
      if (chips.every((c) => c !== null)) chips.forEach((c) => parent.append(c!));
      else parent.append(m[0]);
    } else {
      parent.append(document.createElement("br"));
    }
  }
  if (last < text.length) parent.append(text.slice(last));
}

function link(label: string, url: string, options: MarkdownOptions): Node {
  if (!SAFE_URL.test(url)) {
    const span = document.createElement("span");
    appendInline(span, label, options);
    return span;
  }
  const a = document.createElement("a");
  a.href = url;
  a.rel = "noopener noreferrer nofollow";
  a.target = "_blank";
  appendInline(a, label, options);
  return a;
}
