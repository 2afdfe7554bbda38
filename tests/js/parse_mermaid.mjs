// Parse mermaid diagrams with mermaid's own parser: stdin is a JSON list of diagram texts,
// stdout a JSON list of {ok, type} or {ok: false, error}. mermaid needs a DOM: jsdom gives one.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });

const results = [];
for (const text of JSON.parse(readFileSync(0, "utf8"))) {
  try {
    const parsed = await mermaid.parse(text);
    results.push({ ok: true, type: parsed.diagramType });
  } catch (error) {
    results.push({ ok: false, error: String((error && error.message) || error).slice(0, 800) });
  }
}
process.stdout.write(JSON.stringify(results));
