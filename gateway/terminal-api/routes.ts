/**
 * The terminal API's routes: one plain map from "METHOD /path" to a handler
 * (as Zigbee2MQTT's bridge `requestLookup`), no decorators or reflection.
 */
import type { IncomingMessage } from 'node:http';

export interface TerminalIdentity {
  id: string;
  name: string;
  mail: string;
}

export interface RouteContext {
  /** The registered terminal that made the request (undefined on public routes). */
  terminal: TerminalIdentity | undefined;
  /** The verified `body` of the signed request (POST), or undefined. */
  body: unknown;
  req: IncomingMessage;
}

export interface Route {
  /** 'public' needs no client certificate; 'terminal' needs a registered one. POSTs are always signed. */
  access: 'public' | 'terminal';
  handle(ctx: RouteContext): Promise<unknown>;
}

export type RouteTable = Record<string, Route>;

export function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}
