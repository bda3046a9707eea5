/**
 * Sessions across Node lines: 22 and 24 from the npm registry
 * (node-linux-<arch>, the packages `provision device` bundles), whose releases
 * bind a serialized session to its host (CVE-2026-48934), and the Node running
 * the tests. The gateway hands OpenSSL's portable form; the terminal puts it
 * into its own Node's form (card-io/base/tls/node-session-form.ts). Without
 * that, one Node does not resume the other's session and the terminal, which
 * holds no key, fails with market-full-handshake; and `openssl s_client`
 * cannot read what a newer Node handed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { HandedSession } from '../../card-io/access-card/handed-session.js';
import { defaultCacheDir } from '../../gateway/device/bundle-build.js';
import { fetchNodeRuntime, unpackNodeRuntime } from '../../gateway/device/node-runtime.js';
import { SANDBOX_MARKET, startPurseHousehold } from '../helpers/household/index.js';
import { needsBinary } from '../helpers/binaries.js';
import { resumeWithSClient } from '../sandbox/openssl-session.js';

const MARKET_REQUEST = fileURLToPath(new URL('../../card-io/access-card/market-request.js', import.meta.url));
const HANDED_SESSION = fileURLToPath(new URL('../../card-io/access-card/handed-session.js', import.meta.url));

/** The terminal's side on another Node: resume the handed session read from stdin, GET /whoami, print what happened. */
const TERMINAL = `
import { resumeMarketConnection } from ${JSON.stringify(MARKET_REQUEST)};
import { handedSessionFromJson } from ${JSON.stringify(HANDED_SESSION)};
let text = '';
for await (const chunk of process.stdin) text += chunk;
const handed = handedSessionFromJson(JSON.parse(text));
try {
  const socket = await resumeMarketConnection(handed, 10000);
  const resumed = socket.isSessionReused();
  socket.write('GET /whoami HTTP/1.1\\r\\nHost: ' + handed.servername + '\\r\\nConnection: close\\r\\n\\r\\n');
  let answer = '';
  for await (const chunk of socket) answer += chunk;
  console.log(JSON.stringify({ node: process.version, resumed, body: JSON.parse(answer.slice(answer.indexOf('\\r\\n\\r\\n') + 4)) }));
} catch (e) {
  console.log(JSON.stringify({ node: process.version, error: e.code ?? String(e) }));
}
`;

function asJson(s: HandedSession): string {
  return JSON.stringify({ ...s, session: s.session.toString('base64'), marketCa: s.marketCaPem });
}

function runTerminal(node: string, handed: HandedSession): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['--input-type=module', '-e', TERMINAL], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out) as Record<string, unknown>);
      } catch {
        reject(new Error(`the terminal on ${node} exited ${code}: ${out}${err}`));
      }
    });
    child.stdin.end(asJson(handed));
  });
}

const targetArch = arch() === 'arm64' ? 'arm64' : 'x64';

/** The newest release of a Node line from the npm registry, as `provision device` would pick it, unpacked for this test. */
async function nodeOfLine(t: import('ava').ExecutionContext, line: string): Promise<{ node: string; version: string }> {
  const runtime = await fetchNodeRuntime(targetArch, `>=${line}.0`, defaultCacheDir());
  const dir = await mkdtemp(join(tmpdir(), `homegate-node${line}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await unpackNodeRuntime(runtime, join(dir, 'node'));
  return { node: join(dir, 'node', 'bin', 'node'), version: runtime.version };
}

const openssl = needsBinary('openssl');

for (const line of ['22', '24']) {
  test.serial(`a session handed by a gateway on Node ${process.versions.node} resumes on a terminal on Node ${line}`, async (t) => {
    const { node, version } = await nodeOfLine(t, line);

    const h = await startPurseHousehold(t);
    const access = await h.accessCard();
    const handed = await access.authorize(SANDBOX_MARKET);
    const seen = await runTerminal(node, handed);
    // The market saw a resumption of the card-signed certificate's session, verified against its client CA.
    t.like(seen, { node: `v${version}`, resumed: true, body: { resumed: true, clientVerified: true, clientSubject: handed.clientSubject } });
  });

  openssl.test(`a session handed by a gateway on Node ${line} resumes on a terminal on Node ${process.versions.node}, and in openssl s_client`, async (t) => {
    const { node } = await nodeOfLine(t, line);
    const h = await startPurseHousehold(t, { gatewayProcess: true, gatewayNode: node });
    const access = await h.accessCard();
    const handed = await access.authorize(SANDBOX_MARKET);
    const { response } = await access.request(SANDBOX_MARKET, { method: 'GET', path: '/whoami' });
    t.true(response.resumed);
    t.like(JSON.parse(response.body.toString()), { resumed: true, clientVerified: true });

    const dir = await mkdtemp(join(tmpdir(), 'homegate-sclient-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const caPath = join(dir, 'market-ca.pem');
    await writeFile(caPath, handed.marketCaPem);
    const sclient = await resumeWithSClient({ port: handed.port, sessionDer: handed.session, marketCaPath: caPath, dir });
    t.true(sclient.reused, sclient.output);
    t.like(sclient.body, { resumed: true, clientSubject: handed.clientSubject });
  });
}
