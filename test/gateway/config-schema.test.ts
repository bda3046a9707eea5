import test from 'ava';
import { ConfigError, parseGatewayConfig } from '../../gateway/config/gateway-config.js';
import { DEFAULT_PROXY_OPTIONS, resolveProxyOptions } from '../../gateway/proxy/proxy-options.js';

const minimal = { card: { device: 'tcp://127.0.0.1:7816' } };

test('The proxy section of gateway.json defaults to exactly the proxy engine defaults', (t) => {
  t.deepEqual(parseGatewayConfig(minimal).proxy, DEFAULT_PROXY_OPTIONS);
});

test('A ticket timeout the proxy engine would refuse is refused by the configuration at start, not at the first authorization', (t) => {
  const error = t.throws(() => parseGatewayConfig({ ...minimal, proxy: { ticketTimeoutMs: 45_000 } }));
  t.true(error instanceof ConfigError);
  t.true((error as ConfigError).problems.some((p) => p.startsWith('proxy.ticketTimeoutMs')));
  t.throws(() => resolveProxyOptions({ ticketTimeoutMs: 45_000 }));
});

test('Every proxy value the configuration accepts is accepted by the proxy engine', (t) => {
  for (const proxy of [
    { leafLifetimeSeconds: 60, connectTimeoutMs: 100, ticketTimeoutMs: 100, reuseSessionCertificate: true },
    { leafLifetimeSeconds: 900, connectTimeoutMs: 60_000, ticketTimeoutMs: 30_000, reuseSessionCertificate: false },
  ]) {
    const config = parseGatewayConfig({ ...minimal, proxy });
    t.deepEqual(resolveProxyOptions(config.proxy), proxy);
  }
});

test('Every problem in the configuration is reported at once, each with its path', (t) => {
  const error = t.throws(() => parseGatewayConfig({ card: { device: '', baudRate: 1 }, proxy: { leafLifetimeSeconds: 5 }, extra: 1 }));
  const problems = (error as ConfigError).problems.join('\n');
  for (const path of ['card.device', 'card.baudRate', 'proxy.leafLifetimeSeconds', '(top level)']) t.true(problems.includes(path), path);
});
