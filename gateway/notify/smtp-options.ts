/**
 * The SMTP channel's options: the one schema. gateway.json's `smtp` section is
 * this schema plus `user` and `passwordFile`, the notifier's is this schema
 * plus `auth` (the password read from that file), so a value the
 * configuration accepts is a value the notifier accepts, with the same
 * defaults.
 */
import { z } from 'zod';

/** No CR or LF: the value goes into a mail header, and a line break would start another (RFC 5322 §2.2). */
const headerSafe = (what: string) => z.string().regex(/^[^\r\n]*$/, `${what} must be one line`);

/** Everything but the credentials. */
export const smtpConnectionShape = {
  host: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[^\s/]+$/, 'a host name without white space or /')
    .describe('Mail server host name. Required.'),
  port: z.number().int().min(1).max(65_535).optional().describe('TCP port, 1..65 535. Default 465 when `secure`, else 587 (RFC 8314 §3.3, RFC 6409 §3.1).'),
  secure: z.boolean().default(false).describe('TLS from the first byte (port 465). Default false: STARTTLS when the server offers it.'),
  from: headerSafe('from')
    .min(3)
    .max(320)
    .regex(/@/, 'from must contain an address')
    .describe('The sender, `address` or `"Name" <address>`, 3..320 characters with an @. Required.'),
};

/** How the client behaves on the wire; only the notifier reads these. */
export const smtpTuningShape = {
  requireTls: z.boolean().default(false).describe('Refuse to send unless STARTTLS succeeds. Default false (a LAN relay may have no TLS).'),
  timeoutMs: z.number().int().min(1000).max(300_000).default(30_000).describe('Connect, greeting and socket timeouts, ms, 1000..300 000. Default 30 000.'),
};

/** The port used when none is configured. */
export function smtpPort(o: { port?: number | undefined; secure: boolean }): number {
  return o.port ?? (o.secure ? 465 : 587);
}

/** What the notifier is given: the connection plus the credentials themselves. */
export const smtpNotifierOptionsSchema = z
  .strictObject({ ...smtpConnectionShape, ...smtpTuningShape, auth: z.strictObject({ user: z.string().min(1), pass: z.string() }).optional() })
  .transform((o) => ({ ...o, port: smtpPort(o) }));

/**
 * gateway.json's `smtp` section: the connection plus the login, `user` and the
 * file holding its password (0600), both or neither (one without the other
 * would silently send without logging in). The tuning options have the same
 * rules but stay unset when not given, so the notifier applies its defaults.
 */
export const smtpConfigSchema = z
  .strictObject({
    ...smtpConnectionShape,
    requireTls: smtpTuningShape.requireTls
      .unwrap()
      .optional()
      .describe(smtpTuningShape.requireTls.description ?? ''),
    timeoutMs: smtpTuningShape.timeoutMs
      .unwrap()
      .optional()
      .describe(smtpTuningShape.timeoutMs.description ?? ''),
    user: z.string().min(1).optional().describe('The login user name; goes with passwordFile.'),
    passwordFile: z.string().min(1).optional().describe('File holding the login password (0600); goes with user.'),
  })
  .refine((o) => (o.user === undefined) === (o.passwordFile === undefined), {
    message: 'user and passwordFile go together (both or neither)',
    path: ['passwordFile'],
  });

export type SmtpNotifierOptions = z.input<typeof smtpNotifierOptionsSchema>;
export type ResolvedSmtpOptions = z.output<typeof smtpNotifierOptionsSchema>;
export type SmtpConfig = z.output<typeof smtpConfigSchema>;

/** The notifier's options from the configuration and the password read from its `passwordFile`. */
export function smtpOptionsFromConfig(config: SmtpConfig, password: string | undefined): SmtpNotifierOptions {
  const { user, passwordFile: _file, ...options } = config;
  return user !== undefined && password !== undefined ? { ...options, auth: { user, pass: password } } : options;
}
