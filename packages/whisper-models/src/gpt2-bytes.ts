// GPT-2's byte-level BPE shows every byte as a printable unicode character; ggml vocabularies hold raw bytes.

let decoder: Map<string, number> | undefined;

/** byte → printable character, as in openai/gpt-2 `bytes_to_unicode`. */
export function bytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  return new Map(bs.map((b, i) => [b, String.fromCodePoint(cs[i])]));
}

/** The raw bytes of a byte-level BPE token string (characters outside the map are kept as UTF-8). */
export function tokenToBytes(token: string): Buffer {
  decoder ??= new Map([...bytesToUnicode()].map(([b, c]) => [c, b]));
  const out: number[] = [];
  for (const ch of token) {
    const b = decoder.get(ch);
    if (b === undefined) out.push(...Buffer.from(ch, 'utf8'));
    else out.push(b);
  }
  return Buffer.from(out);
}
