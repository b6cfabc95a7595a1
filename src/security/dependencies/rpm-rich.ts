/**
 * RPM rich (boolean) dependencies, rpm >= 4.13: `(a or b)`, `(a and (b >= 2 or c))`,
 * `(a with b)`, `(a if b else c)`. The grammar follows rpm's rpmrich.c: a rich dependency is a
 * parenthesised chain of operands joined by one operator (`and`, `or`, `with` chain; `if` and
 * `unless` take an optional `else`; `without` takes two operands); an operand is a nested rich
 * dependency or a simple one, `name [op version]`. A simple name ends at white space or at a ')'
 * that closes nothing inside the name, so `libfoo.so.1()(64bit)` stays one name.
 *
 * What the dependencies step checks: `and`, `or`, `with`, `without`. `if` and `unless` make a
 * requirement depend on what else ends up installed, which repoclosure cannot know: they are
 * returned as `unchecked` (satisfied, with a note).
 */
import type { Relation, Requirement } from './model.ts';

const OPERATORS: Record<string, Relation> = { '<': '<', '<=': '<=', '=': '=', '==': '=', '>=': '>=', '>': '>', '=<': '<=', '=>': '>=' };
const KEYWORDS = new Set(['and', 'or', 'if', 'unless', 'else', 'with', 'without']);

/** Parses a rich dependency (text starting with '('); malformed text gives an `invalid` requirement. */
export function parseRichDependency(text: string): Requirement {
  const parser = new RichParser(text);
  try {
    const result = parser.rich();
    parser.skipSpace();
    if (!parser.done()) return { kind: 'invalid', reason: `unexpected text after the rich dependency at offset ${parser.at}` };
    return result;
  } catch (error) {
    if (error instanceof RichSyntaxError) return { kind: 'invalid', reason: error.message };
    throw error;
  }
}

/** A simple dependency as a requirement: a path is a file dependency. */
export function simpleRequirement(name: string, relation?: Relation, version?: string): Requirement {
  if (name.startsWith('/') && relation === undefined) return { kind: 'file', path: name };
  return { kind: 'name', name, ...(relation && version ? { relation, version } : {}) };
}

class RichSyntaxError extends Error {}

class RichParser {
  at = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.at >= this.text.length;
  }

  skipSpace(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at]!)) this.at++;
  }

  private fail(message: string): never {
    throw new RichSyntaxError(`${message} at offset ${this.at}`);
  }

  /** rpm's SKIPNONWHITEX: a token ends at white space, ',' or a ')' closing nothing inside it. */
  private token(): string {
    const start = this.at;
    let depth = 0;
    while (this.at < this.text.length) {
      const c = this.text[this.at]!;
      if (/\s/.test(c) || c === ',') break;
      if (c === ')') {
        if (depth <= 0) break;
        depth--;
      } else if (c === '(') depth++;
      this.at++;
    }
    return this.text.slice(start, this.at);
  }

  rich(): Requirement {
    this.skipSpace();
    if (this.text[this.at] !== '(') this.fail("expected '('");
    this.at++;
    const first = this.operand();
    const operands = [first];
    let op: string | undefined;
    let elseBranch: Requirement | undefined;
    for (;;) {
      this.skipSpace();
      if (this.done()) this.fail("missing ')'");
      if (this.text[this.at] === ')') {
        this.at++;
        break;
      }
      const word = this.token();
      if (!KEYWORDS.has(word)) this.fail(`expected an operator, found '${word}'`);
      if (word === 'else') {
        if ((op !== 'if' && op !== 'unless') || operands.length !== 2 || elseBranch) this.fail("'else' only follows 'if' or 'unless'");
        elseBranch = this.operand();
        continue;
      }
      if (op === undefined) op = word;
      else if (op !== word || op === 'if' || op === 'unless' || op === 'without') this.fail(`'${word}' cannot follow '${op}' without parentheses`);
      operands.push(this.operand());
    }
    if (op === undefined) return first;
    switch (op) {
      case 'and':
        return { kind: 'and', of: operands };
      case 'or':
        return { kind: 'or', of: operands };
      case 'with':
        return operands.every(isSimple) ? { kind: 'with', of: operands } : { kind: 'unchecked', reason: "'with' over nested rich dependencies is not checked" };
      case 'without':
        return isSimple(operands[0]!) && isSimple(operands[1]!)
          ? { kind: 'without', base: operands[0]!, not: operands[1]! }
          : { kind: 'unchecked', reason: "'without' over nested rich dependencies is not checked" };
      default:
        return { kind: 'unchecked', reason: `'${op}' depends on what else is installed; not checked by repoclosure` };
    }
  }

  private operand(): Requirement {
    this.skipSpace();
    if (this.done()) this.fail('missing operand');
    if (this.text[this.at] === '(') return this.rich();
    const name = this.token();
    if (name === '' || KEYWORDS.has(name)) this.fail(`expected a dependency, found '${name}'`);
    // An operator may follow: `name >= 1.0`.
    const save = this.at;
    this.skipSpace();
    const opStart = this.at;
    while (this.at < this.text.length && '<=>'.includes(this.text[this.at]!)) this.at++;
    const op = this.text.slice(opStart, this.at);
    if (op === '') {
      this.at = save;
      return simpleRequirement(name);
    }
    const relation = OPERATORS[op];
    if (!relation) this.fail(`unknown comparison '${op}'`);
    this.skipSpace();
    const version = this.token();
    if (version === '') this.fail(`missing version after '${op}'`);
    return simpleRequirement(name, relation, version);
  }
}

function isSimple(r: Requirement): boolean {
  return r.kind === 'name' || r.kind === 'file';
}
