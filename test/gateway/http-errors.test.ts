import test from 'ava';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { RecordLogError } from '../../card-io/base/durable/record-log.js';
import { AuthorizationError } from '../../gateway/authorization/authorization-error.js';
import { CardSessionError } from '../../gateway/card/card-session-error.js';
import { ConfigError } from '../../gateway/config/gateway-config.js';
import { EmoneyError } from '../../gateway/emoney/emoney-error.js';
import { PeerError } from '../../gateway/emoney/https-json.js';
import { EnrollmentError } from '../../provisioning/enrollment-error.js';
import { HistoryError } from '../../gateway/history/history-error.js';
import { NotifyError } from '../../gateway/notify/notify-error.js';
import { ProxyError } from '../../gateway/proxy/proxy-error.js';
import { RegistryError } from '../../gateway/registry/registry-error.js';
import { ApiError } from '../../gateway/terminal-api/api-error.js';
import { HTTP_STATUS, toHttpError } from '../../gateway/terminal-api/http-errors.js';
import { RequestSignatureError } from '../../gateway/terminal-api/request-signature-error.js';

const SECRET = 'pin-1234-secret-path';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: no such file or directory, open '/data/${SECRET}'`), { code, errno: -2, syscall: 'open', path: `/data/${SECRET}` });
}

// [what, error, status, code, fields the answer must carry]
const table: [string, unknown, number, string, Record<string, unknown>?][] = [
  ['an edge ApiError', new ApiError(400, 'bad-request', 'Field "x" is missing'), 400, 'bad-request'],
  ['a request signature error', new RequestSignatureError('request-replayed', 'Replayed', 'nonce-seen'), 409, 'request-replayed'],
  ['an authorization error', new AuthorizationError('terminal-revoked', 'Revoked'), 403, 'terminal-revoked'],
  ['an unknown market', new AuthorizationError('market-unknown', 'No market'), 404, 'market-unknown'],
  ['a closed card session', new CardSessionError('card-locked', 'Locked', { reason: 'pin1-tried' }), 423, 'card-locked', { reason: 'pin1-tried' }],
  [
    'a wrong PIN (session)',
    new CardSessionError('pin-wrong', 'Wrong PIN1', { pin: 'PIN1', triesLeft: 2, retryAfterMs: 1000 }),
    401,
    'pin-wrong',
    { pin: 'PIN1', triesLeft: 2, retryAfterMs: 1000 },
  ],
  ['a throttled PIN', new CardSessionError('pin-throttled', 'Wait', { pin: 'PIN2', retryAfterMs: 500 }), 429, 'pin-throttled', { retryAfterMs: 500 }],
  ['an absent card (session)', new CardSessionError('card-absent', 'Absent', { cardErrorCode: 300 }), 503, 'card-absent'],
  ['a paid order', new EmoneyError('already-paid', 'Already paid'), 409, 'already-paid'],
  [
    'a damaged archive',
    new EmoneyError('archive-damaged', 'Damaged', { files: 'history/2031-05.jsonl' }),
    503,
    'archive-damaged',
    { files: 'history/2031-05.jsonl' },
  ],
  ['a purse too small', new EmoneyError('insufficient-funds', 'Too little'), 402, 'insufficient-funds'],
  ['an issuer timeout', new EmoneyError('issuer-timeout', 'Late'), 504, 'issuer-timeout'],
  ['an unknown decision', new EmoneyError('decision-unknown', 'No decision 9'), 404, 'decision-unknown'],
  [
    'a market that does not verify',
    new ProxyError('market-untrusted', 'Untrusted', { stage: 'market-chain' }),
    502,
    'market-untrusted',
    { stage: 'market-chain' },
  ],
  ['a proxy bug', new ProxyError('internal', `Bad options ${SECRET}`), 500, 'internal'],
  ['a market timing out (peer)', new PeerError('timeout', 'Late'), 504, 'market-timeout'],
  ['a card that does not answer', new CardError(CardErrorCode.LinkDisconnected, 'Line down'), 503, 'card-absent'],
  ['a T=1 timeout', new CardError(CardErrorCode.BlockTimeout, 'No block'), 503, 'card-absent'],
  ['a failed admin authentication', new CardError(CardErrorCode.AdminAuthFailed, 'Admin key refused'), 403, 'admin-auth-failed'],
  [
    'a wrong PIN (card)',
    new CardError(CardErrorCode.WrongPin, 'Wrong PIN2', { pin: 'PIN2', triesLeft: 1, sw: 0x63c1 }),
    401,
    'pin-wrong',
    { pin: 'PIN2', triesLeft: 1 },
  ],
  ['a card refusal', new CardError(CardErrorCode.ConditionsNotSatisfied, 'Refused'), 409, 'card-refused'],
  ['an argument the card cannot hold', new CardError(CardErrorCode.InvalidArgument, 'Too long'), 400, 'bad-request'],
  ['a card image fault', new CardError(CardErrorCode.ImageCorrupt, `Image ${SECRET}`), 500, 'internal'],
  ['a terminal not in the registry', new RegistryError('not-found', 'No terminal x'), 404, 'not-found'],
  ['a name already taken', new RegistryError('duplicate', 'Name taken'), 409, 'conflict'],
  ['an invalid registry argument', new RegistryError('invalid', 'Bad mail'), 400, 'bad-request'],
  ['a corrupt registry', new RegistryError('corrupt', `Registry ${SECRET}`), 500, 'internal'],
  ['an existing terminal profile', new EnrollmentError('profile-exists', 'Exists'), 409, 'conflict'],
  ['a history key not archived', new HistoryError('not-found', 'No entry'), 404, 'not-found'],
  ['a corrupt history partition', new HistoryError('corrupt', 'Bad month'), 503, 'archive-damaged'],
  ['a damaged record log', new RecordLogError('corrupt', 'Record 2 is damaged', '/data/intents.log'), 503, 'archive-damaged'],
  ['an invalid notification', new NotifyError('invalid-notification', 'Bad shape'), 400, 'bad-request'],
  ['a stopped notifier', new NotifyError('stopped', `Stopped ${SECRET}`), 500, 'internal'],
  ['a configuration error', new ConfigError(`/data/${SECRET}.json`, ['card.device: required']), 500, 'internal'],
  ['a Node errno error (ENOENT)', errno('ENOENT'), 500, 'internal'],
  ['a plain Error', new Error(`bug ${SECRET}`), 500, 'internal'],
  ['a thrown string', SECRET, 500, 'internal'],
];

for (const [what, error, status, code, fields] of table) {
  test(`When the edge meets ${what}, it answers ${status} ${code}`, (t) => {
    const answer = toHttpError(error);
    t.is(answer.status, status);
    t.is(answer.code as string, code);
    t.is(answer.body.error.code as string, code);
    if (fields) t.like(answer.body.error, fields);
    if (code === 'internal') {
      t.true(answer.log, 'a hidden error is for the gateway log');
      t.false(JSON.stringify(answer.body).includes(SECRET), 'its message is not echoed');
    } else {
      t.false(answer.log);
      t.is(answer.body.error.message, (error as Error).message);
    }
  });
}

test('When an error carries the same code, the terminal and admin answers have the same status whatever its family', (t) => {
  const cardAbsent = [
    new CardSessionError('card-absent', 'a'),
    new AuthorizationError('card-absent', 'b'),
    new EmoneyError('card-absent', 'c'),
    new CardError(CardErrorCode.CommandTimeout, 'd'),
  ];
  t.deepEqual(
    cardAbsent.map((e) => toHttpError(e).status),
    [503, 503, 503, 503],
  );
  const limit = [new EmoneyError('limit-exceeded', 'a'), new CardError(CardErrorCode.LimitExceeded, 'b')];
  t.deepEqual(
    limit.map((e) => [toHttpError(e).status, toHttpError(e).code]),
    [
      [409, 'limit-exceeded'],
      [409, 'limit-exceeded'],
    ],
  );
});

test('When an ApiError was built with a status that differs from its code, the answer keeps the one status of the code', (t) => {
  t.is(toHttpError(new ApiError(418, 'not-found', 'x')).status, HTTP_STATUS['not-found']);
});

test('When a context holds objects or bigints, only its scalar fields reach the answer', (t) => {
  const e = new CardSessionError('pin-wrong', 'Wrong', { pin: 'PIN1', triesLeft: 1 });
  (e.context as Record<string, unknown>).nested = { pin: SECRET };
  (e.context as Record<string, unknown>).big = 10n;
  const body = toHttpError(e).body.error;
  t.false('nested' in body);
  t.false('big' in body);
  t.false(JSON.stringify(body).includes(SECRET));
});
