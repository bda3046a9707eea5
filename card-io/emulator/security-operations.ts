/**
 * PERFORM SECURITY OPERATION (ISO/IEC 7816-8 §11): VERIFY CERTIFICATE
 * (00 2A 00 BE) and COMPUTE DIGITAL SIGNATURE (00 2A 9E 9A), and the
 * proprietary SIGN SESSION CERTIFICATE (80 2A 9E 9C).
 *
 * All need the operational life cycle (`6985`) and the released state (PIN2,
 * `6982`), with one exception: in personalization, after admin
 * authentication, COMPUTE DIGITAL SIGNATURE signs the digest of the card's
 * own certification request (RFC 2986 §3: the signature proves to the issuer
 * that the requester holds the key). The card is not certified yet, so such a
 * signature vouches for nothing else. VERIFY CERTIFICATE leaves the release in place and records the
 * verified market; a signature uses the release up. A refused request (wrong
 * length, 6A80) signs nothing and so leaves the release for a corrected retry.
 */
import { SW } from '../apdu/status-words.js';
import type { CommandApdu } from '../apdu/command-apdu.js';
import { ok, p1p2, status, type AppletContext, type Reply } from './applet-context.js';
import { clearRelease, LifeCycle } from './card-state.js';
import { RejectReason, verifyCertificateChain } from './certificate-chain.js';
import { parseCertificate, splitDerSequences } from './certificate-parse.js';
import { DIGEST_LENGTH, signDigest, signMessage } from './digest-signer.js';
import { checkSessionCertificate } from './session-certificate-rules.js';

const TIME_LENGTH = 8;

function precheck(ctx: AppletContext): Reply | null {
  if (ctx.state.lifeCycle !== LifeCycle.Operational) return status(SW.CONDITIONS_NOT_SATISFIED);
  if (!ctx.session.released) return status(SW.SECURITY_STATUS_NOT_SATISFIED);
  return null;
}

function reject(reason: RejectReason): Reply {
  return status(SW.VERIFICATION_FAILED, Buffer.from([reason]));
}

/** VERIFY CERTIFICATE: time (8, Unix seconds) ‖ DER certificates, leaf first. */
function verifyCertificate(cmd: CommandApdu, ctx: AppletContext): Reply {
  if (cmd.data.length < TIME_LENGTH) return status(SW.WRONG_LENGTH);
  const time = cmd.data.readBigUInt64BE(0);
  if (time > BigInt(Number.MAX_SAFE_INTEGER) / 1000n) return status(SW.WRONG_DATA);
  const chain = splitDerSequences(cmd.data.subarray(TIME_LENGTH));
  if (chain === null) return reject(RejectReason.Malformed);
  const result = verifyCertificateChain(Number(time), chain, ctx.state.anchors);
  if (!result.ok) {
    ctx.logger.info({ reason: result.reason, certificates: chain.length }, 'Certificate chain rejected');
    return reject(result.reason);
  }
  ctx.session.verifiedMarket = { dnsNames: result.dnsNames, time: Number(time) };
  return ok(result.leafFingerprint);
}

/** COMPUTE DIGITAL SIGNATURE: a SHA-256 digest (32) in, a DER signature out. */
function computeDigitalSignature(cmd: CommandApdu, ctx: AppletContext): Reply {
  if (cmd.data.length !== DIGEST_LENGTH) return status(SW.WRONG_LENGTH);
  const key = ctx.state.keyPair;
  if (key === null) return status(SW.CONDITIONS_NOT_SATISFIED);
  const signature = signDigest(key.privateKeyPkcs8, cmd.data);
  clearRelease(ctx.session);
  return ok(signature);
}

/** SIGN SESSION CERTIFICATE: a TBSCertificate in, a DER signature over SHA-256(TBS) out. */
function signSessionCertificate(cmd: CommandApdu, ctx: AppletContext): Reply {
  const market = ctx.session.verifiedMarket;
  const key = ctx.state.keyPair;
  const cardCert = ctx.state.certificate && parseCertificate(ctx.state.certificate);
  if (market === null || key === null || !cardCert) return status(SW.CONDITIONS_NOT_SATISFIED);
  if (cmd.data.length === 0) return status(SW.WRONG_LENGTH);
  const refused = checkSessionCertificate(cmd.data, { cardSubject: cardCert.subject, market });
  if (refused !== null) {
    ctx.logger.info({ reason: refused }, 'Session certificate refused');
    return status(SW.WRONG_DATA);
  }
  // A signature over SHA-256(TBS), as COMPUTE DIGITAL SIGNATURE of that digest would make it.
  const signature = signMessage(key, cmd.data);
  clearRelease(ctx.session);
  return ok(signature);
}

/** 00 2A: PSO, by P1 P2. */
export function performSecurityOperation(cmd: CommandApdu, ctx: AppletContext): Reply {
  const op = p1p2(cmd);
  if (op !== 0x00be && op !== 0x9e9a) return status(SW.INCORRECT_P1P2);
  if (op === 0x9e9a && ctx.state.lifeCycle === LifeCycle.Personalization) {
    return ctx.session.adminAuthenticated ? computeDigitalSignature(cmd, ctx) : status(SW.SECURITY_STATUS_NOT_SATISFIED);
  }
  const denied = precheck(ctx);
  if (denied !== null) return denied;
  return op === 0x00be ? verifyCertificate(cmd, ctx) : computeDigitalSignature(cmd, ctx);
}

/** 80 2A 9E 9C: SIGN SESSION CERTIFICATE. */
export function proprietarySecurityOperation(cmd: CommandApdu, ctx: AppletContext): Reply {
  if (p1p2(cmd) !== 0x9e9c) return status(SW.INCORRECT_P1P2);
  return precheck(ctx) ?? signSessionCertificate(cmd, ctx);
}
