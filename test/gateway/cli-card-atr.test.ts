/** `homegate card atr` as a process: arguments or stdin lines, JSON lines, the exit code. */
import test from 'ava';
import { runCli } from './cli-process.js';

const JCOP = '3BF81300008131FE454A434F5076323431B7';

test('card atr --json prints one object per ATR with exactly the documented fields, and exits 0', async (t) => {
  const r = await runCli(['card', 'atr', '--json', JCOP, '3B 02 14 50']);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(lines.length, 2);
  t.deepEqual(lines[0], {
    atr: JCOP,
    convention: 'direct',
    protocols: ['T=1'],
    fi: 372,
    di: 4,
    ifsc: 254,
    bwi: 4,
    cwi: 5,
    edc: 'lrc',
    historicalBytes: '4A434F5076323431',
    tck: 'valid',
  });
  t.deepEqual(lines[1]!.protocols, ['T=0']);
  t.is(lines[1]!.tck, 'absent');
});

test('card atr reads one ATR per stdin line; a malformed one gets its error and the input, the others go on, and the exit code is 1', async (t) => {
  const r = await runCli(['card', 'atr', '--json'], { input: `${JCOP}\n3B0000\n\n3BF81300008131FE454A434F5076323431B6\n` });
  t.is(r.code, 1);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(lines.length, 3);
  t.is(lines[0]!.tck, 'valid');
  t.is(lines[1]!.input, '3B0000');
  t.regex(String(lines[1]!.error), /unexpected bytes.*HG-307/);
  t.is(lines[2]!.tck, 'invalid');
});

test('card atr without --json explains each interface byte for people', async (t) => {
  const r = await runCli(['card', 'atr', JCOP]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /TA1 = 13 --> Fi=372, Di=4/);
  t.regex(r.stdout, /TA3 = FE --> IFSC 254/);
  t.regex(r.stdout, /TCK: valid/);
});
