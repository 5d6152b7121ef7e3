// Kaito-RAG's OpenAI-compatible API through the official openai npm package.
// Run by tests/e2e/test_openai_compat.py with KAITO_RAG_URL (server) and KAITO_RAG_COLLECTION set.
import assert from "node:assert/strict";
import { test } from "node:test";
import OpenAI from "openai";

const base = process.env.KAITO_RAG_URL;
const collection = process.env.KAITO_RAG_COLLECTION ?? "handbook";
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
const question = "How long is paid parental leave?";

test("models lists the collection", async () => {
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  assert.ok(ids.includes(collection), ids.join(","));
});

test("non-streaming chat with index_name returns the answer and source_nodes", async () => {
  const completion = await client.chat.completions.create({
    model: "ignored-when-index_name-is-set",
    messages: [{ role: "user", content: question }],
    index_name: collection,
  });
  assert.match(completion.id, /^chatcmpl-/);
  assert.equal(completion.object, "chat.completion");
  assert.match(completion.choices[0].message.content, /20 weeks/);
  assert.ok(Array.isArray(completion.source_nodes) && completion.source_nodes.length > 0);
  assert.ok(completion.source_nodes.every((n) => n.node_id && n.doc_id && typeof n.score === "number"));
});

test("streaming chat with model = collection", async () => {
  const stream = await client.chat.completions.create({
    model: collection,
    messages: [{ role: "user", content: question }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let finish = null;
  let sources = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    text += choice.delta?.content ?? "";
    if (choice.finish_reason) {
      finish = choice.finish_reason;
      sources = chunk.source_nodes;
    }
  }
  assert.match(text, /20 weeks/);
  assert.equal(finish, "stop");
  assert.ok(Array.isArray(sources) && sources.length > 0);
  assert.ok(usage && usage.total_tokens > 0);
});

test("an unknown index is a NotFoundError", async () => {
  await assert.rejects(
    client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }], index_name: "nope" }),
    (err) => err instanceof OpenAI.NotFoundError && err.status === 404,
  );
});
