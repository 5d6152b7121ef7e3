// Where a cited passage lies in the text a viewer shows. PDF text from the server's parser
// (poppler) and from pdf.js differ in spaces, hyphens and ligatures, so both sides are reduced
// to lower-case letters and digits before matching; a passage that is not found whole is
// located by its first and last words (anchors), the way a reader would find it.

export interface TextRange {
  piece: number; // index into the pieces (e.g. text-layer spans)
  start: number; // character offsets within that piece
  end: number;
}

interface Folded {
  text: string;
  // For each folded character: which piece and offset it came from.
  piece: number[];
  offset: number[];
}

function fold(pieces: string[]): Folded {
  const out: Folded = { text: "", piece: [], offset: [] };
  pieces.forEach((piece, p) => {
    for (let i = 0; i < piece.length; ) {
      const cp = piece.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      const width = ch.length;
      // NFKD splits ligatures (ﬁ -> fi) and strips accents into combining marks we drop.
      for (const c of ch.normalize("NFKD").toLowerCase()) {
        if (/[\p{L}\p{N}]/u.test(c)) {
          out.text += c;
          out.piece.push(p);
          out.offset.push(i);
        }
      }
      i += width;
    }
  });
  return out;
}

export function foldText(text: string): string {
  return fold([text]).text;
}

const MIN_ANCHOR = 16;

// The longest prefix of `needle` that occurs in `hay` (prefixes that occur are nested, so
// binary search works); returns [position, length] or null when shorter than MIN_ANCHOR.
function longestPrefix(hay: string, needle: string): [number, number] | null {
  let lo = 0;
  let hi = needle.length;
  let at = -1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const found = hay.indexOf(needle.slice(0, mid));
    if (found >= 0) {
      lo = mid;
      at = found;
    } else {
      hi = mid - 1;
    }
  }
  return lo >= Math.min(MIN_ANCHOR, needle.length) && at >= 0 ? [hay.indexOf(needle.slice(0, lo)), lo] : null;
}

function longestSuffix(hay: string, needle: string): [number, number] | null {
  const reverse = (s: string) => [...s].reverse().join("");
  const r = longestPrefix(reverse(hay), reverse(needle));
  return r ? [hay.length - r[0] - r[1], r[1]] : null;
}

// The ranges of `pieces` that hold `passage`, in order; empty when it cannot be found.
// Not found whole, the passage is bounded by its longest matching start and end: the part
// on this page when it crosses a page break, or both ends around a differently extracted middle.
export function locatePassage(pieces: string[], passage: string): TextRange[] {
  const hay = fold(pieces);
  const needle = foldText(passage);
  if (!needle || !hay.text) return [];
  const whole = hay.text.indexOf(needle);
  if (whole >= 0) return toRanges(hay, pieces, whole, whole + needle.length);
  const head = longestPrefix(hay.text, needle);
  const tail = longestSuffix(hay.text, needle);
  if (head && tail && tail[0] >= head[0] && tail[0] + tail[1] - head[0] <= needle.length * 1.5) {
    return toRanges(hay, pieces, head[0], tail[0] + tail[1]);
  }
  const best = head && (!tail || head[1] >= tail[1]) ? head : tail;
  return best ? toRanges(hay, pieces, best[0], best[0] + best[1]) : [];
}

function toRanges(hay: Folded, pieces: string[], begin: number, end: number): TextRange[] {
  const ranges: TextRange[] = [];
  for (let k = begin; k < end; ) {
    const p = hay.piece[k];
    const start = hay.offset[k];
    let last = k;
    while (last + 1 < end && hay.piece[last + 1] === p) last++;
    const lastOffset = hay.offset[last];
    const cp = pieces[p].codePointAt(lastOffset)!;
    ranges.push({ piece: p, start, end: lastOffset + String.fromCodePoint(cp).length });
    k = last + 1;
  }
  return ranges;
}

// The sentences of `chunk` that best support `claim` (most shared words), as [start, end)
// character ranges of `chunk`; used to point at the exact lines inside a cited passage.
export function supportingSentences(chunk: string, claim: string, max = 2): Array<[number, number]> {
  const words = (s: string) => new Set(foldWords(s));
  const wanted = words(claim);
  if (wanted.size === 0) return [];
  const sentences: Array<[number, number, number]> = [];
  const re = /[^.!?\n]+[.!?]*/g;
  for (let m = re.exec(chunk); m; m = re.exec(chunk)) {
    const text = m[0];
    if (!text.trim()) continue;
    let shared = 0;
    for (const w of words(text)) if (wanted.has(w)) shared++;
    const lead = text.length - text.trimStart().length;
    if (shared > 0) sentences.push([m.index + lead, m.index + text.trimEnd().length, shared]);
  }
  sentences.sort((a, b) => b[2] - a[2] || a[0] - b[0]);
  return sentences
    .slice(0, max)
    .map(([s, e]) => [s, e] as [number, number])
    .sort((a, b) => a[0] - b[0]);
}

const STOP = new Set("the a an of to in is are and or for on at by with do does how what when where which who i my you your it be can".split(" "));

function foldWords(s: string): string[] {
  return s
    .normalize("NFKD")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 1 && !STOP.has(w));
}
