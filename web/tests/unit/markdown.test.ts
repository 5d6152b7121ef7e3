import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../src/markdown";

function html(md: string, citation?: (n: number) => HTMLElement | null): string {
  const div = document.createElement("div");
  div.append(renderMarkdown(md, { citation }));
  return div.innerHTML;
}

describe("renderMarkdown", () => {
  it("renders paragraphs, emphasis, code, lists and headings", () => {
    expect(html("# Leave\n\nNew staff get **25 days** and *pro rata* `leave`.\n\n- one\n- two\n\n1. first\n2. second")).toBe(
      "<h3>Leave</h3><p>New staff get <strong>25 days</strong> and <em>pro rata</em> <code>leave</code>.</p>" +
        "<ul><li>one</li><li>two</li></ul><ol><li>first</li><li>second</li></ol>",
    );
  });

  it("never turns HTML in the text into elements", () => {
    const div = document.createElement("div");
    div.append(renderMarkdown('<img src=x onerror="alert(1)"> and <script>alert(2)</script>\n\n**<b>bold</b>**'));
    expect(div.querySelector("img, script, b")).toBeNull();
    expect(div.textContent).toContain('<img src=x onerror="alert(1)">');
    expect(div.querySelector("strong")!.textContent).toBe("<b>bold</b>");
  });

  it("keeps only http, https and mailto links, opened safely", () => {
    const div = document.createElement("div");
    div.append(renderMarkdown("[ok](https://example.com/a) [bad](javascript:alert(1)) [data](data:text/html,x)"));
    const links = div.querySelectorAll("a");
    expect(links).toHaveLength(1);
    expect(links[0].getAttribute("href")).toBe("https://example.com/a");
    expect(links[0].rel).toContain("noopener");
    expect(div.textContent).toContain("bad");
  });

  it("turns citation markers into the elements the caller builds, and leaves unknown ones as text", () => {
    const chip = (n: number) => {
      if (n > 2) return null;
      const b = document.createElement("button");
      b.textContent = String(n);
      return b;
    };
    expect(html("Vacation is 25 days [1]. Also [1, 2]. Not [7].", chip)).toBe(
      "<p>Vacation is 25 days <button>1</button>. Also <button>1</button><button>2</button>. Not [7].</p>",
    );
  });

  it("keeps fenced code verbatim", () => {
    expect(html("```\n<b>*x*</b>\n```")).toBe("<pre><code>&lt;b&gt;*x*&lt;/b&gt;</code></pre>");
  });
});

describe("renderMarkdown on odd input", () => {
  it("terminates on lines no block rule takes", () => {
    expect(html("```js not a fence\ntext")).toBe("<p>```js not a fence</p><p>text</p>");
  });
});
