// Starts what the browser tests drive: the fake model server (tests/e2e/fake_llm.py), the real
// local model (scripts/llm_server.sh), a real OpenID provider (tests/e2e/js/oidc_provider.mjs) and
// a `kaito-rag serve` on free ports with a scratch data directory, and Debian's chromium.
import { execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const ARTIFACTS = process.env.KR_UI_ARTIFACTS ?? join(REPO, "build/ui-artifacts");
mkdirSync(ARTIFACTS, { recursive: true });

const BIN = process.env.KAITO_RAG_BIN ?? join(REPO, "build/release/src/kaito-rag");
const CHROMIUM = process.env.KR_CHROMIUM ?? "/usr/bin/chromium";

export function freePort() {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => done(port));
    });
  });
}

async function waitFor(url, child, what) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready at ${url}`);
}

export async function startFakeLlm() {
  const port = await freePort();
  const child = spawn("python3", [join(REPO, "tests/e2e/fake_llm.py"), "--port", String(port)], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/health`, child, "the fake model server");
  return {
    url: `${url}/v1`,
    control: (settings) => fetch(`${url}/_control`, { method: "POST", body: JSON.stringify(settings) }),
    events: async () => (await (await fetch(`${url}/_events`)).json()).stream_events,
    stop: () => child.kill(),
  };
}

// oidc-provider (tests/e2e/js, installed with npm ci on first use) on a free port; the web UI's
// public client may redirect to `redirectUris`.
export async function startOidcProvider(redirectUris) {
  const js = join(REPO, "tests/e2e/js");
  if (!existsSync(join(js, "node_modules/oidc-provider"))) {
    execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: js, stdio: "inherit" });
  }
  const port = await freePort();
  const child = spawn("node", [join(js, "oidc_provider.mjs"), String(port), "", redirectUris.join(",")], { cwd: js, stdio: "ignore" });
  const issuer = `http://127.0.0.1:${port}`;
  await waitFor(`${issuer}/.well-known/openid-configuration`, child, "oidc-provider");
  return {
    issuer,
    // A client_credentials token for one of the provider's confidential clients (alice, bob, ...).
    clientToken: async (client) => {
      const form = new URLSearchParams({ grant_type: "client_credentials", client_id: client, client_secret: `${client}-secret`, resource: "api://kaito-rag", scope: "api" });
      const res = await fetch(`${issuer}/token`, { method: "POST", body: form });
      if (!res.ok) throw new Error(`token for ${client}: ${res.status} ${await res.text()}`);
      return (await res.json()).access_token;
    },
    stop: () => child.kill(),
  };
}

// Azurite (the Azure Storage emulator, tests/e2e/js like the e2e suite's) on a free port, with
// the test's own writes signed by the emulator's well-known shared key.
const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const AZURE_VERSION = "2021-08-06";
const hmac = (text) => createHmac("sha256", Buffer.from(AZURITE_KEY, "base64")).update(text, "utf8").digest("base64");

export async function startAzurite() {
  const js = join(REPO, "tests/e2e/js");
  if (!existsSync(join(js, "node_modules/.bin/azurite-blob"))) {
    execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: js, stdio: "inherit" });
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "kr-ui-azurite-"));
  const child = spawn(join(js, "node_modules/.bin/azurite-blob"),
    ["--blobHost", "127.0.0.1", "--blobPort", String(port), "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent"],
    { cwd: dir, stdio: "ignore" });
  const base = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`azurite exited with ${child.exitCode}`);
    try {
      await fetch(base);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error("azurite did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // Shared Key (learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key).
  async function call(method, path, { query = {}, body = "", headers = {} } = {}) {
    const all = { "x-ms-date": new Date().toUTCString(), "x-ms-version": AZURE_VERSION, ...headers };
    const ms = Object.keys(all).filter((k) => k.startsWith("x-ms-")).sort().map((k) => `${k}:${all[k]}\n`).join("");
    const length = body ? String(Buffer.byteLength(body)) : "";
    const resource = `/${AZURITE_ACCOUNT}/${AZURITE_ACCOUNT}${path}` + Object.keys(query).sort().map((k) => `\n${k}:${query[k]}`).join("");
    const toSign = `${method}\n\n\n${length}\n\n${all["Content-Type"] ?? ""}\n\n\n\n\n\n\n${ms}${resource}`;
    all.Authorization = `SharedKey ${AZURITE_ACCOUNT}:${hmac(toSign)}`;
    const qs = new URLSearchParams(query).toString();
    const res = await fetch(`${base}${path}${qs ? "?" + qs : ""}`, { method, headers: all, body: body || undefined });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  }
  return {
    base,
    createContainer: (name) => call("PUT", `/${name}`, { query: { restype: "container" } }),
    put: (container, blob, text) =>
      call("PUT", `/${container}/${encodeURIComponent(blob)}`, { body: text, headers: { "x-ms-blob-type": "BlockBlob", "Content-Type": "text/plain" } }),
    remove: (container, blob) => call("DELETE", `/${container}/${encodeURIComponent(blob)}`),
    // A service SAS for the container with list + read (version 2020-12-06+ string-to-sign).
    sas: (container) => {
      const expiry = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
      const fields = ["rl", "", expiry, `/blob/${AZURITE_ACCOUNT}/${container}`, "", "", "", AZURE_VERSION, "c", "", "", "", "", "", "", ""];
      return new URLSearchParams({ sv: AZURE_VERSION, sr: "c", sp: "rl", se: expiry, sig: hmac(fields.join("\n")) }).toString();
    },
    stop: () => {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The real local model (llama-cpp-python + Gemma 3 270M, scripts/llm_server.sh; its `setup` ran in
// the llm-server suite) on a free port; stop() ends it.
export async function startLocalModel({ context = 2048 } = {}) {
  const port = await freePort();
  const script = join(REPO, "scripts/llm_server.sh");
  const env = { ...process.env, KAITO_RAG_LLM_CONTEXT: String(context) };
  for (const k of Object.keys(env)) if (k.startsWith("KAITO_RAG_") && k !== "KAITO_RAG_LLM_CONTEXT" && k !== "KAITO_RAG_LLM_MODEL_FILE") delete env[k];
  const url = execFileSync(script, ["start", String(port)], { env, encoding: "utf8", timeout: 3_600_000 }).trim().split("\n").pop();
  return { url, stop: () => execFileSync(script, ["stop", String(port)], { stdio: "ignore" }) };
}

export async function startServer({ llmUrl, args: extra = [], port: fixedPort } = {}) {
  const port = fixedPort ?? (await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), "kr-ui-"));
  const args = ["serve", "--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, "--parse-isolation", "inline"];
  if (llmUrl) args.push("--llm-url", llmUrl);
  args.push(...extra);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("KAITO_RAG_")) delete env[k];
  const child = spawn(BIN, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/readyz`, child, "kaito-rag serve");
  return {
    url,
    log: () => log,
    stop: () => {
      child.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
}

// Collects what the page reports as broken: uncaught errors and CSP violations.
export function watchProblems(page) {
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return problems;
}

export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
}
