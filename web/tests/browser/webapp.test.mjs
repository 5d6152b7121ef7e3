// The web UI end to end in Debian's chromium against a live `kaito-rag serve` (with the fake
// model server for deterministic streaming and cancellation, and without a model for the
// extractive state). Screenshots of each step go to build/ui-artifacts/.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { launchBrowser, REPO, shot, startFakeLlm, startServer, watchProblems } from "./harness.mjs";

const SAMPLES = join(REPO, "samples/handbook");
const PARENTAL = "How many weeks of paid parental leave do employees get?";
const VACATION = "How many days of paid vacation do new employees get?";
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let fake, server, browser, context, page, problems;

async function ask(p, question) {
  await p.fill("#composer-input", question);
  await p.press("#composer-input", "Enter");
}

async function lastAnswerDone(p) {
  // The final event replaces the streamed text with the rendered answer and its actions.
  await p.locator(".exchange").last().locator(".answer-actions button", { hasText: "Regenerate" }).waitFor({ timeout: 60_000 });
}

async function axeScan(p, label) {
  await p.evaluate(axeSource);
  const result = await p.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
    [],
    `axe-core (${label}) found serious or critical violations`,
  );
}

describe("web UI with a model (fake LLM)", () => {
  before(async () => {
    fake = await startFakeLlm();
    server = await startServer({ llmUrl: fake.url });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    problems = watchProblems(page);
  });
  after(async () => {
    await browser?.close();
    server?.stop();
    fake?.stop();
  });

  it("serves the UI with a strict CSP and caching headers", async () => {
    const res = await fetch(server.url + "/");
    assert.equal(res.status, 200);
    const csp = res.headers.get("content-security-policy");
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    const html = await res.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)[1];
    const js = await fetch(server.url + asset);
    assert.equal(js.status, 200);
    assert.match(js.headers.get("cache-control"), /immutable/);
    const again = await fetch(server.url + asset, { headers: { "If-None-Match": js.headers.get("etag") } });
    assert.equal(again.status, 304);
  });

  it("starts empty and uploads the sample documents, with a plain-words error for a corrupt file", async () => {
    await page.goto(server.url + "/");
    await page.getByText("No collection yet.").waitFor();
    await shot(page, "01-first-visit");
    await page.getByRole("tab", { name: "Documents" }).click();
    const corrupt = join(tmpdir(), "quarterly-report.pdf");
    writeFileSync(corrupt, "%PDF-1.7\nthis is not really a PDF, it was cut off in the download\n");
    const files = readdirSync(SAMPLES).map((f) => join(SAMPLES, f));
    await page.setInputFiles("#file-picker", [...files, corrupt]);
    await page.locator(".upload.ok").nth(files.length - 1).waitFor({ timeout: 120_000 });
    const failed = page.locator(".upload.failed");
    await failed.waitFor();
    assert.match(await failed.locator(".upload-name").innerText(), /quarterly-report\.pdf/);
    assert.match(await failed.locator(".upload-status").innerText(), /Damaged or unreadable file|Could not add this file/);
    await page.locator(".doc-table tbody tr").nth(files.length - 1).waitFor();
    assert.equal(await page.locator(".doc-table tbody tr").count(), files.length);
    const pdfRow = page.locator(".doc-table tbody tr", { hasText: "benefits-guide.pdf" });
    assert.equal(await pdfRow.locator("td").nth(1).innerText(), "3"); // pages
    await page.getByText(/5 of 5 documents · \d+ passages · originals kept: [\d.]+ KB/).waitFor();
    await shot(page, "02-upload");
    await page.fill("input[type=search]", "travel");
    assert.equal(await page.locator(".doc-table tbody tr").count(), 1);
    await page.fill("input[type=search]", "");
  });

  it("streams an answer with citations, and shows the cited PDF page with the passage highlighted", async () => {
    await fake.control({ stream_delay: 0.05, chunk_chars: 4 });
    await page.getByRole("tab", { name: "Chat" }).click();
    await ask(page, PARENTAL);
    const body = page.locator(".exchange").last().locator(".answer-body");
    // Streaming: text appears and grows before the answer is complete.
    await body.filter({ hasText: /\S/ }).waitFor();
    const early = (await body.innerText()).length;
    await lastAnswerDone(page);
    const final = await body.innerText();
    assert.ok(final.length > early, `the answer did not grow while streaming (${early} -> ${final.length})`);
    assert.match(final, /20 weeks/);
    await shot(page, "03-answer");
    const chip = body.locator("button.chip").first();
    assert.match(await chip.getAttribute("aria-label"), /benefits-guide\.pdf, pages? [12]/);
    await chip.click();
    const panel = page.locator(".source-panel");
    await panel.locator("canvas.pdf-canvas").waitFor({ timeout: 60_000 });
    const marks = panel.locator(".textLayer mark.cited");
    await marks.first().waitFor({ timeout: 30_000 });
    const marked = (await marks.allInnerTexts()).join(" ");
    assert.match(marked, /20 weeks of fully paid parental leave/);
    assert.match(await panel.innerText(), /Page 2: the highlighted lines are the cited passage/);
    await shot(page, "04-pdf-highlight");
    await page.keyboard.press("Escape");
    assert.equal(await panel.isHidden(), true);
  });

  it("stop cancels the generation on the server", async () => {
    await fake.control({ stream_delay: 0.3, chunk_chars: 1 });
    const before = (await fake.events()).length;
    await ask(page, VACATION);
    await page.locator(".exchange").last().locator(".answer-body").filter({ hasText: /\S/ }).waitFor();
    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByText("Stopped — the answer above is incomplete.").waitFor();
    let event;
    for (let i = 0; i < 100; i++) {
      const events = await fake.events();
      event = events.slice(before).find((e) => !e.condense);
      if (event && (event.aborted || event.finished)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(event?.aborted, `the model stream was not cancelled: ${JSON.stringify(event)}`);
    assert.ok(event.chunks_sent < event.chunks_total);
    await shot(page, "05-stopped");
    await fake.control({ stream_delay: 0, chunk_chars: 16 });
  });

  it("keeps the conversation on the server: reload resumes it", async () => {
    await page.waitForFunction(() => /^#\/c\/[0-9a-f]+$/.test(location.hash));
    await page.reload();
    await page.locator(".exchange").nth(1).waitFor();
    assert.equal(await page.locator(".exchange").count(), 2);
    assert.match(await page.locator(".exchange").first().innerText(), /20 weeks/);
    assert.equal(await page.locator(".conversation-list .conversation").count(), 1);
    // Citations still open after the reload.
    await page.locator(".exchange").first().locator("button.chip").first().click();
    await page.locator(".source-panel canvas.pdf-canvas").waitFor({ timeout: 60_000 });
    await page.keyboard.press("Escape");
    await shot(page, "06-resumed");
  });

  it("answers follow-ups with the conversation as context and regenerates", async () => {
    await ask(page, "And how long is bereavement leave?");
    await lastAnswerDone(page);
    await page.locator(".exchange").last().getByRole("button", { name: "Regenerate" }).click();
    await lastAnswerDone(page);
    const c = await (await fetch(server.url + "/v1/conversations")).json();
    const conv = await (await fetch(`${server.url}/v1/conversations/${c.conversations[0].id}`)).json();
    assert.equal(conv.turns.length, 6); // three questions and their answers; the regenerated one replaced
  });

  it("has a dark theme and no serious accessibility violations in either theme", async () => {
    await axeScan(page, "light");
    await page.locator("#theme-button").click(); // auto -> light
    await page.locator("#theme-button").click(); // light -> dark
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, "rgb(21, 24, 29)");
    await shot(page, "07-dark");
    await axeScan(page, "dark");
    await page.getByRole("tab", { name: "Documents" }).click();
    await axeScan(page, "documents");
    await page.getByRole("tab", { name: "Chat" }).click();
  });

  it("works with the keyboard alone", async () => {
    const kb = await context.newPage();
    await kb.goto(server.url + "/");
    await kb.locator(".conversation-list .conversation").first().waitFor();
    await kb.keyboard.press("Tab"); // the skip link
    await kb.keyboard.press("Enter");
    assert.equal(await kb.evaluate(() => document.activeElement?.id), "composer-input");
    await kb.keyboard.type(PARENTAL);
    await kb.keyboard.press("Enter");
    await lastAnswerDone(kb);
    // Tab from the question box back into the answer's citation chip.
    const chipFocused = async () => kb.evaluate(() => document.activeElement?.classList.contains("chip"));
    await kb.locator(".exchange").last().locator("button.chip").first().focus();
    assert.ok(await chipFocused());
    await kb.keyboard.press("Enter");
    await kb.locator(".source-panel canvas.pdf-canvas").waitFor({ timeout: 60_000 });
    await kb.keyboard.press("Escape");
    assert.ok(await chipFocused(), "focus did not return to the citation after closing the source");
    await shot(kb, "08-keyboard");
    await kb.close();
  });

  it("fits a 390 px phone", async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const p = await phone.newPage();
    await p.goto(server.url + "/");
    await p.locator("#composer-input").waitFor();
    await ask(p, PARENTAL);
    await lastAnswerDone(p);
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await shot(p, "09-phone");
    await p.locator(".exchange").last().locator("button.chip").first().click();
    await p.locator(".source-panel canvas.pdf-canvas").waitFor({ timeout: 60_000 });
    await shot(p, "10-phone-source");
    await phone.close();
  });

  it("shows the model in settings and, on request, why an answer was given (BM25/dense/fused scores)", async () => {
    await page.getByRole("button", { name: "Settings" }).click();
    const dialog = page.getByRole("dialog", { name: "Settings" });
    await dialog.getByText(/fake-phi-3 \(context 4096 tokens\)/).waitFor();
    assert.equal(await dialog.locator("#settings-endpoint").innerText(), fake.url); // where answers come from
    await dialog.getByLabel("Why this answer: show retrieval scores").check();
    await dialog.getByLabel("Retrieval", { exact: true }).selectOption("bm25");
    await dialog.getByRole("button", { name: "Save" }).click();
    const table = page.locator(".exchange").first().locator(".why table");
    await table.waitFor();
    assert.deepEqual(await table.locator("thead th").allInnerTexts(), ["#", "Passage", "BM25", "Dense", "Fused", "Cited"]);
    assert.match(await table.locator("tbody tr").first().innerText(), /\d\.\d{3}/);
    await shot(page, "13-why-this-answer");
  });

  it("creates, switches and deletes collections with a confirmation", async () => {
    await page.getByRole("button", { name: "New collection" }).click();
    await page.fill("#new-collection", "scratch");
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForFunction(() => document.querySelector("#collection").value === "scratch");
    await page.getByRole("button", { name: "Delete collection" }).click();
    const confirm = page.getByRole("dialog", { name: "Delete collection?" });
    await confirm.getByRole("button", { name: "Cancel" }).click();
    assert.equal((await (await fetch(server.url + "/v1/collections/scratch")).json()).name, "scratch");
    await page.getByRole("button", { name: "Delete collection" }).click();
    await confirm.getByRole("button", { name: "Delete scratch" }).click();
    await page.waitForFunction(() => document.querySelector("#collection").value === "default");
    assert.equal((await fetch(server.url + "/v1/collections/scratch")).status, 404);
  });

  it("reported no script errors or CSP violations", () => {
    assert.deepEqual(problems, []);
  });
});

describe("web UI without a model", () => {
  let bare, b;
  before(async () => {
    bare = await startServer();
    b = await launchBrowser();
  });
  after(async () => {
    await b?.close();
    bare?.stop();
  });

  it("labels extractive answers and says when nothing was found", async () => {
    const form = new FormData();
    form.append("file", new Blob([readFileSync(join(SAMPLES, "employee-handbook.md"))]), "employee-handbook.md");
    const up = await fetch(`${bare.url}/v1/collections/default/documents`, { method: "POST", body: form });
    assert.equal(up.status, 200);
    const p = await b.newPage();
    await p.goto(bare.url + "/");
    await p.locator("#collection option[value=default]").waitFor({ state: "attached" });
    await ask(p, VACATION);
    await p.getByText("Extractive answer:").waitFor({ timeout: 60_000 });
    await ask(p, "zyxwvut qqqq");
    await p.getByText("Not found in your documents.").waitFor({ timeout: 60_000 });
    await shot(p, "11-extractive-and-not-found");
  });
});

describe("web UI on a server with API keys", () => {
  let locked, b;
  before(async () => {
    locked = await startServer({ args: ["--api-keys", "team-key-1"] });
    b = await launchBrowser();
  });
  after(async () => {
    await b?.close();
    locked?.stop();
  });

  it("asks for the key, keeps it for the tab only, and rejects a wrong one", async () => {
    const p = await b.newPage();
    await p.goto(locked.url + "/");
    const dialog = p.getByRole("dialog", { name: "Sign in" });
    await dialog.waitFor();
    await p.fill("#key-input", "wrong-key");
    await p.press("#key-input", "Enter");
    await dialog.getByText("That API key was not accepted").waitFor();
    await p.fill("#key-input", "team-key-1");
    await p.press("#key-input", "Enter");
    await p.getByText("No collection yet.").waitFor();
    assert.equal(await dialog.count(), 0);
    assert.equal(await p.evaluate(() => sessionStorage.getItem("kaito-rag.api-key")), "team-key-1");
    assert.equal(await p.evaluate(() => JSON.stringify(localStorage).includes("team-key-1")), false);
    await shot(p, "12-signed-in");
  });
});
