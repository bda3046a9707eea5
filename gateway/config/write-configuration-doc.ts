/**
 * `npm run docs:config`: writes docs/CONFIGURATION.md from the schema
 * (configuration-doc.ts). Run it after changing an option or its description.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderConfigurationDoc } from './configuration-doc.js';

/** dist/gateway/config/ → the package root's docs/. */
export const CONFIGURATION_DOC = fileURLToPath(new URL('../../../docs/CONFIGURATION.md', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(CONFIGURATION_DOC, renderConfigurationDoc());
  process.stdout.write(`wrote ${CONFIGURATION_DOC}\n`);
}
