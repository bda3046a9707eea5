/**
 * `homegate config check` and `config show`: gateway.json checked the way
 * the gateway reads it (the one schema, every problem at once), plus what a
 * schema cannot see: that the files it names exist, and that the ones
 * holding secrets are readable by their owner only (secret-file.ts). The
 * rules for files follow the key names, so options other parts add are
 * covered without a list here: a key ending in `File` names a file that must
 * exist (except `registryFile`, which the gateway creates), and one whose name
 * says key or password holds a secret.
 */
import { readFile, stat } from 'node:fs/promises';
import { readSecretFile, SecretFileError } from '../../card-io/base/durable/secret-file.js';
import { dataPath, type GatewayConfig, gatewayConfigSchema } from './gateway-config.js';

export interface ConfigCheck {
  file: string;
  valid: boolean;
  problems: string[];
  /** The effective configuration (defaults filled in), when the schema accepted it. */
  config?: GatewayConfig;
}

const CREATED_BY_GATEWAY = new Set(['registryFile']);
const SECRET_FILE_KEY = /key|password|secret/i;
/** Values shown as this by `config show`: keys that would hold a secret itself (not a path to one). */
const SECRET_VALUE_KEY = /(password|passphrase|secret|token|pin|puk|pass)$/i;
export const MASK = '********';

export async function checkConfigFile(file: string, dataDir: string): Promise<ConfigCheck> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { file, valid: false, problems: [code ? `cannot read the file (${code})` : `not valid JSON: ${(e as Error).message}`] };
  }
  const parsed = gatewayConfigSchema.safeParse(raw);
  if (!parsed.success) {
    // The files the text names are checked too (every problem at once): a household fixing the schema's
    // complaints should not find a missing key file only on the next run. Defaults are not known here.
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    const reported = new Set(parsed.error.issues.map((i) => i.path.join('.')));
    const files = fileReferences(raw).filter((f) => !reported.has(f.path.join('.')));
    return { file, valid: false, problems: [...problems, ...(await fileProblems(files, dataDir))] };
  }
  const problems = await fileProblems(fileReferences(parsed.data), dataDir);
  return { file, valid: problems.length === 0, problems, config: parsed.data };
}

/** What is wrong with the files the configuration names: missing, or a secret others may read. */
async function fileProblems(references: Array<{ path: string[]; value: string }>, dataDir: string): Promise<string[]> {
  const problems: string[] = [];
  for (const { path, value } of references) {
    const p = dataPath(dataDir, value);
    const name = path.at(-1)!;
    if (SECRET_FILE_KEY.test(name)) {
      try {
        await readSecretFile(p);
      } catch (e) {
        problems.push(`${path.join('.')}: ${e instanceof SecretFileError ? e.message : `cannot read ${p}`}`);
      }
    } else if (
      !(await stat(p).then(
        (s) => s.isFile(),
        () => false,
      ))
    ) {
      problems.push(`${path.join('.')}: ${p} does not exist or is not a file`);
    }
  }
  return problems;
}

/** Every `…File` string of the configuration that must exist beforehand, with its path. */
function fileReferences(value: unknown, path: string[] = []): Array<{ path: string[]; value: string }> {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
    if (typeof v === 'string' && k.endsWith('File') && !CREATED_BY_GATEWAY.has(k)) return [{ path: [...path, k], value: v }];
    return fileReferences(v, [...path, k]);
  });
}

/** The configuration with every secret value replaced by MASK, and credentials taken out of URLs. */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  if (typeof value !== 'string') return value;
  if (SECRET_VALUE_KEY.test(key) && !key.endsWith('File')) return MASK;
  return maskUrlPassword(value);
}

function maskUrlPassword(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(value)) return value;
  try {
    const url = new URL(value);
    if (url.password === '') return value;
    url.password = MASK;
    return url.toString();
  } catch {
    return value;
  }
}
