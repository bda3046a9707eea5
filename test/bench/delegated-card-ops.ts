/**
 * Card operations (command APDUs on the card line) per authorization. Only
 * the gateway knows its APDU count, so this part runs the household
 * IN-PROCESS (startSandboxHousehold) on the same data directory and ports
 * and reads `gateway.cards.commandCount` before and after:
 *
 * - per unlock (PIN1);
 * - per authorization by the same terminal again and again (the card keeps
 *   that terminal's PIN1 state);
 * - per authorization when two terminals alternate (the gateway has to
 *   SELECT and present the other terminal's PIN1 first: what happens under
 *   concurrent load).
 *
 * One unmeasured authorization per terminal comes first, so with
 * reuseSessionCertificate the figure is the steady state (leaf reused).
 */
import { silentLogger } from '../../card-io/base/log.js';
import { startSandboxHousehold, type SandboxPorts } from '../../deploy/sandbox/household/household.js';
import { setReuseSessionCertificate } from './delegated-child.js';
import { round } from './delegated-stats.js';
import { authorize, loadTerminals, terminalName, type BenchTerminal } from './delegated-terminals.js';
import { join } from 'node:path';

export interface CardOpFigures {
  reuseSessionCertificate: boolean;
  authorizations: number;
  apdusPerUnlock: number;
  apdusPerAuthorizationSameTerminal: number;
  apdusPerAuthorizationAlternatingTerminals: number;
}

export async function measureCardOps(dataDir: string, ports: SandboxPorts, reuse: boolean, n: number): Promise<CardOpFigures> {
  await setReuseSessionCertificate(dataDir, reuse);
  // The card in its virtual socket, as `homegate sandbox` runs it (the APDU count does not depend on the line).
  const household = await startSandboxHousehold({ dataDir, ports, logger: silentLogger, say: () => undefined, socket: true });
  try {
    const cards = household.gateway.cards;
    const [a, b] = (await loadTerminals([0, 1].map((i) => join(dataDir, 'terminals', terminalName(i))))) as [BenchTerminal, BenchTerminal];
    const count = async (fn: () => Promise<unknown>): Promise<number> => {
      const before = cards.commandCount;
      await fn();
      return cards.commandCount - before;
    };
    const unlock = await count(() => a.card.unlock());
    await b.card.unlock();
    // Unmeasured: a fresh session certificate for reuse, and the card left in a's PIN1 state.
    await authorize(b);
    await authorize(a);
    const same = await count(async () => {
      for (let i = 0; i < n; i++) await authorize(a);
    });
    const alternating = await count(async () => {
      for (let i = 0; i < n; i++) await authorize(i % 2 === 0 ? b : a);
    });
    return {
      reuseSessionCertificate: reuse,
      authorizations: n,
      apdusPerUnlock: unlock,
      apdusPerAuthorizationSameTerminal: round(same / n, 2),
      apdusPerAuthorizationAlternatingTerminals: round(alternating / n, 2),
    };
  } finally {
    await household.stop();
  }
}
