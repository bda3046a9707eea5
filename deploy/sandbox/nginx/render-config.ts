/**
 * Renders market.conf.template into a config that makes an unmodified nginx
 * act as the sandbox market, with every file nginx writes (pid, logs, lock,
 * temp directories) inside one prefix directory, so it runs as any user:
 *
 *   nginx -p <prefix> -e <prefix>/logs/error.log -c <prefix>/conf/market.conf -g 'daemon off;'
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SANDBOX_CATALOGUE, type Catalogue } from '../market/catalogue.js';

/** The http modules that keep temporary files, and their directive prefixes. */
export const NGINX_TEMP_PATH_MODULES = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'] as const;
export type NginxTempPathModule = (typeof NGINX_TEMP_PATH_MODULES)[number];

export interface MarketConfigParams {
  /** Absolute directory owning every file nginx writes. */
  prefix: string;
  /** Listen address. Default `127.0.0.1`. */
  host?: string;
  /** TCP port, 1..65535 (a high one when unprivileged). */
  port: number;
  serverCertPath: string;
  serverKeyPath: string;
  /** PEM file of the issuer CA(s) whose card chains are accepted. */
  clientCaPath: string;
  /** Ticket lifetime, seconds, 1..604800. Default 300 (nginx's own default). */
  sessionTimeoutSeconds?: number;
  /** Maximum client chain depth: leaf (0), card CA (1), issuer (2) → default 3. */
  verifyDepth?: number;
  /** Served at /catalog. Default: the Node sandbox market's catalogue. */
  catalogue?: Catalogue;
  /**
   * Modules whose temp paths to set; a directive for a module nginx was built
   * without is an error, so pass `tempPathModulesOf(nginx -V output)`. Default all.
   */
  tempPathModules?: readonly NginxTempPathModule[];
  /** `user` directive, only meaningful when nginx starts as root. Default none. */
  user?: string;
  /** The template text. Default: market.conf.template next to this module's source. */
  template?: string;
}

export interface MarketConfigPaths {
  confPath: string;
  pidPath: string;
  errorLogPath: string;
  accessLogPath: string;
  tempDir: string;
}

export function marketConfigPaths(prefix: string): MarketConfigPaths {
  return {
    confPath: join(prefix, 'conf', 'market.conf'),
    pidPath: join(prefix, 'nginx.pid'),
    errorLogPath: join(prefix, 'logs', 'error.log'),
    accessLogPath: join(prefix, 'logs', 'access.log'),
    tempDir: join(prefix, 'tmp'),
  };
}

/** The temp-path modules compiled into an nginx, from its `nginx -V` output (stderr). */
export function tempPathModulesOf(nginxVersionOutput: string): NginxTempPathModule[] {
  return NGINX_TEMP_PATH_MODULES.filter((m) => m === 'client_body' || !nginxVersionOutput.includes(`--without-http_${m}_module`));
}

const TEMPLATE_CANDIDATES = [
  new URL('./market.conf.template', import.meta.url), // running from the sources
  new URL('../../../../deploy/sandbox/nginx/market.conf.template', import.meta.url), // from dist/
];

export async function loadMarketTemplate(): Promise<string> {
  for (const url of TEMPLATE_CANDIDATES) {
    try {
      return await readFile(fileURLToPath(url), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  throw new Error(`market.conf.template not found (looked at ${TEMPLATE_CANDIDATES.map((u) => u.pathname).join(', ')})`);
}

/** Characters that would end or bend an unquoted nginx parameter. */
const UNSAFE_IN_PATH = /[\s;{}'"$#\\]/;

function checkPath(name: string, value: string, problems: string[]): void {
  if (!isAbsolute(value)) problems.push(`${name} must be an absolute path (got ${value})`);
  else if (UNSAFE_IN_PATH.test(value)) problems.push(`${name} contains characters nginx would misread: ${value}`);
}

/** JSON inside an nginx single-quoted string: no `$` (variables), quotes and backslashes escaped. */
function nginxQuotedJson(value: unknown): string {
  const json = JSON.stringify(value);
  if (json.includes('$')) throw new Error('The catalogue must not contain "$" (nginx would read a variable)');
  return json.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

export function renderMarketConfig(p: MarketConfigParams & { template: string }): string {
  const problems: string[] = [];
  checkPath('prefix', p.prefix, problems);
  checkPath('serverCertPath', p.serverCertPath, problems);
  checkPath('serverKeyPath', p.serverKeyPath, problems);
  checkPath('clientCaPath', p.clientCaPath, problems);
  const host = p.host ?? '127.0.0.1';
  if (!/^[0-9a-zA-Z.-]+$|^\[[0-9a-fA-F:]+\]$/.test(host)) problems.push(`host is not a name, IPv4 or [IPv6] address: ${host}`);
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) problems.push(`port must be 1..65535 (got ${p.port})`);
  const timeout = p.sessionTimeoutSeconds ?? 300;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 604_800) problems.push(`sessionTimeoutSeconds must be 1..604800 (got ${timeout})`);
  const depth = p.verifyDepth ?? 3;
  if (!Number.isInteger(depth) || depth < 1 || depth > 10) problems.push(`verifyDepth must be 1..10 (got ${depth})`);
  if (p.user !== undefined && !/^[a-z_][a-z0-9_-]*$/i.test(p.user)) problems.push(`user is not a user name: ${p.user}`);
  if (problems.length > 0) throw new Error(`Invalid nginx market config: ${problems.join('; ')}`);

  const paths = marketConfigPaths(p.prefix);
  const modules = p.tempPathModules ?? NGINX_TEMP_PATH_MODULES;
  const values: Record<string, string> = {
    PREFIX: p.prefix,
    CONF: paths.confPath,
    PID: paths.pidPath,
    ERROR_LOG: paths.errorLogPath,
    ACCESS_LOG: paths.accessLogPath,
    USER: p.user === undefined ? '' : `user ${p.user};`,
    TEMP_PATHS: modules.map((m) => `    ${m}_temp_path ${join(paths.tempDir, m)};`).join('\n'),
    HOST: host,
    PORT: String(p.port),
    SERVER_CERT: p.serverCertPath,
    SERVER_KEY: p.serverKeyPath,
    CLIENT_CA: p.clientCaPath,
    VERIFY_DEPTH: String(depth),
    SESSION_TIMEOUT: String(timeout),
    CATALOGUE_JSON: nginxQuotedJson(p.catalogue ?? SANDBOX_CATALOGUE),
  };
  const text = p.template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`Unknown placeholder ${whole} in the nginx market template`);
    return value;
  });
  return text;
}

/** Creates the prefix layout (conf, logs, tmp), writes the config and returns where everything is. */
export async function writeMarketConfig(p: MarketConfigParams): Promise<MarketConfigPaths> {
  const template = p.template ?? (await loadMarketTemplate());
  const text = renderMarketConfig({ ...p, template });
  const paths = marketConfigPaths(p.prefix);
  await Promise.all(['conf', 'logs', 'tmp'].map((d) => mkdir(join(p.prefix, d), { recursive: true, mode: 0o700 })));
  await writeFile(paths.confPath, text, { mode: 0o600 });
  return paths;
}
