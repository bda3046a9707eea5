/**
 * docs/CONFIGURATION.md cannot drift from the schema: it must be exactly the
 * page `npm run docs:config` generates now. After changing an option or its
 * description, run `npm run docs:config` and commit the page.
 */
import { readFile } from 'node:fs/promises';
import test from 'ava';
import { z } from 'zod';
import { renderConfigurationDoc } from '../../gateway/config/configuration-doc.js';
import { gatewayConfigSchema } from '../../gateway/config/gateway-config.js';
import { CONFIGURATION_DOC } from '../../gateway/config/write-configuration-doc.js';

test('docs/CONFIGURATION.md is the page the schema generates (run npm run docs:config after changing an option)', async (t) => {
  const committed = await readFile(CONFIGURATION_DOC, 'utf8');
  t.is(committed, renderConfigurationDoc(), 'docs/CONFIGURATION.md is stale: run npm run docs:config and commit it');
});

test('Every key of the schema, nested ones included, has a row in the generated page', (t) => {
  const page = renderConfigurationDoc();
  const paths: string[] = [];
  const walk = (s: { properties?: Record<string, unknown>; anyOf?: unknown[] }, prefix: string) => {
    for (const [k, v] of Object.entries(s.properties ?? {})) {
      const p = prefix ? `${prefix}.${k}` : k;
      paths.push(p);
      walk(v as never, p);
    }
  };
  walk(z.toJSONSchema(gatewayConfigSchema, { io: 'input', unrepresentable: 'any' }) as never, '');
  t.true(paths.length > 30);
  for (const p of paths) t.true(page.includes(`| \`${p}\` |`) || page.includes(`## \`${p}\``), p);
});

test('A key added to the schema shows its type, range, default and description', (t) => {
  const page = renderConfigurationDoc(
    z.strictObject({ panel: z.strictObject({ blinkMs: z.number().int().min(50).max(2000).default(250).describe('LED blink period, ms.') }).optional() }),
  );
  t.regex(page, /^\| `panel\.blinkMs` \| integer 50\.\.2000 \| no \| `250` \| LED blink period, ms\. \|$/m);
});
