// The web UI with the real local model: llama-cpp-python serving Gemma 3 270M
// (scripts/llm_server.sh, set up by the llm-server suite of scripts/test.sh), not the fake one.
// Asserted is what the UI and the server do with a real model's stream (tokens as they arrive,
// the model and endpoint shown, stop cancelling the generation on the server, citations you can
// open), not the wisdom of a 270M model. Screenshots: build/ui-artifacts/real-*.png.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { launchBrowser, REPO, shot, startLocalModel, startServer, watchProblems } from "./harness.mjs";

const SAMPLES = join(REPO, "samples/handbook");
// A small window and short answers keep it to about a minute on 2 quiet cores; the UI asks with
// top-k 3 (set in Settings below) so prompts stay near 600 tokens.
// Chat style: a long streamed answer to watch grow and to stop (completion style, which auto picks for this
// base model, ends after one line; tests/e2e/test_real_model.py covers it).
const SERVER_ARGS = ["--llm-context-window", "2048", "--answer-max-tokens", "64", "--llm-prompt-style", "chat"];
// Waits scale with the model's measured speed (a loaded machine is many times slower), as in
// tests/e2e/test_real_model.py: this many times one answer-sized request, at least a minute.
const SLACK = 8;

let model, server, browser, page, problems, budget;

async function measureAnswerMs() {
  const prompt = "Summarize the policy. " + "Employees receive paid vacation and parental leave. ".repeat(60);
  const started = Date.now();
  const res = await fetch(model.url + "/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: "gemma-3-270m", max_tokens: 64, temperature: 0, messages: [{ role: "user", content: prompt }] }),
  });
  assert.equal(res.status, 200, await res.text());
  return Date.now() - started;
}

async function ask(question) {
  await page.fill("#composer-input", question);
  await page.press("#composer-input", "Enter");
}

describe("web UI with the real local model (Gemma 3 270M)", { timeout: 3_600_000 }, () => {
  before(async () => {
    model = await startLocalModel({ context: 2048 });
    await measureAnswerMs(); // warm-up: the first request maps the weights
    const answerMs = await measureAnswerMs();
    budget = Math.max(60_000, SLACK * answerMs);
    console.log(`model speed: one answer-sized request in ${answerMs} ms; waits up to ${budget} ms`);
    server = await startServer({ llmUrl: model.url, args: [...SERVER_ARGS, "--llm-timeout-seconds", String(Math.ceil(budget / 1000))] });
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    problems = watchProblems(page);
  });
  after(async () => {
    await browser?.close();
    server?.stop();
    model?.stop();
  });

  it("uploads the sample documents", async () => {
    await page.goto(server.url + "/");
    await page.getByRole("tab", { name: "Documents" }).click();
    const files = readdirSync(SAMPLES).map((f) => join(SAMPLES, f));
    await page.setInputFiles("#file-picker", files);
    await page.locator(".upload.ok").nth(files.length - 1).waitFor({ timeout: 120_000 });
    await shot(page, "real-01-upload");
  });

  it("shows the real model and its endpoint in Settings", async () => {
    await page.getByRole("button", { name: "Settings" }).click();
    await page.locator("#settings-model").filter({ hasText: "gemma-3-270m" }).waitFor();
    assert.equal(await page.locator("#settings-endpoint").innerText(), model.url);
    await page.fill("#set-topk", "3");
    await shot(page, "real-02-settings");
    await page.getByRole("button", { name: "Save" }).click();
  });

  it("streams a generated answer token by token and opens a cited passage", async () => {
    await page.getByRole("tab", { name: "Chat" }).click();
    const growth = [];
    await ask("How many days of paid vacation do new employees get?");
    const exchange = page.locator(".exchange").last();
    const body = exchange.locator(".answer-body");
    const done = exchange.locator(".answer-actions button", { hasText: "Regenerate" });
    // Sample the text while it streams: it must be seen growing before the final event.
    const deadline = Date.now() + budget;
    while (!(await done.isVisible())) {
      assert.ok(Date.now() < deadline, `no complete answer within ${budget} ms`);
      growth.push((await body.innerText()).length);
      await page.waitForTimeout(50);
    }
    const distinct = new Set(growth.filter((n) => n > 0));
    assert.ok(distinct.size >= 2, `no partial answers were seen while streaming: ${[...distinct]}`);
    assert.match(await exchange.innerText(), /answered by gemma-3-270m/);
    await shot(page, "real-03-streamed-answer");
    // Inline chip when the model cited [n]; else the answer's source list (same panel).
    const chip = body.locator("button.chip");
    await ((await chip.count()) > 0 ? chip.first() : exchange.locator("button.source-link").first()).click();
    const panel = page.locator(".source-panel");
    await panel.locator("mark").first().waitFor({ timeout: 60_000 });
    assert.match(await panel.innerText(), /\.(md|pdf|docx|html|txt)/);
    await shot(page, "real-04-citation");
    await page.keyboard.press("Escape");
  });

  it("stop cancels the generation on the server", async () => {
    await ask("Describe every benefit and policy in the handbook in detail, one long paragraph each.");
    const exchange = page.locator(".exchange").last();
    await exchange.locator(".answer-body").filter({ hasText: /\S/ }).waitFor({ timeout: budget });
    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByText("Stopped — the answer above is incomplete.").waitFor();
    await shot(page, "real-05-stopped");
    let logged = false;
    for (let i = 0; i < 100 && !logged; i++) {
      logged = server.log().includes("answer stream cancelled by the client");
      if (!logged) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(logged, `the server did not log the cancellation:\n${server.log().slice(-2000)}`);
    assert.deepEqual(problems, []);
  });
});
