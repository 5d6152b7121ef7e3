// Writes tests/fixtures/parse/sample.msg: an Outlook message ([MS-OXMSG]) built
// with SheetJS's compound-file writer (the `cfb` package, an independent CFB
// implementation), then checked with Debian's msgconvert (libemail-outlook-message-perl),
// an independent .msg reader. Dev-only; the output is committed:
//   npm install --prefix /tmp/xlsbgen xlsx@0.18.5      (brings cfb)
//   apt-get install libemail-outlook-message-perl
//   NODE_PATH=/tmp/xlsbgen/node_modules node scripts/make_msg_fixture.mjs
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const require = createRequire(import.meta.url);
const CFB = require("cfb");
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "tests", "fixtures", "parse", "sample.msg");

const utf16 = (s) => Buffer.from(s + "\0", "utf16le");
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const filetime = (iso) => {
  const ticks = (BigInt(Date.parse(iso)) + 11644473600000n) * 10000n;
  const b = Buffer.alloc(8); b.writeBigUInt64LE(ticks); return b;
};
// __properties_version1.0: a header (32 bytes message, 24 embedded message, 8 others), then 16-byte entries.
const properties = (headerBytes, entries, counts = [0, 0, 0, 0]) => {
  const header = Buffer.alloc(headerBytes);
  if (headerBytes >= 24) counts.forEach((c, i) => header.writeUInt32LE(c, 8 + 4 * i));
  return Buffer.concat([header, ...entries.map(([tag, value]) => Buffer.concat([u32(tag), u32(6), value]))]);
};
const int32 = (v) => Buffer.concat([u32(v), u32(0)]);

const cfb = CFB.utils.cfb_new();
const add = (name, data) => CFB.utils.cfb_add(cfb, "/" + name, data);
const str = (dir, id, text) => add(`${dir}__substg1.0_${id}001F`, utf16(text));

// The message.
str("", "0037", "Quarterly résumé");
str("", "0C1A", "Ada Lovelace");
str("", "5D01", "ada@example.com");
str("", "0E04", "Team Kaito");
str("", "0E03", "Grace Hopper");
str("", "1000", "Café numbers are up.\r\nDetails attached.\r\n\r\nThe Zürich office reports a record quarter.\r\n");
add("__properties_version1.0", properties(32, [[0x00390040, filetime("2024-01-02T10:30:00Z")]], [1, 3, 1, 3]));
add("__nameid_version1.0/__substg1.0_00020102", Buffer.alloc(0));
add("__nameid_version1.0/__substg1.0_00030102", Buffer.alloc(0));
add("__nameid_version1.0/__substg1.0_00040102", Buffer.alloc(0));
// One recipient (To).
str("__recip_version1.0_#00000000/", "3001", "Team Kaito");
str("__recip_version1.0_#00000000/", "39FE", "team@example.com");
add("__recip_version1.0_#00000000/__properties_version1.0", properties(8, [[0x0C150003, int32(1)]]));
// Attachment 0: a CSV file (attach method 1, by value).
const a0 = "__attach_version1.0_#00000000/";
str(a0, "3707", "stock.csv");
str(a0, "3704", "stock.csv");
add(`${a0}__substg1.0_37010102`, Buffer.from("sku,qty\nA1,4\nB7,12\n"));
add(`${a0}__properties_version1.0`, properties(8, [[0x37050003, int32(1)]]));
// Attachment 1: an embedded message (attach method 5), its properties in a storage.
const a1 = "__attach_version1.0_#00000001/";
str(a1, "3001", "Supplier note");
add(`${a1}__properties_version1.0`, properties(8, [[0x37050003, int32(5)]]));
const inner = `${a1}__substg1.0_3701000D/`;
str(inner, "0037", "Supplier note");
str(inner, "0C1A", "Lin Wu");
str(inner, "1000", "The supplier ships the spare parts on Friday.");
add(`${inner}__properties_version1.0`, properties(24, [[0x00390040, filetime("2023-12-29T08:00:00Z")]]));
// Attachment 2: bytes of no known type (a warning, not a failure).
const a2 = "__attach_version1.0_#00000002/";
str(a2, "3707", "blob.bin");
add(`${a2}__substg1.0_37010102`, Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]));
add(`${a2}__properties_version1.0`, properties(8, [[0x37050003, int32(1)]]));

// The writer adds a placeholder stream "\u0001Sh33tJ5" to the root; .msg readers ignore unknown streams.
fs.writeFileSync(out, CFB.write(cfb, { type: "buffer", fileType: "cfb" }));

// Independent check: msgconvert must read the same message.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msg-"));
const eml = path.join(dir, "sample.eml");
execFileSync("msgconvert", ["--outfile", eml, out]);
const text = fs.readFileSync(eml, "latin1");
for (const needle of ["Subject: Quarterly r", "From: Ada Lovelace", "To: Team Kaito <team@example.com>", "Cc: Grace Hopper",
                      "Date: Tue, 02 Jan 2024 10:30:00", "filename=stock.csv", "Subject: Supplier note", "ships the spare parts"]) {
  if (!text.includes(needle)) throw new Error(`msgconvert output lacks ${needle}:\n${text}`);
}
fs.rmSync(dir, { recursive: true });
console.log("wrote", out);
