import { describe, expect, it } from "vitest";
import { SseParser } from "../../src/sse";

describe("SseParser", () => {
  it("parses named events split across arbitrary chunks", () => {
    const stream = 'event: token\ndata: {"delta":"Hel"}\n\nevent: token\r\ndata: {"delta":"lo"}\r\n\r\nevent: done\ndata: {"answer":"Hello"}\n\n';
    const parser = new SseParser();
    const events = [];
    for (let i = 0; i < stream.length; i += 7) events.push(...parser.push(stream.slice(i, i + 7)));
    expect(events).toEqual([
      { event: "token", data: '{"delta":"Hel"}' },
      { event: "token", data: '{"delta":"lo"}' },
      { event: "done", data: '{"answer":"Hello"}' },
    ]);
  });

  it("joins multi-line data, ignores comments and defaults the event name", () => {
    const parser = new SseParser();
    expect(parser.push(": keep-alive\ndata: a\ndata: b\n\ndata: [DONE]\n\n")).toEqual([
      { event: "message", data: "a\nb" },
      { event: "message", data: "[DONE]" },
    ]);
  });

  it("waits for the rest of a CRLF split between chunks", () => {
    const parser = new SseParser();
    expect(parser.push("data: x\r")).toEqual([]);
    expect(parser.push("\n\r\n")).toEqual([{ event: "message", data: "x" }]);
  });
});
