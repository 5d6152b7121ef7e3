import { describe, expect, it } from "vitest";
import type { Answer } from "../../src/api";
import { groundingNote, markUnsupported } from "../../src/grounding";
import { renderMarkdown } from "../../src/markdown";

// An ask response as /work/notes/grounding_schema.md agrees it (policy "flag": text unchanged).
const flagged: Answer = {
  answer:
    "New employees get 25 days of paid vacation [1]. Unused days carry over up to five days [1]. " +
    "Employees may also take a paid sabbatical every **three years** [2].",
  mode: "generative",
  citations: [1, 2],
  sources: [],
  grounding: {
    policy: "flag",
    action: "flagged",
    supported: 2,
    unsupported: 1,
    threshold: 0.55,
    sentences: [
      { text: "New employees get 25 days of paid vacation [1].", supported: true, score: 0.81, source: 1, cited: [1] },
      { text: "Unused days carry over up to five days [1].", supported: true, score: 0.77, source: 1, cited: [1] },
      { text: "Employees may also take a paid sabbatical every three years [2].", supported: false, score: 0.31, source: 2, cited: [2] },
    ],
  },
};

function chip(n: number): HTMLElement {
  const b = document.createElement("button");
  b.className = "chip";
  b.textContent = String(n);
  return b;
}

function rendered(a: Answer): HTMLElement {
  const body = document.createElement("div");
  body.append(renderMarkdown(a.answer, { citation: chip }));
  return body;
}

describe("grounding", () => {
  it("marks exactly the unsupported sentence, across inline markup, with its score on the marker", () => {
    const body = rendered(flagged);
    expect(markUnsupported(body, flagged.grounding!)).toBe(1);
    // Two spans: the sentence's plain text and its bold part.
    const spans = [...body.querySelectorAll(".unsupported")].map((s) => s.textContent);
    expect(spans).toEqual(["Employees may also take a paid sabbatical every", "three years"]);
    const marks = body.querySelectorAll(".unsupported-mark");
    expect(marks).toHaveLength(1);
    expect(marks[0].getAttribute("aria-label")).toBe("Not supported by the sources (score 0.31, needs 0.55; closest source [2])");
    expect(marks[0].getAttribute("tabindex")).toBe("0");
    // Nothing of the text is lost or duplicated, and the chips are untouched.
    expect(body.textContent).toBe(rendered(flagged).textContent!.replace("years 2", "years? 2"));
    expect([...body.querySelectorAll(".chip")].map((c) => c.textContent)).toEqual(["1", "1", "2"]);
  });

  it("says what each policy did", () => {
    const g = flagged.grounding!;
    expect(groundingNote(g)!.textContent).toBe("Checked against the sources: 1 of 3 sentences are not supported by the sources; they are marked.");
    expect(groundingNote({ ...g, policy: "remove", action: "removed" })!.textContent).toBe(
      "Checked against the sources: 1 of 3 sentences were not supported by the sources and were removed.",
    );
    expect(groundingNote({ ...g, policy: "replace", action: "replaced" }, "Quoted from the sources.")!.textContent).toBe(
      "Checked against the sources: The generated answer was not supported by the sources, so quoted sentences are shown instead. Quoted from the sources.",
    );
    expect(groundingNote({ ...g, action: "none", unsupported: 0, supported: 3 })).toBeNull();
  });

  it("skips sentences a remove policy took out of the text", () => {
    const removed: Answer = {
      ...flagged,
      answer: "New employees get 25 days of paid vacation [1]. Unused days carry over up to five days [1].",
      grounding: { ...flagged.grounding!, policy: "remove", action: "removed" },
    };
    const body = rendered(removed);
    expect(markUnsupported(body, removed.grounding!)).toBe(0);
    expect(body.querySelector(".unsupported")).toBeNull();
  });
});
