import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import type { Config } from '../../lib/config';
import { unauthorized } from '../http/problem';

export const ROLES = ['admin', 'teacher', 'student', 'parent'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: the token's subject (a user id) and its roles. */
export interface Identity {
  sub: string;
  roles: Role[];
}

export interface JwtKeys {
  publicKey: KeyObject;
  /** Only for the local key pair (npm run token, tests); production verifies with a public key alone. */
  privateKey?: KeyObject;
}

const ALGORITHMS = ['EdDSA', 'RS256', 'ES256'];

/**
 * The verification key: API_JWT_PUBLIC_KEY when set; otherwise the local Ed25519 pair in
 * API_JWT_KEY_DIR, generated on first use (git-ignored, never committed).
 */
export function loadJwtKeys(config: Config): JwtKeys {
  if (config.api.jwtPublicKey) return { publicKey: crypto.createPublicKey(config.api.jwtPublicKey) };
  const dir = path.resolve(config.api.jwtKeyDir);
  const priv = path.join(dir, 'private.pem');
  if (!fs.existsSync(priv)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    const tmp = `${priv}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    fs.renameSync(tmp, priv); // atomic: two processes starting at once end up with one key
  }
  const privateKey = crypto.createPrivateKey(fs.readFileSync(priv));
  return { privateKey, publicKey: crypto.createPublicKey(privateKey) };
}

export async function mintToken(keys: JwtKeys, config: Config, who: Identity, ttlSeconds = config.api.tokenTtlSeconds): Promise<string> {
  if (!keys.privateKey) throw new Error('no private key: tokens can only be minted with the local key pair');
  return new SignJWT({ roles: who.roles })
    .setProtectedHeader({ alg: 'EdDSA' })
    .setSubject(who.sub)
    .setIssuer(config.api.jwtIssuer)
    .setAudience(config.api.jwtAudience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(keys.privateKey);
}

/** Verifies signature, exp, sub, issuer and audience; any failure is a 401 that says which. */
export async function verifyToken(keys: JwtKeys, config: Config, authorization: string | undefined): Promise<Identity> {
  const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!m) throw unauthorized(authorization ? 'Authorization must be "Bearer <JWT>"' : 'missing bearer token');
  try {
    const { payload } = await jwtVerify(m[1]!, keys.publicKey, {
      issuer: config.api.jwtIssuer,
      audience: config.api.jwtAudience,
      algorithms: ALGORITHMS,
      requiredClaims: ['exp', 'sub'],
    });
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is Role => (ROLES as readonly unknown[]).includes(r)) : [];
    if (!roles.length) throw unauthorized(`token has no known role (one of ${ROLES.join(', ')})`);
    return { sub: payload.sub!, roles };
  } catch (e) {
    if (e instanceof joseErrors.JWTExpired) throw unauthorized('token expired');
    if (e instanceof joseErrors.JWTClaimValidationFailed) throw unauthorized(`token claim ${e.claim} is invalid: ${e.reason}`);
    if (e instanceof joseErrors.JOSEError) throw unauthorized(`invalid token (${e.code})`);
    throw e;
  }
}
