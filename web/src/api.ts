// The documented HTTP API (/openapi.json), typed for the UI. Requests carry the signed-in
// user's access token (signin.ts) or else the API key, which lives in sessionStorage only: gone
// when the tab closes.
import type { Grounding } from "./grounding";
import * as signin from "./signin";
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

// The credential to send: a signed-in user's token (renewed when due), else the API key.
async function credential(): Promise<string> {
  if (signin.signedIn()) {
    const token = await signin.accessToken();
    if (token) return token;
    notifyExpired();
  }
  return apiKey();
}

function notifyExpired(): void {
  document.dispatchEvent(new CustomEvent("kr-auth-needed", { detail: { expired: true } }));
}

async function headers(json: boolean): Promise<Record<string, string>> {
  const h: Record<string, string> = {};
  if (json) h["Content-Type"] = "application/json";
  const key = await credential();
  if (key) h["Authorization"] = `Bearer ${key}`;
  return h;
}

// fetch with the credential; a 401 on a user's token renews it once and retries (the issuer may
// have rotated keys or the clock may be off), else the session is over.
async function authorizedFetch(path: string, init: RequestInit, json: boolean): Promise<Response> {
  const usedToken = signin.signedIn();
  let res = await fetch(path, { ...init, headers: await headers(json) });
  if (res.status === 401 && usedToken) {
    if (await signin.renew()) res = await fetch(path, { ...init, headers: await headers(json) });
    if (res.status === 401) notifyExpired();
  }
  return res;
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
    res = await authorizedFetch(path, { method, body: body === undefined ? undefined : JSON.stringify(body) }, body !== undefined);
  } catch {
    throw new ApiError(0, "network", "cannot reach the Kaito-RAG server");
  }
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export async function fetchBytes(path: string): Promise<ArrayBuffer> {
  const res = await authorizedFetch(path, {}, false);
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
  visibility?: "shared" | "private";
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
  answerable?: boolean;
  grounding?: Grounding; // present when a generated answer was checked against its sources
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
    res = await authorizedFetch(`/v1/collections/${enc(collection)}/ask`, { method: "POST", body: JSON.stringify(body), signal }, true);
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
export async function uploadFile(
  collection: string,
  file: File,
  onProgress: (fraction: number) => void,
): Promise<{ httpStatus: number; result?: UploadResult; error?: { code: string; message: string } }> {
  const key = await credential();
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/v1/collections/${enc(collection)}/documents`);
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
