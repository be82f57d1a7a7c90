/** Which addresses data_fetch may connect to, and a DNS lookup that enforces it. Pure: the resolver is injected. */
import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';
import { ADDRESS_NOT_ALLOWED } from '../../common/domain/error-codes.js';

/** Thrown when a request would reach a private, loopback, link-local or otherwise non-public address. */
export class AddressNotAllowedError extends Error {
  readonly code = ADDRESS_NOT_ALLOWED;
  /** A policy refusal: another attempt would be refused the same way (see NonRetryableError). */
  readonly retryable = false;
  constructor(host: string, address: string, range: string) {
    super(
      `data_fetch refused ${host}${host === address ? '' : ` (resolves to ${address})`}: ${range} addresses are not allowed; ` +
        'set DATA_FETCH_ALLOW_PRIVATE=true to allow private, loopback and link-local addresses',
    );
    this.name = 'AddressNotAllowedError';
  }
}

/**
 * The ipaddr.js range of an address (IPv4-mapped IPv6 is judged as the IPv4 it carries) and whether it
 * is public. Only global `unicast` is public: private, loopback, linkLocal, uniqueLocal, unspecified,
 * carrierGradeNat, multicast, broadcast, reserved, 6to4/teredo/NAT64 and the like are not.
 */
export function classifyAddress(address: string): { range: string; isPublic: boolean } {
  if (!ipaddr.isValid(address)) return { range: 'invalid', isPublic: false };
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  // ipaddr.js calls every IPv6 address it has no name for `unicast`, the deprecated IPv4-compatible
  // form (`::127.0.0.1`) included: only 2000::/3 is global unicast (RFC 4291).
  if (range === 'unicast' && parsed.kind() === 'ipv6' && !parsed.match(GLOBAL_UNICAST_V6)) return { range: 'reserved', isPublic: false };
  return { range, isPublic: range === 'unicast' };
}

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/** The IP literal a URL's host names (brackets of IPv6 removed), or null for a DNS name. */
export function ipLiteralOf(url: URL): string | null {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) ? host : null;
}

/**
 * Why a URL is refused before any lookup (at submit), or null: `localhost` (and `*.localhost`,
 * RFC 6761) and IP literals that are not public, in any notation the URL parser accepts (decimal
 * `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`, short `127.1`, IPv6, IPv4-mapped IPv6), since
 * it writes them all as the address they mean. Other names are checked when they are resolved.
 */
export function submitTimeRefusal(rawUrl: string, allowPrivate: boolean): string | null {
  if (allowPrivate) return null;
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return null; // not a URL: the payload's own validation says so
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return `data_fetch refused ${host}: loopback names are not allowed; set DATA_FETCH_ALLOW_PRIVATE=true to allow private, loopback and link-local addresses`;
  }
  if (!isIP(host)) return null;
  const { range, isPublic } = classifyAddress(host);
  return isPublic ? null : new AddressNotAllowedError(host, host, range).message;
}

/** Throws AddressNotAllowedError unless the address is public or private ones are allowed. */
export function assertAddressAllowed(host: string, address: string, allowPrivate: boolean): void {
  if (allowPrivate) return;
  const { range, isPublic } = classifyAddress(address);
  if (!isPublic) throw new AddressNotAllowedError(host, address, range);
}

export interface ResolvedAddress {
  address: string;
  family: number;
}
export type Resolver = (hostname: string, family: number) => Promise<ResolvedAddress[]>;
type LookupCallback = (error: Error | null, address: string | ResolvedAddress[], family?: number) => void;
export type LookupFunction = (hostname: string, options: { family?: number | string; all?: boolean }, callback: LookupCallback) => void;

/**
 * A `net.connect` lookup that resolves the name itself, refuses the connection when any resolved address
 * is not allowed (so a name cannot mix a public and a private address), and hands the socket exactly
 * the addresses it checked: no second resolution can slip in another address.
 */
export function guardedLookup(resolve: Resolver, allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : Number(options.family ?? 0) || 0;
    resolve(hostname, family).then(
      (addresses) => {
        if (addresses.length === 0) return callback(Object.assign(new Error(`data_fetch: ${hostname} has no address`), { code: 'ENOTFOUND' }), []);
        try {
          for (const { address } of addresses) assertAddressAllowed(hostname, address, allowPrivate);
        } catch (error) {
          return callback(error as Error, []);
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (error: Error) => callback(error, []),
    );
  };
}
