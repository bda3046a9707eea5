/**
 * Terminal profiles live in <data>/terminals/<name>/ (API.md). `--profile`
 * picks one; without it the only profile there is used, and against the
 * sandbox's data that is the demo terminal.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AccessCardError } from '../../card-io/access-card/access-card-error.js';

export const DEMO_PROFILE = 'demo';

export function profilesDir(dataDir: string): string {
  return join(dataDir, 'terminals');
}

export async function chooseProfileDir(dataDir: string, name: string | undefined): Promise<string> {
  if (name) return join(profilesDir(dataDir), name);
  let names: string[] = [];
  try {
    // A dot directory (.pairing-*) is a profile still being built.
    names = (await readdir(profilesDir(dataDir), { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
  } catch {
    // no profiles at all: reported below
  }
  if (names.includes(DEMO_PROFILE) || names.length === 1) return join(profilesDir(dataDir), names.includes(DEMO_PROFILE) ? DEMO_PROFILE : names[0]!);
  const why =
    names.length === 0
      ? `no terminal profile in ${profilesDir(dataDir)} (enroll one, or run the sandbox)`
      : `several profiles (${names.join(', ')}): choose one with --profile NAME`;
  throw new AccessCardError('profile-invalid', `Which terminal? ${why}`);
}
