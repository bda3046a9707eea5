/**
 * The one place that loads `@peculiar/x509`.
 *
 * Why a wrapper: the library resolves its algorithm providers through tsyringe,
 * which needs a Reflect metadata polyfill loaded *before* the library itself
 * (its README, "Reflect Polyfill Required"). ES modules evaluate side-effect
 * imports in source order, so importing the polyfill first here is enough, as
 * long as every PKI file imports x509 from this module and not directly.
 *
 * The crypto provider is Node's WebCrypto (ECDSA P-256 / SHA-256 is all we use;
 * node-forge has no EC, which is why this library is used at all). We pass the
 * provider explicitly to every call that takes one, and also set the library's
 * default so its own internal calls use the same implementation.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** Node's WebCrypto: the provider passed to every library call that takes one. */
export const pkiCrypto: webcrypto.Crypto = webcrypto;

x509.cryptoProvider.set(pkiCrypto);

export { x509 };

/** The only signature algorithm homegate issues: ECDSA over P-256 with SHA-256. */
export const ECDSA_P256_SHA256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
