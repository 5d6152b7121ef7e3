// Writes tests/fixtures/parse/sample.xlsb with SheetJS (an independent XLSB
// writer, so the reader is not tested against our own idea of the format).
// Dev-only; the output is committed:
//   npm install --prefix /tmp/xlsbgen xlsx@0.18.5
//   NODE_PATH=/tmp/xlsbgen/node_modules node scripts/make_xlsb_fixture.mjs
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const require = createRequire(import.meta.url);
const XLSX = require("xlsx");
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "tests", "fixtures", "parse", "sample.xlsb");

const book = XLSX.utils.book_new();
// Strings (shared), integers and fractions (RK and IEEE doubles), booleans, a
// gap between columns, a formula with its cached value, and non-ASCII text.
const inventory = XLSX.utils.aoa_to_sheet([
  ["Region", "Quarter", "Revenue", "Share", "Audited"],
  ["North", "Q1", 1250, 0.25, true],
  ["Süd", "Q2", 98765.4321, 0.125, false],
  ["East", "Q3", -42, 1e-7, true],
]);
inventory["F1"] = { t: "s", v: "Total" };
inventory["F2"] = { t: "n", v: 1250.25, f: "C2+D2" };
inventory["!ref"] = "A1:F4";
XLSX.utils.book_append_sheet(book, inventory, "Revenue 2024");
const notes = XLSX.utils.aoa_to_sheet([["Notes"], ["Kaito reads binary workbooks."], [], ["Zürich office opened in March."]]);
XLSX.utils.book_append_sheet(book, notes, "Notes");
XLSX.writeFile(book, out, { bookType: "xlsb", bookSST: true, compression: true });
console.log("wrote", out);
