// Plain-words messages for per-file upload failures and API errors.

export interface ApiErrorBody {
  code: string;
  message: string;
}

// A short headline for a file that could not be added; the server's message follows it.
export function uploadProblem(fileName: string, error: ApiErrorBody | undefined, httpStatus: number): string {
  const lower = fileName.toLowerCase();
  const message = error?.message ?? "";
  if (error?.code === "encrypted") {
    return lower.endsWith(".pdf") ? "Encrypted PDF — needs a password" : "Password-protected file — remove the password";
  }
  if (/legacy binary office|\.doc\/|\.doc\b/i.test(message) || /\.(doc|xls|ppt)$/.test(lower)) {
    if (lower.endsWith(".xls")) return "Legacy .xls — save as .xlsx";
    if (lower.endsWith(".ppt")) return "Legacy .ppt — save as .pptx";
    return "Legacy .doc — save as .docx";
  }
  if (error?.code === "corrupt_input") return "Damaged or unreadable file";
  if (error?.code === "unsupported") return "File type not supported";
  if (error?.code === "too_large" || httpStatus === 413) return "File too large for this server";
  if (error?.code === "deadline_exceeded") return "Took too long to read";
  if (error?.code === "unauthenticated") return "Not signed in — enter an API key";
  if (httpStatus === 0) return "Could not reach the server";
  return "Could not add this file";
}

// Warnings on an added file that a user should act on.
export function uploadWarnings(warnings: string[], pagesNeedingOcr = 0): string[] {
  const out: string[] = [];
  const ocr = warnings.filter((w) => /needs OCR|no extractable text/i.test(w)).length + pagesNeedingOcr;
  if (ocr > 0) out.push(`No text layer on ${ocr === 1 ? "1 page" : `${ocr} pages`} — needs OCR`);
  if (warnings.some((w) => /no text could be extracted/i.test(w))) out.push("No text found — needs OCR to be searchable");
  return out;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
