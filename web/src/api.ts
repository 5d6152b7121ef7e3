// The documented HTTP API (/openapi.json), typed for the UI. The API key, when the server
// asks for one, lives in sessionStorage only: gone when the tab closes.
import { SseParser } from "./sse";

const KEY_STORAGE = "kaito-rag.api-key";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function apiKey(): string {
  return sessionStorage.getItem(KEY_STORAGE) ?? "";
}

export function setApiKey(key: string): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

function headers(json: boolean): Record<string, string> {
  const h: Record<string, string> = {};
  if (json) h["Content-Type"] = "application/json";
  const key = apiKey();
  if (key) h["Authorization"] = `Bearer ${key}`;
  return h;
}

async function failure(res: Response): Promise<ApiError> {
  let code = "http_" + res.status;
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    if (body?.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
    }
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(res.status, code, message);
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "cannot reach the Kaito-RAG server");
  }
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export async function fetchBytes(path: string): Promise<ArrayBuffer> {
  const res = await fetch(path, { headers: headers(false) });
  if (!res.ok) throw await failure(res);
  return res.arrayBuffer();
}

export const enc = encodeURIComponent;

// ---- Types (the subset of the API the UI reads) ----
export interface Collection {
  name: string;
  documents: number;
  chunks: number;
  embeddings: { model: string | null };
  originals_bytes?: number;
}

export interface DocumentInfo {
  doc_id: string;
  name: string;
  format: string;
  size_bytes: number;
  page_count: number;
  chunk_count: number;
  warnings: string[];
  pages_needing_ocr: number[];
  updated_at: number;
}

export interface Citation {
  document: string;
  page_start: number;
  page_end: number;
  heading_path: string[];
  char_begin: number;
  char_end: number;
}

export interface Source {
  number: number;
  cited: boolean;
  chunk_id: string;
  doc_id: string;
  document_name: string;
  score: number;
  bm25_score: number | null;
  dense_score: number | null;
  text: string;
  citation: Citation;
}

export interface Answer {
  answer: string;
  mode: "generative" | "extractive";
  citations: number[];
  sources: Source[];
  finish_reason?: string;
  model?: string;
  note?: string;
  answerable?: boolean; // from the grounding work, when the server sends it
  grounding?: unknown;
}

export interface Turn {
  seq: number;
  role: "user" | "assistant";
  content: string;
  details: Record<string, unknown> | null;
}

export interface Conversation {
  id: string;
  title: string;
  collection: string;
  updated_at: number;
  turn_count: number;
  turns?: Turn[];
}

export interface UploadResult {
  name: string;
  status: "added" | "updated" | "unchanged" | "duplicate" | "failed";
  doc_id?: string;
  chunks?: number;
  pages?: number;
  warnings?: string[];
  error?: { code: string; message: string };
}

export interface AskOptions {
  question: string;
  history: Array<{ role: "user" | "assistant"; content: string }>;
  top_k?: number;
  mode?: string;
}

// Streams POST /v1/collections/{name}/ask: onToken for each piece, resolves with the final
// answer. Aborting `signal` closes the connection, which stops the generation on the server.
export async function askStream(
  collection: string,
  options: AskOptions,
  onToken: (delta: string) => void,
  signal: AbortSignal,
): Promise<Answer> {
  const body: Record<string, unknown> = { question: options.question, stream: true };
  if (options.history.length > 0) body.history = options.history;
  if (options.top_k) body.top_k = options.top_k;
  if (options.mode) body.mode = options.mode;
  let res: Response;
  try {
    res = await fetch(`/v1/collections/${enc(collection)}/ask`, {
      method: "POST",
      headers: headers(true),
      body: JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (signal.aborted) throw e;
    throw new ApiError(0, "network", "cannot reach the Kaito-RAG server");
  }
  if (!res.ok || !res.body) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const event of parser.push(value)) {
      const data = JSON.parse(event.data);
      if (event.event === "token") onToken(data.delta as string);
      else if (event.event === "done") return data as Answer;
      else if (event.event === "error") throw new ApiError(data.error.status ?? 500, data.error.code, data.error.message);
    }
  }
  throw new ApiError(0, "incomplete", "the answer stream ended early (server restarted?)");
}

// One file per request so each has its own progress and result.
export function uploadFile(
  collection: string,
  file: File,
  onProgress: (fraction: number) => void,
): Promise<{ httpStatus: number; result?: UploadResult; error?: { code: string; message: string } }> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/v1/collections/${enc(collection)}/documents`);
    const key = apiKey();
    if (key) xhr.setRequestHeader("Authorization", `Bearer ${key}`);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onerror = () => resolve({ httpStatus: 0 });
    xhr.onload = () => {
      let body: any = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* keep null */
      }
      resolve({ httpStatus: xhr.status, result: body?.results?.[0], error: body?.error });
    };
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}
