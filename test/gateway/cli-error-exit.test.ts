import test from 'ava';
import { AccessCardError } from '../../card-io/access-card/access-card-error.js';
import { MailboxError } from '../../card-io/access-card/mailbox.js';
import { TerminalProfileError } from '../../card-io/access-card/terminal-profile.js';
import { CodedError } from '../../card-io/base/coded-error.js';
import { RecordLogError } from '../../card-io/base/durable/record-log.js';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { PortInUseError } from '../../deploy/sandbox/household/port-check.js';
import { AuthorizationError } from '../../gateway/authorization/authorization-error.js';
import { CardSessionError } from '../../gateway/card/card-session-error.js';
import { AdminClientError } from '../../gateway/cli/admin-client.js';
import { EXIT_CARD_LOCKED, errorExit } from '../../gateway/cli/error-exit.js';
import { SecretInputError } from '../../gateway/cli/read-secret.js';
import { GatewayNotConfigured, GatewayUnreachable } from '../../gateway/cli/wait-for-gateway.js';
import { ConfigError } from '../../gateway/config/gateway-config.js';
import { EmoneyError } from '../../gateway/emoney/emoney-error.js';
import { PeerError } from '../../gateway/emoney/https-json.js';
import { EnrollmentError } from '../../provisioning/enrollment-error.js';
import { HistoryError } from '../../gateway/history/history-error.js';
import { NotifyError } from '../../gateway/notify/notify-error.js';
import { ProxyError } from '../../gateway/proxy/proxy-error.js';
import { RegistryError } from '../../gateway/registry/registry-error.js';
import { ApiError } from '../../gateway/terminal-api/api-error.js';

const families: [string, Error][] = [
  ['card', new CardError(CardErrorCode.LinkOpenFailed, 'Cannot open /dev/ttyUSB0')],
  ['history', new HistoryError('corrupt', 'Month 2031-05 is damaged')],
  ['registry', new RegistryError('duplicate', 'Market sandbox exists')],
  ['notify', new NotifyError('broker-port-in-use', 'Port 1883 is taken')],
  ['enrollment', new EnrollmentError('profile-exists', 'Profile alice exists')],
  ['proxy', new ProxyError('market-unreachable', 'Market sandbox is unreachable')],
  ['access card', new AccessCardError('gateway-unreachable', 'The gateway does not answer')],
  ['terminal profile', new TerminalProfileError('profile-invalid', 'terminal.json does not parse')],
  ['mailbox', new MailboxError('broker-unreachable', 'The broker does not answer')],
  ['record log', new RecordLogError('changed', 'The log changed', '/data/intents.log')],
  ['peer', new PeerError('timeout', 'The issuer did not answer')],
  ['config', new ConfigError('/data/gateway.json', ['card.device: required'])],
  ['API', new ApiError(404, 'not-found', 'No such endpoint')],
  ['emoney', new EmoneyError('topup-limit', 'Monthly top-up limit')],
  ['card session', new CardSessionError('pin-throttled', 'Wait 2 s')],
  ['authorization', new AuthorizationError('terminal-revoked', 'Revoked')],
  ['admin client', new AdminClientError('conflict', 'Name alice is taken')],
  ['secret input', new SecretInputError('No input for "PIN1"')],
  ['gateway not configured', new GatewayNotConfigured('No gateway.json')],
  ['gateway unreachable', new GatewayUnreachable('https://localhost:8444', 'The gateway does not answer')],
  ['sandbox port', new PortInUseError(8443, 'sandbox market', '--market-port')],
];

for (const [family, error] of families) {
  test(`When a command fails with a ${family} error, homegate prints its message alone and exits 1`, (t) => {
    t.true(error instanceof CodedError);
    const { exitCode, text } = errorExit(error);
    t.is(exitCode, 1);
    t.is(text, `homegate: ${error.message}\n`);
    t.false(text.includes(' at '), 'no stack for our own errors');
  });
}

test("When this terminal's card session is closed, homegate exits 3 (locally found or refused by the gateway)", (t) => {
  t.is(errorExit(new AccessCardError('card-locked', 'Unlock first')).exitCode, EXIT_CARD_LOCKED);
  t.is(errorExit(new AccessCardError('gateway-refused', 'Locked', { status: 423, code: 'card-locked' })).exitCode, EXIT_CARD_LOCKED);
  t.is(EXIT_CARD_LOCKED, 3);
});

test('When a command fails with something that is not a coded error (a bug, ENOENT), homegate prints its stack and exits 1', (t) => {
  const bug = new TypeError('x is undefined');
  t.is(errorExit(bug).text, `homegate: ${bug.stack}\n`);
  const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', syscall: 'open' });
  t.deepEqual(errorExit(enoent), { exitCode: 1, text: `homegate: ${enoent.stack}\n` });
});
