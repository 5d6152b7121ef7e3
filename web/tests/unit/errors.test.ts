import { describe, expect, it } from "vitest";
import { formatBytes, uploadProblem, uploadWarnings } from "../../src/errors";

describe("upload messages in plain words", () => {
  it("names the usual failures", () => {
    expect(uploadProblem("salary.pdf", { code: "encrypted", message: "PDF is password-protected" }, 422)).toBe(
      "Encrypted PDF — needs a password",
    );
    expect(uploadProblem("old.doc", { code: "unsupported", message: "legacy binary Office format (.doc/.xls/.ppt)" }, 415)).toBe(
      "Legacy .doc — save as .docx",
    );
    expect(uploadProblem("broken.pdf", { code: "corrupt_input", message: "not a PDF" }, 422)).toBe("Damaged or unreadable file");
    expect(uploadProblem("big.pdf", undefined, 413)).toBe("File too large for this server");
    expect(uploadProblem("a.pdf", undefined, 0)).toBe("Could not reach the server");
  });

  it("turns OCR warnings into one line", () => {
    expect(uploadWarnings(["page 2 has no extractable text (scanned image?) — needs OCR", "page 3 has no extractable text (scanned image?) — needs OCR"])).toEqual([
      "No text layer on 2 pages — needs OCR",
    ]);
    expect(uploadWarnings([])).toEqual([]);
  });

  it("formats sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2048)).toBe("2.0 KB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MB");
  });
});
