/**
 * Where one authorization's time goes, stage by stage, for benchmarks and
 * diagnostics (issue 9): an optional callback handed to the gateway at start.
 * Absent, nothing is measured and nothing is allocated: every hook is one
 * `undefined` check. Never logs; a sample carries only a stage name and two
 * durations, no terminal, market or secret.
 */

/** The stages, in the order an authorization passes them (docs/PERFORMANCE.md). */
export type AuthorizationStage =
  /** Terminal API: the whole request, from the request line to the answer written. */
  | 'terminal-request'
  /** The client certificate looked up in the registry. */
  | 'identify'
  /** The JWS of the signed request checked (API.md, signed requests). */
  | 'signature-check'
  /** Waiting for the one card (another terminal's command may hold it). */
  | 'card-lease'
  /** VERIFY PIN2 (and, when another terminal used the card last, SELECT + its PIN1 again). */
  | 'card-pin2'
  /** The market's chain: the cached one, or a pre-flight TLS connection. */
  | 'market-chain'
  /** Card VERIFY CERTIFICATE of the market chain. */
  | 'card-verify-chain'
  /** The ephemeral P-256 key pair. */
  | 'key-generation'
  /** The session leaf's TBSCertificate built (RFC 5280 §4.1). */
  | 'certificate-build'
  /** Card SIGN SESSION CERTIFICATE. */
  | 'card-sign'
  /** The leaf assembled and its card signature checked. */
  | 'certificate-check'
  /** The TLS client context of the credential (cert, key, market anchors). */
  | 'tls-context'
  /** TCP connect + TLS 1.3 handshake with the market, to our Finished sent. */
  | 'market-handshake'
  /** From the handshake to the market's NewSessionTicket (RFC 8446 §4.6.1). */
  | 'ticket-wait'
  /** The answer serialized and written to the terminal. */
  | 'answer';

export interface StageSample {
  stage: AuthorizationStage;
  /** Elapsed time, ms. */
  wallMs: number;
  /** CPU (user + system) of the whole gateway process during the stage, ms: other concurrent work counts too. */
  cpuMs: number;
}

export type AuthorizationTrace = (sample: StageSample) => void;

/** Starts timing `stage`; call the result when it ends. Undefined (and free) without a trace. */
export function startStage(trace: AuthorizationTrace | undefined, stage: AuthorizationStage): (() => void) | undefined {
  if (trace === undefined) return undefined;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  return () => {
    const cpu = process.cpuUsage(cpu0);
    trace({ stage, wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 });
  };
}

/** `fn()`, timed as `stage` when there is a trace (also when it throws). */
export async function traced<T>(trace: AuthorizationTrace | undefined, stage: AuthorizationStage, fn: () => Promise<T>): Promise<T> {
  const end = startStage(trace, stage);
  if (end === undefined) return fn();
  try {
    return await fn();
  } finally {
    end();
  }
}
