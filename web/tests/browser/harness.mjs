// Starts what the browser tests drive: the fake model server (tests/e2e/fake_llm.py), the real
// local model (scripts/llm_server.sh), a real OpenID provider (tests/e2e/js/oidc_provider.mjs) and
// a `kaito-rag serve` on free ports with a scratch data directory, and Debian's chromium.
import { execFileSync, spawn } from "node:child_process";
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
