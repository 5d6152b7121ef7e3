// The server's grounding check of a generated answer (the Answer's `grounding` field): every
// sentence scored against the sources, unsupported ones flagged, removed or the answer replaced
// by quoted sentences, per the collection's policy. Here: unsupported sentences are marked in the
// rendered answer (dotted underline + a focusable marker whose label gives the score), and what
// the policy did is said in a note.
import { h } from "./dom";
import { locatePassage } from "./highlight";

export interface GroundedSentence {
  text: string;
  supported: boolean;
  score: number;
  source: number | null; // the [n] of the best supporting source
  cited: number[]; // the [n] the sentence cites itself
}

export interface Grounding {
  policy: "flag" | "remove" | "replace";
  action: "none" | "flagged" | "removed" | "replaced";
  supported: number;
  unsupported: number;
  threshold: number;
  sentences: GroundedSentence[];
}

const CITATION = /\s*\[\d+(?:\s*,\s*\d+)*\]/g;

function describe(s: GroundedSentence, threshold: number): string {
  const best = s.source ? `; closest source [${s.source}]` : "";
  return `Not supported by the sources (score ${s.score.toFixed(2)}, needs ${threshold.toFixed(2)}${best})`;
}

// Text nodes of the answer outside citation chips (a chip's number is not sentence text).
function answerTextNodes(root: HTMLElement): Text[] {
  const nodes: Text[] = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (n.parentElement?.closest(".chip") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n as Text);
  return nodes;
}

// Wraps each unsupported sentence found in `root` in <span class="unsupported"> and puts a
// marker after it; returns how many were marked. Sentences the policy removed are not in the
// text and are skipped.
export function markUnsupported(root: HTMLElement, grounding: Grounding): number {
  let marked = 0;
  for (const sentence of grounding.sentences) {
    if (sentence.supported) continue;
    const nodes = answerTextNodes(root);
    const ranges = locatePassage(
      nodes.map((n) => n.data),
      sentence.text.replace(CITATION, ""),
    );
    if (ranges.length === 0) continue;
    let lastSpan: HTMLElement | null = null;
    // Right to left, so splitting one text node does not move the offsets of earlier ranges.
    for (const range of [...ranges].reverse()) {
      const node = nodes[range.piece];
      const middle = node.splitText(range.start);
      middle.splitText(range.end - range.start);
      const span = h("span", { class: "unsupported" });
      middle.replaceWith(span);
      span.append(middle);
      lastSpan ??= span;
    }
    const label = describe(sentence, grounding.threshold);
    lastSpan!.after(h("span", { class: "unsupported-mark", tabIndex: 0, role: "img", "aria-label": label, title: label, "data-tip": label }, "?"));
    marked++;
  }
  return marked;
}

// What the check did, in plain words; null when every sentence was supported.
export function groundingNote(grounding: Grounding, note?: string): HTMLElement | null {
  const total = grounding.supported + grounding.unsupported;
  const text = {
    none: null,
    flagged: `${grounding.unsupported} of ${total} sentences are not supported by the sources; they are marked.`,
    removed: `${grounding.unsupported} of ${total} sentences were not supported by the sources and were removed.`,
    replaced: `The generated answer was not supported by the sources, so quoted sentences are shown instead.${note ? " " + note : ""}`,
  }[grounding.action];
  if (!text) return null;
  return h("p", { class: "notice warn grounding-note" }, h("strong", {}, "Checked against the sources: "), text);
}
