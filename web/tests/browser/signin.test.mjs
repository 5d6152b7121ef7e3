// Sign-in with a real OpenID provider (oidc-provider, tests/e2e/js/oidc_provider.mjs) in Debian's
// chromium: authorization code + PKCE, the user's private collections only, upload and ask as
// that user, token renewal, expiry, sign-out; tokens never in localStorage. Screenshots go to
// build/ui-artifacts/signin-*.png.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort, launchBrowser, REPO, shot, startFakeLlm, startOidcProvider, startServer, watchProblems } from "./harness.mjs";

const ADMIN_KEY = "signin-test-admin-key";
const HANDBOOK = join(REPO, "samples/handbook/employee-handbook.md");

let fake, provider, server, browser, page, problems;
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

async function axeScan(label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(serious.map((v) => `${v.id}: ${v.help}`), [], `axe-core (${label}) found serious or critical violations`);
}

async function api(method, path, token, body) {
  const res = await fetch(server.url + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

async function uploadAs(token, collection, path) {
  const form = new FormData();
  form.append("file", new Blob([readFileSync(path)]), path.split("/").pop());
  const res = await fetch(`${server.url}/v1/collections/${collection}/documents`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, body: form });
  const text = await res.text();
  assert.ok(res.status === 200 || res.status === 201, `upload: ${res.status} ${text}`);
}

const session = () => page.evaluate(() => JSON.parse(sessionStorage.getItem("kaito-rag.oidc-session") ?? "null"));

async function collectionOptions() {
  return page.locator("#collection option").allInnerTexts();
}

describe("web UI sign-in with an OpenID provider", () => {
  before(async () => {
    const port = await freePort();
    provider = await startOidcProvider([`http://127.0.0.1:${port}/`]);
    fake = await startFakeLlm();
    server = await startServer({
      port,
      llmUrl: fake.url,
      args: ["--api-keys", ADMIN_KEY, "--oidc-issuer", provider.issuer, "--oidc-audience", "api://kaito-rag",
        "--oidc-client-id", "kaito-rag-ui", "--oidc-scopes", "api"],
    });
    // A shared collection, and bob's private one (bob is another user of the same issuer).
    await api("POST", "/v1/collections", ADMIN_KEY, { name: "handbook" });
    await uploadAs(ADMIN_KEY, "handbook", HANDBOOK);
    const bob = await provider.clientToken("bob");
    await api("POST", "/v1/collections", bob, { name: "bob-notes", visibility: "private" });
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    problems = watchProblems(page);
  });
  after(async () => {
    await browser?.close();
    server?.stop();
    fake?.stop();
    provider?.stop();
  });

  it("publishes the sign-in configuration and lets the UI talk to the issuer under its CSP", async () => {
    const config = await (await fetch(server.url + "/v1/auth/config")).json();
    assert.deepEqual(config.oidc, { issuer: provider.issuer, audience: ["api://kaito-rag"], client_id: "kaito-rag-ui", scopes: ["api"], redirect_uri: null });
    const csp = (await fetch(server.url + "/")).headers.get("content-security-policy");
    assert.match(csp, new RegExp(`connect-src 'self' ${provider.issuer};`));
  });

  it("signs in with authorization code + PKCE at the provider's login page", async () => {
    const authorize = [];
    page.on("request", (r) => r.url().startsWith(provider.issuer + "/auth?") && authorize.push(new URL(r.url())));
    await page.goto(server.url + "/");
    const dialog = page.getByRole("dialog", { name: "Sign in" });
    await dialog.getByText("This server needs you to sign in.").waitFor();
    await shot(page, "signin-01-dialog");
    await axeScan("sign-in dialog");
    await dialog.getByRole("button", { name: "Sign in with your organization account" }).click();
    await page.getByRole("heading", { name: "Sign in to the test issuer" }).waitFor();
    const params = authorize[0].searchParams;
    assert.equal(params.get("code_challenge_method"), "S256");
    assert.match(params.get("code_challenge"), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(params.get("client_id"), "kaito-rag-ui");
    assert.equal(params.get("scope"), "openid profile api");
    await page.fill("#username", "alice");
    await page.fill("#password", "wrong");
    await page.click("button[type=submit]");
    await page.getByText("Wrong username or password.").waitFor();
    await page.fill("#username", "alice");
    await page.fill("#password", "alice-password");
    await shot(page, "signin-02-issuer-login");
    await page.click("button[type=submit]");
    await page.locator("#who").filter({ hasText: "Signed in as alice@example.test" }).waitFor();
    assert.equal(new URL(page.url()).search, "", "the code stays in the address bar");
    await shot(page, "signin-03-signed-in");
    await axeScan("signed in");
  });

  it("shows the user's collections only: shared ones and their own private ones", async () => {
    await page.locator("#collection option", { hasText: "handbook" }).waitFor({ state: "attached" });
    assert.deepEqual(await collectionOptions(), ["handbook (1)"]);
    await page.getByRole("button", { name: "New collection" }).click();
    await page.fill("#new-collection", "alice-notes");
    assert.equal(await page.locator("#new-collection-visibility").inputValue(), "private");
    await page.getByRole("button", { name: "Create" }).click();
    await page.locator("#collection option", { hasText: "alice-notes" }).waitFor({ state: "attached" });
    assert.deepEqual((await collectionOptions()).sort(), ["alice-notes (0, private)", "handbook (1)"]);
    // The server agrees: bob's collection is not alice's to see, hers is not bob's.
    const bobs = await api("GET", "/v1/collections", await provider.clientToken("bob"));
    assert.deepEqual(bobs.collections.map((c) => c.name).sort(), ["bob-notes", "handbook"]);
  });

  it("uploads to the private collection and asks there as the signed-in user", async () => {
    await page.getByRole("tab", { name: "Documents" }).click();
    await page.setInputFiles("#file-picker", [HANDBOOK]);
    await page.locator(".upload.ok").first().waitFor({ timeout: 60_000 });
    await page.getByRole("tab", { name: "Chat" }).click();
    await page.fill("#composer-input", "How many days of paid vacation do new employees get?");
    await page.press("#composer-input", "Enter");
    await page.locator(".exchange").last().locator(".answer-actions button", { hasText: "Regenerate" }).waitFor({ timeout: 60_000 });
    assert.match(await page.locator(".exchange .answer-body").last().innerText(), /\S/);
    // Kept on the server as alice's conversation.
    await page.locator(".conversation-list .conversation", { hasText: "How many days of paid vacation" }).waitFor();
    await shot(page, "signin-04-private-answer");
    const conversations = await api("GET", "/v1/conversations", ADMIN_KEY);
    assert.equal(conversations.conversations.length, 0, "alice's conversation is hers, not the operator key's");
  });

  it("keeps tokens out of localStorage: only this tab's sessionStorage holds them", async () => {
    const s = await session();
    assert.match(s.access_token, /^eyJ/);
    assert.ok(s.refresh_token, "the provider issues refresh tokens to the public client");
    const local = await page.evaluate(() => JSON.stringify(Object.entries(localStorage)));
    assert.doesNotMatch(local, /eyJ|access_token|refresh_token/);
    assert.ok(!local.includes(s.access_token) && !local.includes(s.refresh_token));
    const claims = JSON.parse(Buffer.from(s.access_token.split(".")[1], "base64url").toString());
    assert.equal(claims.sub, "alice");
    assert.equal(claims.aud, "api://kaito-rag");
  });

  it("renews the access token with the refresh token before it expires", async () => {
    const before = await session();
    await page.evaluate(() => {
      const s = JSON.parse(sessionStorage.getItem("kaito-rag.oidc-session"));
      sessionStorage.setItem("kaito-rag.oidc-session", JSON.stringify({ ...s, expires_at: Date.now() + 5_000 }));
    });
    const refreshed = page.waitForRequest((r) => r.url() === provider.issuer + "/token" && /grant_type=refresh_token/.test(r.postData() ?? ""));
    await page.getByRole("tab", { name: "Documents" }).click();
    await refreshed;
    await page.waitForFunction((old) => JSON.parse(sessionStorage.getItem("kaito-rag.oidc-session")).access_token !== old, before.access_token);
    await page.locator(".doc-table tbody tr").first().waitFor();
    const after = await session();
    assert.notEqual(after.refresh_token, before.refresh_token, "refresh tokens rotate");
    assert.ok(after.expires_at > Date.now() + 60_000);
  });

  it("asks to sign in again when the token expired and cannot be renewed; the issuer's session signs in at once", async () => {
    await page.evaluate(() => {
      const s = JSON.parse(sessionStorage.getItem("kaito-rag.oidc-session"));
      delete s.refresh_token;
      sessionStorage.setItem("kaito-rag.oidc-session", JSON.stringify({ ...s, expires_at: Date.now() - 1000 }));
    });
    await page.getByRole("tab", { name: "Chat" }).click();
    await page.getByRole("tab", { name: "Documents" }).click();
    const dialog = page.getByRole("dialog", { name: "Sign in" });
    await dialog.getByText("Your sign-in has expired. Sign in again.").waitFor();
    assert.equal(await session(), null);
    await shot(page, "signin-05-expired");
    await dialog.getByRole("button", { name: "Sign in with your organization account" }).click();
    await page.locator("#who").filter({ hasText: "Signed in as alice@example.test" }).waitFor();
  });

  it("signs out here and at the issuer", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign out of the test issuer?" }).waitFor();
    assert.equal(await session(), null);
    await page.getByRole("button", { name: "Yes, sign me out" }).click();
    await page.getByRole("dialog", { name: "Sign in" }).getByText("This server needs you to sign in.").waitFor();
    await shot(page, "signin-06-signed-out");
    // The issuer's session ended too: signing in asks for the password again.
    await page.getByRole("button", { name: "Sign in with your organization account" }).click();
    await page.getByRole("heading", { name: "Sign in to the test issuer" }).waitFor();
    assert.deepEqual(problems, []);
  });
});
