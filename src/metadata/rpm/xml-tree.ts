import { Parser } from 'saxen';
import { RepodError } from '../../errors.ts';
import { escapeAttr, escapeText } from '../xml.ts';

/**
 * A small XML document held whole as a tree (comps, updateinfo: kilobytes to a few megabytes, read
 * once per upload). Attribute order and mixed text are kept, so a document can be written back;
 * comments and processing instructions are dropped.
 */
export interface XmlElement {
  name: string;
  attrs: Array<[string, string]>;
  children: XmlNode[];
}

export type XmlNode = XmlElement | string;

const ENTITY = /&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML 1.0's predefined entities and character references (a document without a DTD has no others). */
function decode(raw: string, fail: (message: string) => never): string {
  if (raw.indexOf('&') === -1) return raw;
  const decoded = raw.replace(ENTITY, (whole, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (name !== undefined) return NAMED[name];
    const code = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex!, 16);
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) fail(`the character reference ${whole} is not allowed in XML`);
    return String.fromCodePoint(code);
  });
  if (/&(?!amp;|lt;|gt;|quot;|apos;|#)/.test(raw)) fail(`unknown entity in ${JSON.stringify(raw.slice(0, 60))}`);
  return decoded;
}

/**
 * Parses a whole XML document into its root element. Any well-formedness problem throws a
 * RepodError with `code` (status 400) that says what and where.
 */
export function parseXmlTree(text: string, code: string, what: string): XmlElement {
  const fail = (message: string): never => {
    throw new RepodError(code, `${what} is not well-formed XML: ${message}`, { status: 400 });
  };
  if (text.trim() === '') fail('the document is empty');
  const parser = new Parser();
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const where = (context: () => { line: number; column: number }) => {
    const { line, column } = context();
    return ` (line ${line + 1}, column ${column + 1})`;
  };
  parser.on('error', (error, context) => fail(error.message + where(context)));
  parser.on('warn', (error, context) => fail(error.message + where(context)));
  parser.on('openTag', (name, getAttrs, _decode, selfClosing, context) => {
    if (root && stack.length === 0) fail(`a second root element <${name}>${where(context)}`);
    const raw = getAttrs();
    const attrs: Array<[string, string]> = raw ? Object.entries(raw).map(([k, v]) => [k, decode(v, fail)]) : [];
    const element: XmlElement = { name, attrs, children: [] };
    if (stack.length > 0) stack[stack.length - 1].children.push(element);
    else root = element;
    // saxen sends a closeTag for a self-closing element too.
    stack.push(element);
    void selfClosing;
  });
  parser.on('closeTag', (name, _decode, _selfClosing, context) => {
    const open = stack.pop();
    if (!open || open.name !== name) fail(`</${name}> does not close <${open?.name ?? ''}>${where(context)}`);
  });
  parser.on('text', (raw, _decode, context) => {
    if (stack.length === 0) {
      if (raw.trim() !== '') fail(`text outside the root element${where(context)}`);
      return;
    }
    stack[stack.length - 1].children.push(decode(raw, fail));
  });
  parser.on('cdata', (raw) => {
    if (stack.length > 0) stack[stack.length - 1].children.push(raw);
  });
  const error = parser.parse(text);
  if (error) fail(error.message);
  if (!root) fail('no root element');
  if (stack.length > 0) fail(`<${stack[stack.length - 1].name}> is never closed`);
  return root!;
}

/** Child elements named `name`. */
export function childElements(element: XmlElement, name?: string): XmlElement[] {
  return element.children.filter((c): c is XmlElement => typeof c !== 'string' && (name === undefined || c.name === name));
}

export function attr(element: XmlElement, name: string): string | undefined {
  return element.attrs.find(([k]) => k === name)?.[1];
}

/** The element's text, its children's included. */
export function textOf(element: XmlElement): string {
  return element.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

/**
 * Writes an element the way createrepo_c lays out its metadata: two spaces of indentation per
 * level, an element with only text on one line, an empty one self-closed. Whitespace-only text
 * between elements is layout and is replaced by this indentation.
 */
export function writeXmlElement(element: XmlElement, depth: number): string {
  const pad = '  '.repeat(depth);
  let open = `${pad}<${element.name}`;
  for (const [k, v] of element.attrs) open += ` ${k}="${escapeAttr(v)}"`;
  const elements = childElements(element);
  const text = element.children.filter((c): c is string => typeof c === 'string').join('');
  if (elements.length === 0) return text === '' ? `${open}/>\n` : `${open}>${escapeText(text)}</${element.name}>\n`;
  if (text.trim() !== '') {
    // Mixed content is kept as it came (no indentation may be added inside it).
    return `${open}>${element.children.map((c) => (typeof c === 'string' ? escapeText(c) : writeXmlElement(c, 0).trimEnd())).join('')}</${element.name}>\n`;
  }
  return `${open}>\n${elements.map((c) => writeXmlElement(c, depth + 1)).join('')}${pad}</${element.name}>\n`;
}
