import { describe, expect, it } from "vitest";
import { locatePassage, supportingSentences } from "../../src/highlight";

describe("locatePassage", () => {
  const spans = ["Benefits Guide", "New employees receive 25 days of paid", "vacation per year. Unused days", "carry over up to five days."];

  it("finds a passage across spans despite different spacing and case", () => {
    const ranges = locatePassage(spans, "new employees receive 25 days of paid  vacation per year.");
    expect(ranges).toEqual([
      { piece: 1, start: 0, end: spans[1].length },
      { piece: 2, start: 0, end: "vacation per year.".length - 1 },
    ]);
  });

  it("matches through ligatures and hyphenation", () => {
    const ranges = locatePassage(["The ﬁnal bene-", "fits are paid monthly."], "The final benefits are paid");
    expect(ranges.map((r) => r.piece)).toEqual([0, 1]);
    expect(ranges[1]).toEqual({ piece: 1, start: 0, end: "fits are paid".length });
  });

  it("uses the passage's first words when it continues on the next page", () => {
    const passage = "Unused days carry over up to five days. " + "Requests go through the HR portal ".repeat(4);
    const ranges = locatePassage(spans, passage);
    expect(ranges[0]).toEqual({ piece: 2, start: "vacation per year. ".length, end: spans[2].length });
    expect(ranges[ranges.length - 1].piece).toBe(3);
  });

  it("returns nothing for a passage that is not there", () => {
    expect(locatePassage(spans, "Parental leave is sixteen weeks")).toEqual([]);
  });
});

describe("supportingSentences", () => {
  it("picks the sentences sharing the most words with the answer", () => {
    const chunk = "Offices open at 9. New employees receive 25 days of paid vacation. Parking is free.";
    const [range] = supportingSentences(chunk, "New employees get 25 days of vacation [1].", 1);
    expect(chunk.slice(range[0], range[1])).toBe("New employees receive 25 days of paid vacation.");
  });
});
