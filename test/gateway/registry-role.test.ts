/**
 * Terminal roles (API.md, "Whose decision"): a terminal is a 'member' unless
 * the household makes it an 'owner', and the role survives a restart.
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { isRegistryError } from '../../gateway/registry/index.js';
import { fingerprint, openRegistry, tempRegistryPath } from './registry-fixtures.js';

test('When a terminal is enrolled it is no owner; an owner role set by the household survives reopening the registry', async (t) => {
  const path = await tempRegistryPath(t);
  const first = await openRegistry(path);
  const kitchen = await first.addTerminal({ name: 'kitchen', mail: 'k@example.org', certFingerprint: fingerprint('kitchen') });
  const hall = await first.addTerminal({ name: 'hall', mail: 'h@example.org', certFingerprint: fingerprint('hall') });
  t.not(kitchen.role, 'owner');
  t.like(await first.setTerminalRole(kitchen.id, 'owner'), { id: kitchen.id, role: 'owner' });
  const second = await openRegistry(path);
  t.is(second.getTerminal(kitchen.id)?.role, 'owner');
  t.not(second.getTerminal(hall.id)?.role, 'owner');
  t.like(await second.setTerminalRole(kitchen.id, 'member'), { role: 'member' });
  t.is((await openRegistry(path)).getTerminal(kitchen.id)?.role, 'member');
  t.true(JSON.parse(await readFile(path, 'utf8')).terminals.every((x: { role?: string }) => x.role !== 'owner'));
});

test('When the terminal is unknown, setting its role is a typed registry error and writes nothing', async (t) => {
  const path = await tempRegistryPath(t);
  const registry = await openRegistry(path);
  await registry.addTerminal({ name: 'kitchen', mail: 'k@example.org', certFingerprint: fingerprint('kitchen') });
  const before = await readFile(path, 'utf8');
  const e = await t.throwsAsync(registry.setTerminalRole('00000000000000ff', 'owner'));
  t.true(isRegistryError(e));
  t.is(await readFile(path, 'utf8'), before);
});
