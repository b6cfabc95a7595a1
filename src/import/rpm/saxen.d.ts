/**
 * Types for saxen 11 (the package ships none), limited to what repod uses: the non-proxy,
 * non-namespace streaming mode. Attribute values and text arrive raw; `decodeEntities` is saxen's
 * own decoder, which the readers here do not use (see xml-text.ts).
 */
declare module 'saxen' {
  export type DecodeEntities = (text: string) => string;
  export type ContextGetter = () => { line: number; column: number; data?: string };

  export class Parser {
    constructor(options?: { proxy?: false });
    on(event: 'openTag', handler: (name: string, attrs: () => Record<string, string> | false, decode: DecodeEntities, selfClosing: boolean, context: ContextGetter) => void): this;
    on(event: 'closeTag', handler: (name: string, decode: DecodeEntities, selfClosing: boolean, context: ContextGetter) => void): this;
    on(event: 'text', handler: (text: string, decode: DecodeEntities, context: ContextGetter) => void): this;
    on(event: 'cdata', handler: (text: string, context: ContextGetter) => void): this;
    on(event: 'error' | 'warn', handler: (error: Error, context: ContextGetter) => void): this;
    on(event: 'comment', handler: (text: string, decode: DecodeEntities, context: ContextGetter) => void): this;
    on(event: 'question' | 'attention', handler: (text: string, ...rest: unknown[]) => void): this;
    /** Parses a whole document; returns the error the error handler saw, if it did not throw. */
    parse(xml: string): Error | null;
    /** Feeds the next piece of a document; an incomplete trailing token is kept for the next call. */
    write(xml: string): this;
    /** No more input: parses what is left and reports an incomplete document. */
    end(): Error | null;
    stop(): void;
  }
}
