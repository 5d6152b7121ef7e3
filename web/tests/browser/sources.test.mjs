// The Sources panel of the collection view in Debian's chromium against a live `kaito-rag serve`:
// add a watched folder, sync it, see its counts and documents; a folder that cannot be added
// shows the API's message, one that vanished after it was added shows its failed sync; axe-core.
// Azure Blob containers in Azurite: added with a SAS token and with the account key through the
// form, synced, their blobs listed as documents, a deleted blob removed by the next sync.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AZURITE_KEY, launchBrowser, shot, startAzurite, startServer, watchProblems } from "./harness.mjs";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let root, server, browser, page, problems;

describe("collection sources in the web UI", () => {
  before(async () => {
    root = mkdtempSync(join(tmpdir(), "kr-ui-sources-"));
    mkdirSync(join(root, "handbook"));
    writeFileSync(join(root, "handbook", "llamas.md"), "# Llamas\n\nLlamas in the office garden are fed at nine every morning.\n");
    writeFileSync(join(root, "handbook", "parking.txt"), "Parking permits are renewed every January at the front desk.\n");
    // Older than source_stable_seconds, so the first sync does not leave them pending as half-written.
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const f of ["llamas.md", "parking.txt"]) utimesSync(join(root, "handbook", f), hourAgo, hourAgo);
    mkdirSync(join(root, "archive"));
    writeFileSync(join(root, "archive", "old.txt"), "An old memo.\n");
    server = await startServer({ args: ["--source-folder-roots", root] });
    await fetch(server.url + "/v1/collections", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"name":"team"}' });
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    problems = watchProblems(page);
  });
  after(async () => {
    await browser?.close();
    server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("adds a folder, syncs it, and shows its counts and documents", async () => {
    await page.goto(server.url + "/");
    await page.getByRole("tab", { name: "Documents" }).click();
    const panel = page.locator("#sources-panel");
    await panel.getByText("No sources: add a folder").waitFor();
    await page.selectOption("#source-kind", "folder");
    await page.fill("#source-location", join(root, "handbook"));
    await panel.getByRole("button", { name: "Add source" }).click();
    const item = panel.locator(".source-item", { hasText: join(root, "handbook") });
    await item.waitFor();
    assert.match(await item.innerText(), /Folder/);
    assert.match(await item.locator(".source-when").innerText(), /Never synced/);
    await item.getByRole("button", { name: /^Sync now/ }).click();
    await item.locator(".source-counts", { hasText: "2 added · 0 changed · 0 removed · 0 failed" }).waitFor({ timeout: 60_000 });
    await item.locator(".source-when", { hasText: /Last synced .* \(on demand\)/ }).waitFor({ timeout: 60_000 });
    // The documents list follows the finished sync without a reload.
    await page.locator(".doc-table tbody tr", { hasText: "llamas.md" }).waitFor({ timeout: 60_000 });
    await page.locator(".doc-table tbody tr", { hasText: "parking.txt" }).waitFor();
    assert.equal(await page.locator(".doc-table tbody tr").count(), 2);
  });

  it("shows the API's message for a folder that does not exist", async () => {
    const panel = page.locator("#sources-panel");
    await page.fill("#source-location", join(root, "missing"));
    await panel.getByRole("button", { name: "Add source" }).click();
    const error = page.locator("#source-error");
    await error.waitFor();
    assert.match(await error.innerText(), /Could not add the source: folder .*missing does not exist or is not a folder/);
  });

  it("shows why a sync failed when the folder vanished, and Sync all runs every source", async () => {
    const panel = page.locator("#sources-panel");
    await page.fill("#source-location", join(root, "archive"));
    await panel.getByRole("button", { name: "Add source" }).click();
    const archive = panel.locator(".source-item", { hasText: join(root, "archive") });
    await archive.waitFor();
    rmSync(join(root, "archive"), { recursive: true });
    await panel.getByRole("button", { name: "Sync all" }).click();
    const failure = archive.locator(".source-run-error");
    await failure.waitFor({ timeout: 60_000 });
    assert.match(await failure.innerText(), /Last sync failed: watched folder .*archive does not exist or is not a folder/);
    const handbook = panel.locator(".source-item", { hasText: join(root, "handbook") });
    await handbook.locator(".source-counts", { hasText: "0 added · 0 changed · 0 removed · 0 failed · 2 unchanged" }).waitFor({ timeout: 60_000 });
    await shot(page, "14-sources");
    await page.evaluate(axeSource);
    const result = await page.evaluate(async () => await window.axe.run("#sources-panel", { resultTypes: ["violations"] }));
    const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.deepEqual(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`), [], "axe-core on the Sources panel");
    assert.deepEqual(problems, []);
  });
});

describe("Azure Blob sources in the web UI (Azurite)", () => {
  let azurite, blobServer, blobBrowser, blobPage, blobProblems;
  before(async () => {
    azurite = await startAzurite();
    await azurite.createContainer("policies");
    await azurite.put("policies", "bikes.md", "# Bikes\n\nBike racks are in the north courtyard, next to the fountain.\n");
    await azurite.put("policies", "badges/lost.txt", "A lost badge is replaced by reception within one working day.\n");
    await azurite.createContainer("archive");
    await azurite.put("archive", "canteen.txt", "The canteen serves soup on Thursdays.\n");
    blobServer = await startServer({ args: ["--source-url-allow", "127.0.0.1"] });
    for (const name of ["blobs", "keyed"]) {
      await fetch(blobServer.url + "/v1/collections", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name }) });
    }
    blobBrowser = await launchBrowser();
    blobPage = await (await blobBrowser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    blobProblems = watchProblems(blobPage);
  });
  after(async () => {
    await blobBrowser?.close();
    blobServer?.stop();
    azurite?.stop();
  });

  async function openCollection(name) {
    await blobPage.goto(blobServer.url + "/");
    await blobPage.locator(`#collection option[value="${name}"]`).waitFor({ state: "attached" });
    await blobPage.selectOption("#collection", name);
    await blobPage.getByRole("tab", { name: "Documents" }).click();
    return blobPage.locator("#sources-panel");
  }

  async function addBlobSource(panel, container, field, secret) {
    await blobPage.selectOption("#source-kind", "azure_blob");
    await blobPage.fill("#source-location", `${azurite.base}/${container}`);
    await blobPage.fill(field, secret);
    await panel.getByRole("button", { name: "Add source" }).click();
    const item = panel.locator(".source-item", { hasText: `${azurite.base}/${container}` });
    await item.waitFor();
    // Secrets are cleared from the form once used.
    assert.equal(await blobPage.inputValue(field), "");
    return item;
  }

  it("adds a container with a SAS token, syncs it, and follows a deleted blob", async () => {
    const panel = await openCollection("blobs");
    const item = await addBlobSource(panel, "policies", "#source-sas", "?" + azurite.sas("policies"));
    assert.match(await item.innerText(), /Azure Blob container/);
    await item.getByRole("button", { name: /^Sync now/ }).click();
    await item.locator(".source-counts", { hasText: "2 added · 0 changed · 0 removed · 0 failed" }).waitFor({ timeout: 60_000 });
    await blobPage.locator(".doc-table tbody tr", { hasText: "bikes.md" }).waitFor({ timeout: 60_000 });
    await blobPage.locator(".doc-table tbody tr", { hasText: "badges/lost.txt" }).waitFor();
    assert.equal(await blobPage.locator(".doc-table tbody tr").count(), 2);

    await azurite.remove("policies", "bikes.md");
    await item.getByRole("button", { name: /^Sync now/ }).click();
    await item.locator(".source-counts", { hasText: "0 added · 0 changed · 1 removed · 0 failed · 1 unchanged" }).waitFor({ timeout: 60_000 });
    await blobPage.locator(".doc-table tbody tr", { hasText: "bikes.md" }).waitFor({ state: "detached", timeout: 60_000 });
    assert.equal(await blobPage.locator(".doc-table tbody tr").count(), 1);
  });

  it("adds a container with the account key; the key is never shown", async () => {
    const panel = await openCollection("keyed");
    const item = await addBlobSource(panel, "archive", "#source-key", AZURITE_KEY);
    await item.getByRole("button", { name: /^Sync now/ }).click();
    await item.locator(".source-counts", { hasText: "1 added · 0 changed · 0 removed · 0 failed" }).waitFor({ timeout: 60_000 });
    await blobPage.locator(".doc-table tbody tr", { hasText: "canteen.txt" }).waitFor({ timeout: 60_000 });
    assert.ok(!(await blobPage.content()).includes(AZURITE_KEY), "the account key must not reach the page");
    await shot(blobPage, "15-sources-blob");
    assert.deepEqual(blobProblems, []);
  });
});
