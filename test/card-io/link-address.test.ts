import test from 'ava';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { openCardSideLink, openLink, parseLinkAddress } from '../../card-io/link/index.js';

const invalid = [
  'tcp://nohost',
  'tcp://host:',
  'tcp://host:0',
  'tcp://host:65536',
  'tcp://host:99999',
  'tcp://host:abc',
  'tcp://:2000',
  'tcp://host:2000/path',
  'tcp://user@host:2000',
  'tcp:host:2000',
  'udp://host:2000',
  'rfc2217://host:2000',
  'localhost:2000',
  'dev/ttyUSB0',
  '',
];

test('Invalid link addresses are rejected with InvalidLinkAddress by openLink and openCardSideLink, before anything is opened', (t) => {
  for (const address of invalid) {
    for (const open of [openLink, openCardSideLink]) {
      const err = t.throws(() => open(address), { message: /HG-304/ }, `${open.name}(${JSON.stringify(address)})`);
      t.true(isCardError(err, CardErrorCode.InvalidLinkAddress));
      if (isCardError(err)) t.is(err.context.address, address);
    }
  }
});

test('tcp://host:port addresses parse to a TCP endpoint, including bracketed IPv6', (t) => {
  t.deepEqual(parseLinkAddress('tcp://127.0.0.1:2000'), { kind: 'tcp', host: '127.0.0.1', port: 2000 });
  t.deepEqual(parseLinkAddress('tcp://ser2net.local:3333'), { kind: 'tcp', host: 'ser2net.local', port: 3333 });
  t.deepEqual(parseLinkAddress('tcp://[::1]:65535'), { kind: 'tcp', host: '::1', port: 65535 });
  t.deepEqual(parseLinkAddress('TCP://gw:1'), { kind: 'tcp', host: 'gw', port: 1 });
});

test('Absolute paths parse as serial devices: UARTs, USB adapters, udev names and pty links', (t) => {
  for (const path of ['/dev/serial0', '/dev/ttyUSB0', '/dev/serial/by-id/usb-FTDI_FT232R_A50285BI-if00-port0', '/tmp/homegate-pty-x/host']) {
    t.deepEqual(parseLinkAddress(path), { kind: 'serial', path });
  }
});
