/**
 * The one shape every typed error of homegate has: a family (which layer or
 * module threw it, e.g. 'card', 'registry', 'emoney'), a stable code within
 * that family, a message written for people, and a context of safe fields.
 * Callers branch on `family` and `code`, never on message text; the edge
 * (terminal and admin API, CLI) turns a CodedError into an answer once.
 *
 * Secrets never go into a message or the context: a context holds lengths,
 * names, ids, paths and counters, not PINs, keys, sessions or payloads.
 */
export type CodedErrorContext = Record<string, unknown>;

export abstract class CodedError<C extends string | number = string | number, X extends object = CodedErrorContext> extends Error {
  /** The module the error comes from; codes are unique within a family. */
  abstract readonly family: string;
  readonly code: C;
  readonly context: X;

  constructor(code: C, message: string, context: X, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.context = context;
  }
}

export function isCodedError(e: unknown): e is CodedError {
  return e instanceof CodedError;
}

/** Context values an edge may show as they are: plain scalars, no objects, nothing secret. */
export type SafeFields = Record<string, string | number | boolean | null>;
