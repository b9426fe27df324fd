/**
 * A small XML reader for the Flex Web Service's answers: elements, attributes, text, comments,
 * processing instructions and CDATA. Flex statements are flat (a few levels, data in attributes),
 * so this is all they need. It refuses what it does not need and what attacks parsers: a DOCTYPE
 * (entity definitions, expansion bombs), nesting deeper than 32, more than 1,000 attributes on one
 * element, and input over 64 MiB. Attribute maps have no prototype (a "__proto__" attribute is just
 * a key). Malformed input is an XmlError naming the offset, never a crash or a partial tree.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (children's text not included), entities decoded, trimmed. */
  text: string;
}

export class XmlError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = 'XmlError';
  }
}

export const XML_LIMITS = { maxBytes: 64 * 1024 * 1024, maxDepth: 32, maxAttributes: 1000 };

const NAME = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
const ATTR = /\s*([A-Za-z_:][A-Za-z0-9_:.-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;
const ENTITY = /&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the five named entities and character references; other `&` text is kept as it is. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (whole, ref: string) => {
    const named = NAMED[ref];
    if (named !== undefined) return named;
    const cp = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
    // Not a character: NUL, surrogates, beyond Unicode. Kept as written.
    if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return whole;
    return String.fromCodePoint(cp);
  });
}

/** Parses a whole document; its root element. */
export function parseXml(input: string): XmlElement {
  if (input.length > XML_LIMITS.maxBytes) throw new XmlError('document too large', XML_LIMITS.maxBytes);
  const stack: XmlElement[] = [];
  const texts: string[][] = [];
  let root: XmlElement | undefined;
  let i = input.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = input.length;

  while (i < n) {
    const lt = input.indexOf('<', i);
    const end = lt === -1 ? n : lt;
    if (end > i) {
      const chunk = input.slice(i, end);
      if (stack.length > 0) texts[texts.length - 1]?.push(chunk);
      else if (chunk.trim() !== '') throw new XmlError('text outside the root element', i);
    }
    if (lt === -1) break;
    i = lt;
    const next = input[i + 1];
    if (next === '?') {
      const close = input.indexOf('?>', i + 2);
      if (close === -1) throw new XmlError('unterminated processing instruction', i);
      i = close + 2;
      continue;
    }
    if (next === '!') {
      if (input.startsWith('<!--', i)) {
        const close = input.indexOf('-->', i + 4);
        if (close === -1) throw new XmlError('unterminated comment', i);
        i = close + 3;
        continue;
      }
      if (input.startsWith('<![CDATA[', i)) {
        const close = input.indexOf(']]>', i + 9);
        if (close === -1) throw new XmlError('unterminated CDATA section', i);
        if (stack.length === 0) throw new XmlError('CDATA outside the root element', i);
        // Marked so that decoding leaves it as it is.
        texts[texts.length - 1]?.push(`\u0000${input.slice(i + 9, close)}`);
        i = close + 3;
        continue;
      }
      throw new XmlError('DOCTYPE and declarations are not accepted', i);
    }
    if (next === '/') {
      NAME.lastIndex = i + 2;
      const m = NAME.exec(input);
      if (!m) throw new XmlError('malformed end tag', i);
      const open = stack.pop();
      if (!open || open.name !== m[0]) throw new XmlError(`end tag </${m[0]}> does not match`, i);
      open.text = joinText(texts.pop() ?? []);
      let j = NAME.lastIndex;
      while (j < n && isSpace(input.charCodeAt(j))) j++;
      if (input[j] !== '>') throw new XmlError('malformed end tag', i);
      i = j + 1;
      if (stack.length === 0) root = open;
      continue;
    }
    // A start tag.
    if (root) throw new XmlError('a second root element', i);
    NAME.lastIndex = i + 1;
    const m = NAME.exec(input);
    if (!m) throw new XmlError('malformed tag', i);
    const el: XmlElement = { name: m[0], attrs: Object.create(null) as Record<string, string>, children: [], text: '' };
    let j = NAME.lastIndex;
    let count = 0;
    for (;;) {
      ATTR.lastIndex = j;
      const a = ATTR.exec(input);
      if (!a) break;
      if (++count > XML_LIMITS.maxAttributes) throw new XmlError('too many attributes', j);
      const name = a[1] as string;
      if (Object.hasOwn(el.attrs, name)) throw new XmlError(`attribute ${name} repeated`, j);
      el.attrs[name] = decodeEntities(a[2] ?? a[3] ?? '');
      j = ATTR.lastIndex;
    }
    while (j < n && isSpace(input.charCodeAt(j))) j++;
    let selfClosing = false;
    if (input[j] === '/') {
      selfClosing = true;
      j++;
    }
    if (input[j] !== '>') throw new XmlError(`malformed tag <${el.name}>`, i);
    i = j + 1;
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    if (selfClosing) {
      if (!parent) root = el;
      continue;
    }
    if (stack.length >= XML_LIMITS.maxDepth) throw new XmlError('nested too deeply', i);
    stack.push(el);
    texts.push([]);
  }
  if (stack.length > 0) throw new XmlError(`<${stack[stack.length - 1]?.name}> is not closed`, n);
  if (!root) throw new XmlError('no root element', n);
  return root;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function joinText(parts: string[]): string {
  if (parts.length === 0) return '';
  return parts
    .map((p) => (p.charCodeAt(0) === 0 ? p.slice(1) : decodeEntities(p)))
    .join('')
    .trim();
}

/** The first child element with this name. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

/** Every element with this name below `el`, at any depth, in document order. */
export function descendants(el: XmlElement, name: string, out: XmlElement[] = []): XmlElement[] {
  for (const c of el.children) {
    if (c.name === name) out.push(c);
    if (c.children.length > 0) descendants(c, name, out);
  }
  return out;
}
