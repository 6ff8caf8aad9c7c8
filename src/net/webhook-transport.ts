// Outbound webhook POSTs over node:http(s). Every address a URL resolves to is checked at connect
// time (the lookup the socket itself uses), so a name that resolves to a public address when the
// webhook is registered and to a private one later (DNS rebinding) is still refused. Loopback,
// private, link-local, carrier-grade NAT, multicast and reserved ranges are refused unless the
// operator allows them (WEBHOOK_ALLOW_PRIVATE). Redirects are not followed.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Webhook } from 'standardwebhooks';
import type { WebhookTransport } from '../domain/webhooks.js';

/** Bytes of a receiver's answer read before the connection is dropped (the body is not kept). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** ipaddr.js's special-purpose range names (IANA special-purpose registries) as English noun phrases. */
const RANGE_PHRASES: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address',
  private: 'a private address',
  reserved: 'a reserved address',
  uniqueLocal: 'a unique local address',
  deprecatedSiteLocal: 'a site-local address',
  discard: 'a discard-only address',
  rfc6145: 'an IPv4-translated address',
  rfc6052: 'an IPv4/IPv6 translation address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
  benchmarking: 'a benchmarking address',
  amt: 'an AMT relay address',
  as112: 'an AS112 DNS sink address',
  as112v6: 'an AS112 DNS sink address',
  deprecatedOrchid: 'an ORCHID address',
  orchid2: 'an ORCHID address',
  droneRemoteIdProtocolEntityTags: 'a drone remote ID address',
  segmentRouting: 'a segment routing address',
};

/**
 * What kind of address this is, as a noun phrase ("a loopback address"), when it may not be
 * called; null for an ordinary public unicast address. An IPv4-mapped IPv6 address is judged as
 * the IPv4 address it maps.
 */
function addressKind(address: string): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address);
  } catch {
    return 'not an IP address';
  }
  const range = parsed.range();
  if (range === 'unicast') return null;
  return RANGE_PHRASES[range] ?? 'a special-purpose address';
}

/** Why an address may not be called ("127.0.0.1 is a loopback address"), or null when it may. */
export function addressRefusal(address: string): string | null {
  const kind = addressKind(address);
  return kind === null ? null : `${address} is ${kind}`;
}

/** Why a host name may not be called because of one of its addresses, or null when it may. */
function hostRefusal(host: string, address: string): string | null {
  const kind = addressKind(address);
  return kind === null ? null : `${host} resolves to ${address}, ${kind}`;
}

/** Why a URL may not be called whatever its host resolves to, else its host (no IPv6 brackets). */
function urlShape(url: string): { refusal: string } | { host: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { refusal: 'not a URL' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return { refusal: `only http and https URLs are accepted, not ${parsed.protocol.slice(0, 20)}` };
  if (parsed.username || parsed.password) return { refusal: 'credentials in the URL are not allowed' };
  return { host: parsed.hostname.replace(/^\[|\]$/g, '') };
}

class RefusedAddressError extends Error {
  override name = 'RefusedAddressError';
}

/** Signs as the Standard Webhooks reference library does: v1,base64(HMAC-SHA256(key, id.timestamp.body)). */
export function signWebhook(secret: string, messageId: string, at: Date, body: string): string {
  return new Webhook(secret).sign(messageId, at, body);
}

/** The options of the transport: whether private addresses may be called, and the answer deadline (ms). */
interface TransportOptions {
  allowPrivate: boolean;
  timeoutMs: number;
}

/** Why a host may not be called because of one of its resolved addresses, or null (always when private is allowed). */
function resolvedRefusal(host: string, addresses: LookupAddress[], allowPrivate: boolean): string | null {
  if (allowPrivate) return null;
  for (const a of addresses) {
    const refusal = hostRefusal(host, a.address);
    if (refusal) return refusal;
  }
  return null;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for the socket itself: resolves the host, then fails with RefusedAddressError if any
 * of its addresses is off limits (unless private addresses are allowed), so a rebinding is caught.
 */
function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, opts: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const refusal = resolvedRefusal(hostname, addresses, allowPrivate);
      if (refusal) return callback(new RefusedAddressError(`refused: ${refusal}`), '');
      if (opts.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/**
 * Why a webhook URL may not be registered (its shape, a name that does not resolve, or an
 * off-limits address it resolves to), or null when it may.
 */
async function urlRefusal(url: string, allowPrivate: boolean): Promise<string | null> {
  const shape = urlShape(url);
  if ('refusal' in shape) return shape.refusal;
  const { host } = shape;
  if (isIP(host)) return allowPrivate ? null : addressRefusal(host);
  return new Promise((resolve) => {
    dnsLookup(host, { all: true }, (err, addresses) => {
      if (err) return resolve(`${host} does not resolve (${err.code ?? err.message})`);
      resolve(resolvedRefusal(host, addresses, allowPrivate));
    });
  });
}

/**
 * POSTs the body and resolves with the receiver's status code (0 if it gave none), reading at
 * most MAX_RESPONSE_BYTES of the answer. Rejects with RefusedAddressError for an off-limits
 * address, or an Error naming the network failure or the missed deadline.
 */
function postOnce(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: TransportOptions,
): Promise<number> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    const r = options.allowPrivate ? null : addressRefusal(host);
    if (r) return Promise.reject(new RefusedAddressError(`refused: ${r}`));
  }
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: guardedLookup(options.allowPrivate) as never,
        timeout: options.timeoutMs,
      },
      (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        res.on('close', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(err instanceof RefusedAddressError ? err : new Error(`${err.code ?? 'error'}: ${err.message}`)),
    );
    req.end(body);
  });
}

/**
 * The webhook transport over node:http(s): `refusal` vets a URL when it is registered, `post`
 * delivers one signed request, re-checking every address the host resolves to at connect time.
 */
export function createWebhookTransport(options: TransportOptions): WebhookTransport {
  return {
    refusal: (url) => urlRefusal(url, options.allowPrivate),
    post: (url, headers, body) => postOnce(url, headers, body, options),
  };
}
