/**
 * A domain call's refusal as the terminal API answers it: the edge mapper
 * (gateway/terminal-api/http-errors.ts) turns the thrown error into status,
 * code and safe fields. Unit tests of domain code assert on that answer, the
 * contract of API.md, not on error classes.
 */
import { toHttpError } from '../../gateway/terminal-api/http-errors.js';

export interface ApiRefusal {
  status: number;
  code: string;
  message: string;
  /** The answer's `error` object: code, message and the safe fields (triesLeft, retryAfterMs …). */
  fields: Record<string, unknown>;
}

/** Resolves with the refusal; rejects when `p` resolves (a refusal was expected). */
export async function answered(p: Promise<unknown>): Promise<ApiRefusal> {
  try {
    await p;
  } catch (e) {
    const { status, code, body } = toHttpError(e);
    return { status, code, message: body.error.message, fields: body.error };
  }
  throw new Error('expected a refusal, the call succeeded');
}
