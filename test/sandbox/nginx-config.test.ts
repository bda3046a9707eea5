import test from 'ava';
import { SANDBOX_CATALOGUE } from '../../deploy/sandbox/market/catalogue.js';
import {
  loadMarketTemplate,
  marketConfigPaths,
  renderMarketConfig,
  tempPathModulesOf,
  type MarketConfigParams,
} from '../../deploy/sandbox/nginx/render-config.js';

const PARAMS: MarketConfigParams = {
  prefix: '/tmp/market-prefix',
  port: 48443,
  serverCertPath: '/etc/market/server.pem',
  serverKeyPath: '/etc/market/server.key',
  clientCaPath: '/etc/market/issuer-ca.pem',
};

async function render(extra: Partial<MarketConfigParams> = {}): Promise<string> {
  return renderMarketConfig({ ...PARAMS, ...extra, template: await loadMarketTemplate() });
}

/** `directive value;` lines, first value per directive. */
function directive(conf: string, name: string): string | undefined {
  return new RegExp(`^\\s*${name}\\s+([^;]+);`, 'm').exec(conf)?.[1]?.trim();
}

test('The rendered config leaves no placeholder and keeps every file nginx writes inside the prefix', async (t) => {
  const conf = await render();
  t.notRegex(conf, /\{\{/);
  const paths = marketConfigPaths(PARAMS.prefix);
  t.is(directive(conf, 'pid'), paths.pidPath);
  t.is(directive(conf, 'error_log'), `${paths.errorLogPath} notice`);
  t.is(directive(conf, 'access_log'), paths.accessLogPath);
  t.is(directive(conf, 'lock_file'), `${PARAMS.prefix}/nginx.lock`);
  for (const m of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
    t.is(directive(conf, `${m}_temp_path`), `${paths.tempDir}/${m}`);
  }
  t.is(directive(conf, 'user'), undefined);
});

test('The rendered config is a TLS 1.3 market that requires a card chain and issues tickets', async (t) => {
  const conf = await render({ sessionTimeoutSeconds: 900 });
  t.is(directive(conf, 'listen'), '127.0.0.1:48443 ssl');
  t.is(directive(conf, 'ssl_protocols'), 'TLSv1.3');
  t.is(directive(conf, 'ssl_verify_client'), 'on');
  t.is(directive(conf, 'ssl_client_certificate'), PARAMS.clientCaPath);
  t.is(directive(conf, 'ssl_verify_depth'), '3');
  t.is(directive(conf, 'ssl_session_tickets'), 'on');
  t.is(directive(conf, 'ssl_session_timeout'), '900s');
  t.is(directive(conf, 'ssl_certificate'), PARAMS.serverCertPath);
  t.is(directive(conf, 'ssl_certificate_key'), PARAMS.serverKeyPath);
  t.regex(conf, /\$ssl_client_s_dn.*\$ssl_client_i_dn.*\$ssl_client_verify.*\$ssl_session_reused/);
});

test('The catalogue is embedded as the JSON the Node market serves, and a "$" in it is refused', async (t) => {
  const conf = await render();
  const body = /location = \/catalog \{\s*return 200 '(.*)';/.exec(conf)?.[1];
  t.deepEqual(JSON.parse(body!.replace(/\\(['\\])/g, '$1')), JSON.parse(JSON.stringify(SANDBOX_CATALOGUE)));
  const odd = { market: "Bob's $hop", items: [] };
  await t.throwsAsync(render({ catalogue: odd }), { message: /"\$"/ });
  const quoted = await render({ catalogue: { market: "Bob's shop", items: [] } });
  t.regex(quoted, /"Bob\\'s shop"/);
});

test('Paths nginx would misread and out-of-range numbers are all reported at once', async (t) => {
  const err = await t.throwsAsync(
    render({ prefix: 'relative', serverCertPath: '/a b/cert.pem', clientCaPath: '/x;y', port: 0, sessionTimeoutSeconds: 0, user: 'root; evil' }),
  );
  for (const what of ['prefix', 'serverCertPath', 'clientCaPath', 'port', 'sessionTimeoutSeconds', 'user']) {
    t.regex(err!.message, new RegExp(what));
  }
});

test('Temp paths are set only for the modules compiled into nginx, and a user directive only when asked', async (t) => {
  const modules = tempPathModulesOf('configure arguments: --prefix=/usr --without-http_uwsgi_module --without-http_scgi_module');
  t.deepEqual(modules, ['client_body', 'proxy', 'fastcgi']);
  const conf = await render({ tempPathModules: modules, user: 'www-data' });
  t.is(directive(conf, 'uwsgi_temp_path'), undefined);
  t.is(directive(conf, 'user'), 'www-data');
});
